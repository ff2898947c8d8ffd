// A SAML 2.0 identity provider for tests: it makes its key and certificate with openssl, writes
// a Response with one Assertion from the values a test chooses, and signs it with xmlsec1, as a
// real IdP's XML-Signature library would. `scripts/install-test-deps.sh` installs both tools.

'use strict';

const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

/** Escapes text for XML content or a double-quoted attribute. */
function escape(text) {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Formats a time in milliseconds as an `xs:dateTime` in UTC without fractional seconds. */
function samlTime(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Returns a new SAML id: an NCName with 128 random bits. */
function newId() {
  return `_${crypto.randomBytes(16).toString('hex')}`;
}

/**
 * Returns an enveloped signature template for the element with id `id`. xmlsec1 fills in the
 * digest, the signature value and the certificate. `withComments` selects the `#WithComments`
 * canonicalization of SignedInfo and puts a comment in it.
 */
function signatureTemplate(id, { withComments = false } = {}) {
  const c14n = withComments ? `${EXC_C14N}WithComments` : EXC_C14N;
  const comment = withComments ? '<!-- signed by the test IdP -->' : '';
  return [
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">',
    '<ds:SignedInfo>',
    comment,
    `<ds:CanonicalizationMethod Algorithm="${c14n}"/>`,
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>',
    `<ds:Reference URI="#${id}">`,
    '<ds:Transforms>',
    '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>',
    `<ds:Transform Algorithm="${EXC_C14N}">`,
    `<ec:InclusiveNamespaces xmlns:ec="${EXC_C14N}" PrefixList="xs"/>`,
    '</ds:Transform>',
    '</ds:Transforms>',
    '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>',
    '<ds:DigestValue></ds:DigestValue>',
    '</ds:Reference>',
    '</ds:SignedInfo>',
    '<ds:SignatureValue></ds:SignatureValue>',
    '<ds:KeyInfo><ds:X509Data></ds:X509Data></ds:KeyInfo>',
    '</ds:Signature>',
  ].join('\n');
}

class SamlIdp {
  /**
   * Creates an IdP with a new 2048-bit RSA key and a self-signed certificate, in a temporary
   * folder that `dispose()` removes.
   */
  constructor({ entityId = 'http://127.0.0.1/test-idp', commonName = 'Test IdP' } = {}) {
    this.entityId = entityId;
    this.folder = fs.mkdtempSync(path.join(os.tmpdir(), 'saml-idp-'));
    this.keyFile = path.join(this.folder, 'key.pem');
    this.certificateFile = path.join(this.folder, 'certificate.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
      '-subj', `/CN=${commonName}`, '-keyout', this.keyFile, '-out', this.certificateFile,
    ], { stdio: 'pipe' });
    this.certificate = fs.readFileSync(this.certificateFile, 'utf8');
  }

  /**
   * Builds an unsigned Response XML. `options`:
   * - `inResponseTo`, `audience`, `recipient` (also the Destination), `nameId` (required);
   * - `now` (ms, default Date.now()), `notBefore`, `notOnOrAfter` (ms; default now - 60 s and
   *   now + 5 min), `issuer` (default this IdP);
   * - `attributes`: `{name: value or [values]}`;
   * - `sign`: 'assertion' (default), 'response', 'both' or 'none': where signature templates go;
   * - `withComments`: see `signatureTemplate`; `pretty`: indent the XML with line breaks;
   * - `status`: the StatusCode value (default Success).
   */
  responseXml(options) {
    const now = options.now ?? Date.now();
    const notBefore = samlTime(options.notBefore ?? now - 60_000);
    const notOnOrAfter = samlTime(options.notOnOrAfter ?? now + 300_000);
    const issuer = escape(options.issuer ?? this.entityId);
    const sign = options.sign ?? 'assertion';
    const responseId = options.responseId ?? newId();
    const assertionId = options.assertionId ?? newId();
    const signResponse = sign === 'response' || sign === 'both';
    const signAssertion = sign === 'assertion' || sign === 'both';

    const attributes = Object.entries(options.attributes ?? {}).map(([name, values]) => [
      `<saml:Attribute Name="${escape(name)}">`,
      ...[values].flat().map((value) =>
        `<saml:AttributeValue xsi:type="xs:string">${escape(value)}</saml:AttributeValue>`),
      '</saml:Attribute>',
    ].join(''));

    const parts = [
      `<samlp:Response xmlns:samlp="${PROTOCOL_NS}" xmlns:saml="${ASSERTION_NS}" ID="${responseId}"`,
      ` Version="2.0" IssueInstant="${samlTime(now)}" Destination="${escape(options.recipient)}"`,
      ` InResponseTo="${escape(options.inResponseTo)}">`,
      `<saml:Issuer>${issuer}</saml:Issuer>`,
      signResponse ? signatureTemplate(responseId, options) : '',
      `<samlp:Status><samlp:StatusCode Value="${escape(options.status ?? SUCCESS)}"/></samlp:Status>`,
      `<saml:Assertion xmlns:xs="http://www.w3.org/2001/XMLSchema"`,
      ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${assertionId}" Version="2.0"`,
      ` IssueInstant="${samlTime(now)}">`,
      `<saml:Issuer>${issuer}</saml:Issuer>`,
      signAssertion ? signatureTemplate(assertionId, options) : '',
      '<saml:Subject>',
      '<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">',
      `${escape(options.nameId)}</saml:NameID>`,
      '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">',
      `<saml:SubjectConfirmationData InResponseTo="${escape(options.inResponseTo)}"`,
      ` NotOnOrAfter="${notOnOrAfter}" Recipient="${escape(options.recipient)}"/>`,
      '</saml:SubjectConfirmation>',
      '</saml:Subject>',
      `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">`,
      `<saml:AudienceRestriction><saml:Audience>${escape(options.audience)}</saml:Audience>`,
      '</saml:AudienceRestriction>',
      '</saml:Conditions>',
      `<saml:AuthnStatement AuthnInstant="${samlTime(now)}" SessionIndex="${newId()}">`,
      '<saml:AuthnContext><saml:AuthnContextClassRef>',
      'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
      '</saml:AuthnContextClassRef></saml:AuthnContext>',
      '</saml:AuthnStatement>',
      attributes.length > 0 ? `<saml:AttributeStatement>${attributes.join('')}</saml:AttributeStatement>` : '',
      '</saml:Assertion>',
      '</samlp:Response>',
    ];
    // Without `pretty`, element boundaries that the parts split stay joined, so the values
    // (NameID, AuthnContextClassRef) keep no stray whitespace.
    return parts.join(options.pretty ? '\n  ' : '');
  }

  /**
   * Signs the signature templates of `xml` with this IdP's key and returns the signed XML.
   * `elements` lists what to sign, among 'assertion' and 'response': the assertion goes first,
   * so that a response signature covers the signed assertion.
   */
  sign(xml, elements = ['assertion']) {
    const input = path.join(this.folder, `${newId()}.xml`);
    const output = `${input}.signed`;
    const xpaths = {
      assertion: "//*[local-name()='Assertion']/*[local-name()='Signature']",
      response: "/*[local-name()='Response']/*[local-name()='Signature']",
    };
    let current = xml;
    for (const element of ['assertion', 'response'].filter((name) => elements.includes(name))) {
      fs.writeFileSync(input, current);
      execFileSync('xmlsec1', [
        '--sign',
        '--privkey-pem', `${this.keyFile},${this.certificateFile}`,
        '--id-attr:ID', `${ASSERTION_NS}:Assertion`,
        '--id-attr:ID', `${PROTOCOL_NS}:Response`,
        '--node-xpath', xpaths[element],
        '--output', output,
        input,
      ], { stdio: 'pipe' });
      current = fs.readFileSync(output, 'utf8');
    }
    fs.rmSync(input, { force: true });
    fs.rmSync(output, { force: true });
    return current;
  }

  /** Builds and signs a response (see `responseXml`). */
  signedResponse(options) {
    const elements = {
      assertion: ['assertion'], response: ['response'], both: ['assertion', 'response'], none: [],
    }[options.sign ?? 'assertion'];
    return this.sign(this.responseXml(options), elements);
  }

  /** Removes the key folder. */
  dispose() {
    fs.rmSync(this.folder, { recursive: true, force: true });
  }
}

module.exports = { SamlIdp, samlTime, newId };
