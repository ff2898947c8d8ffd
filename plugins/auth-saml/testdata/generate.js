// Writes the signed SAML responses that the plugin's unit tests verify. They are signed by
// xmlsec1 through the test IdP of the end-to-end tests, so the unit tests check the plugin's
// canonicalization and signature code against a real signer. Run it again to renew the keys:
//
//   node plugins/auth-saml/testdata/generate.js

'use strict';

const fs = require('node:fs');
const path = require('node:path');

const { SamlIdp } = require('../../../tests/sdk-js/support/saml-idp');

// The fixed time of the fixtures, 2026-12-04T22:00:00Z; the unit tests use it as "now".
const NOW = Date.UTC(2026, 11, 4, 22, 0, 0);

const base = {
  now: NOW,
  inResponseTo: '_request1',
  audience: 'http://127.0.0.1:7512/saml/sp',
  recipient: 'http://127.0.0.1:7512/_login/saml',
  nameId: 'ada@example.com',
  attributes: { email: 'ada@example.com', groups: ['engineers', 'admins'] },
};

/**
 * Rewrites the assertion of `xml` with default namespace declarations instead of prefixes, as
 * some IdPs write it: `<Assertion xmlns="...assertion">` and `<Signature xmlns="...xmldsig#">`.
 */
function withDefaultNamespaces(xml) {
  const start = xml.indexOf('<saml:Assertion');
  const end = xml.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length;
  const assertion = xml.slice(start, end)
    .replace('<saml:Assertion ', '<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ')
    .replace(/<(\/?)saml:/g, '<$1')
    .replace('<ds:Signature xmlns:ds=', '<Signature xmlns=')
    .replace(/<(\/?)ds:/g, '<$1');
  return xml.slice(0, start) + assertion + xml.slice(end);
}

const idp = new SamlIdp({ commonName: 'Fixture IdP' });
const attacker = new SamlIdp({ commonName: 'Fixture attacker' });
const fixtures = {
  'idp-certificate.pem': idp.certificate,
  'attacker-certificate.pem': attacker.certificate,
  'assertion-signed.xml': idp.signedResponse({ ...base, responseId: '_response1', assertionId: '_assertion1' }),
  'response-signed.xml': idp.signedResponse({ ...base, sign: 'response' }),
  'both-signed.xml': idp.signedResponse({ ...base, sign: 'both' }),
  'pretty-with-comments.xml': idp.signedResponse({ ...base, pretty: true, withComments: true }),
  'comment-in-name-id.xml': idp.signedResponse({ ...base, nameId: 'ada@example.com.evil.test' }),
  'default-namespaces.xml': idp.sign(withDefaultNamespaces(idp.responseXml(base))),
  'attacker-signed.xml': attacker.signedResponse(base),
  'status-requester.xml': idp.signedResponse({
    ...base, sign: 'response', status: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  }),
  'unsigned.xml': idp.signedResponse({ ...base, sign: 'none' }),
};
for (const [name, text] of Object.entries(fixtures)) {
  fs.writeFileSync(path.join(__dirname, name), text);
}
idp.dispose();
attacker.dispose();
