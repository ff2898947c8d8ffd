// The SAML strategy plugin (plugins/auth-saml) against a test IdP whose responses xmlsec1 signs:
// the redirect with the AuthnRequest, logins over the HTTP-POST binding, the SP metadata, and
// the responses the plugin must reject without creating a user.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const zlib = require('node:zlib');
const { Kuzzle, Http, WebSocket } = require('kuzzle-sdk');

const { startServer } = require('../support/server');
const { pluginsFolder, pluginCacheEnv } = require('../support/plugins');
const { SamlIdp, newId } = require('../support/saml-idp');

// The IdP's login page. The server never contacts it: the browser would follow the redirect.
const IDP_SSO_URL = 'http://127.0.0.1:9/idp/sso';

/** Returns a TCP port that is free now, so the settings can name the server's ACS URL. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function settingsToml({ entityId, acsUrl, idp }) {
  return [
    '[settings]',
    `entityId = "${entityId}"`,
    `acsUrl = "${acsUrl}"`,
    `idpSsoUrl = "${IDP_SSO_URL}"`,
    `idpEntityId = "${idp.entityId}"`,
    `idpCertificate = """\n${idp.certificate}"""`,
    'clockSkewSeconds = 30',
    'requestTtlSeconds = 300',
    'profilesAttribute = "groups"',
    '',
    '[settings.attributes]',
    'email = "email"',
    'displayName = "name"',
    'groups = "groups"',
    '',
    '[settings.profilesMapping]',
    'engineers = "admin"',
    '',
    '[provisioning]',
    'enabled = true',
    'profiles = ["default"]',
    '',
  ].join('\n');
}

describe('SAML strategy plugin', () => {
  let server;
  let idp;
  let attacker;
  let baseUrl;
  let entityId;
  let acsUrl;

  before(async () => {
    idp = new SamlIdp();
    attacker = new SamlIdp({ commonName: 'Attacker IdP' });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    entityId = `${baseUrl}/saml/sp`;
    acsUrl = `${baseUrl}/_login/saml`;
    const pluginsDir = pluginsFolder({ 'auth-saml': settingsToml({ entityId, acsUrl, idp }) });
    server = await startServer(pluginCacheEnv(), { port, pluginsDir });
  });

  after(async () => {
    await server?.stop();
    idp?.dispose();
    attacker?.dispose();
  });

  /** Starts a login and returns the redirect's URL and the AuthnRequest it carries. */
  async function startLogin(query = '') {
    const response = await fetch(`${acsUrl}${query}`, { redirect: 'manual' });
    assert.equal(response.status, 302, await response.clone().text());
    const location = new URL(response.headers.get('location'));
    const deflated = Buffer.from(location.searchParams.get('SAMLRequest'), 'base64');
    const xml = zlib.inflateRawSync(deflated).toString('utf8');
    const id = /\sID="([^"]+)"/.exec(xml)?.[1];
    assert.ok(id, `the AuthnRequest has an ID: ${xml}`);
    return { location, xml, id };
  }

  /** Returns the options of a valid response to the AuthnRequest `requestId`. */
  function responseOptions(requestId, overrides = {}) {
    return {
      inResponseTo: requestId,
      audience: entityId,
      recipient: acsUrl,
      nameId: `user-${newId()}@example.com`,
      attributes: {
        email: 'ada@example.com',
        displayName: 'Ada Lovelace',
        groups: ['engineers', 'analysts'],
      },
      ...overrides,
    };
  }

  /** Posts `xml` to the ACS URL as the browser does with the HTTP-POST binding. */
  async function postResponse(xml) {
    const form = new URLSearchParams({ SAMLResponse: Buffer.from(xml).toString('base64') });
    const response = await fetch(acsUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    return { status: response.status, body: await response.json() };
  }

  async function userCount() {
    const response = await fetch(`${baseUrl}/users/_search`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    const body = await response.json();
    assert.equal(body.status, 200, JSON.stringify(body));
    return body.result.total;
  }

  /** Waits up to 5 s for the server to log a rejected login whose reason contains `reason`. */
  async function assertLoggedRejection(fromChunk, reason) {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const lines = server.output.slice(fromChunk).join('').split('\n');
      if (lines.some((line) => line.includes('login rejected') && line.includes(reason))) {
        return;
      }
      assert.ok(Date.now() < deadline, `no rejection logged with "${reason}":\n${lines.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Posts `xml`, then checks the 401 of a rejected login, the `reason` in the server's log and
   * that no user was created.
   */
  async function assertRejected(xml, reason) {
    const before = await userCount();
    const logged = server.output.length;
    const { status, body } = await postResponse(xml);
    assert.equal(status, 401, JSON.stringify(body));
    assert.equal(body.error.id, 'plugin.strategy.missing_user');
    await assertLoggedRejection(logged, reason);
    assert.equal(await userCount(), before, 'no user was created');
  }

  async function currentUser(jwt) {
    const kuzzle = new Kuzzle(new Http('127.0.0.1', { port: server.port }));
    await kuzzle.connect();
    kuzzle.jwt = jwt;
    try {
      return await kuzzle.auth.getCurrentUser();
    } finally {
      kuzzle.disconnect();
    }
  }

  it('redirects to the IdP with a deflated AuthnRequest', async () => {
    const { location, xml, id } = await startLogin('?RelayState=%2Fdashboard');

    assert.equal(`${location.origin}${location.pathname}`, IDP_SSO_URL);
    assert.equal(location.searchParams.get('RelayState'), '/dashboard');
    assert.match(id, /^_[0-9a-f]{40}$/);
    assert.match(xml, /^<samlp:AuthnRequest /);
    assert.ok(xml.includes(`AssertionConsumerServiceURL="${acsUrl}"`), xml);
    assert.ok(xml.includes(`Destination="${IDP_SSO_URL}"`), xml);
    assert.ok(xml.includes(`<saml:Issuer>${entityId}</saml:Issuer>`), xml);

    const second = await startLogin();
    assert.notEqual(second.id, id, 'every login gets a new request id');
  });

  it('returns the redirect over WebSocket', async () => {
    const kuzzle = new Kuzzle(new WebSocket('127.0.0.1', { port: server.port }));
    await kuzzle.connect();
    try {
      const response = await kuzzle.query({
        controller: 'auth', action: 'login', strategy: 'saml', body: {},
      });
      assert.equal(response.result.status, 302);
      assert.ok(response.result.headers.Location.startsWith(`${IDP_SSO_URL}?SAMLRequest=`));
    } finally {
      kuzzle.disconnect();
    }
  });

  it('logs in with a signed assertion and maps the attributes', async () => {
    const { id } = await startLogin();
    const options = responseOptions(id);
    const { status, body } = await postResponse(idp.signedResponse(options));

    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(typeof body.result.jwt, 'string');
    const user = await currentUser(body.result.jwt);
    assert.equal(user._id, body.result._id);
    assert.equal(user.content.email, 'ada@example.com');
    assert.equal(user.content.name, 'Ada Lovelace');
    assert.deepEqual(user.content.groups, ['engineers', 'analysts']);
    assert.deepEqual(user.profileIds, ['admin'], 'the group engineers maps to the profile admin');

    // The same subject logs in again as the same user, this time with a signed Response.
    const next = await startLogin();
    const again = await postResponse(idp.signedResponse({
      ...responseOptions(next.id), nameId: options.nameId, sign: 'response',
    }));
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.result._id, body.result._id);
  });

  it('serves the SP metadata', async () => {
    const response = await fetch(`${baseUrl}/_/saml/metadata`);
    const action = await response.text();
    assert.equal(response.status, 200, action);
    assert.equal(response.headers.get('content-type'), 'application/samlmetadata+xml');
    assert.match(action, /<md:EntityDescriptor [^>]*entityID="([^"]+)"/);
    assert.ok(action.includes(`entityID="${entityId}"`), action);
    assert.ok(action.includes(`Location="${acsUrl}"`), action);

    const raw = await fetch(`${acsUrl}?metadata`);
    assert.equal(raw.status, 200);
    assert.equal(raw.headers.get('content-type'), 'application/samlmetadata+xml');
    const xml = await raw.text();
    assert.ok(xml.includes(`entityID="${entityId}"`), xml);
    assert.ok(xml.includes('Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"'), xml);
  });

  it('links an existing user with createCredentials', async () => {
    const kuzzle = new Kuzzle(new Http('127.0.0.1', { port: server.port }));
    await kuzzle.connect();
    try {
      const kuid = `linked-${newId()}`;
      const nameId = `${kuid}@example.com`;
      await kuzzle.security.createUser(kuid, { content: { profileIds: ['default'] }, credentials: {} });
      await kuzzle.security.createCredentials('saml', kuid, { nameId });
      const info = await kuzzle.security.getCredentials('saml', kuid);
      assert.deepEqual(info, { kuid, nameId });

      const { id } = await startLogin();
      const { status, body } = await postResponse(idp.signedResponse({ ...responseOptions(id), nameId }));
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.result._id, kuid);
    } finally {
      kuzzle.disconnect();
    }
  });

  it('rejects an unsigned response', async () => {
    const { id } = await startLogin();
    await assertRejected(
      idp.signedResponse({ ...responseOptions(id), sign: 'none' }),
      'neither the Response nor the Assertion is signed',
    );
  });

  it('rejects a NameID changed after signing', async () => {
    const { id } = await startLogin();
    const options = responseOptions(id);
    const signed = idp.signedResponse(options);
    const tampered = signed.replace(`>${options.nameId}<`, `>${newId()}@example.com<`);
    assert.notEqual(tampered, signed);
    await assertRejected(tampered, 'the DigestValue does not match');
  });

  it('rejects an attribute changed after signing', async () => {
    const { id } = await startLogin();
    const signed = idp.signedResponse(responseOptions(id));
    const tampered = signed.replace('>Ada Lovelace<', '>Mallory<');
    assert.notEqual(tampered, signed);
    await assertRejected(tampered, 'the DigestValue does not match');
  });

  it('rejects a response signed by another key', async () => {
    const { id } = await startLogin();
    await assertRejected(
      attacker.signedResponse({ ...responseOptions(id), issuer: idp.entityId }),
      'the SignatureValue does not match',
    );
  });

  it('rejects an expired assertion', async () => {
    const { id } = await startLogin();
    const now = Date.now();
    await assertRejected(idp.signedResponse({
      ...responseOptions(id), now: now - 600_000, notBefore: now - 600_000, notOnOrAfter: now - 31_000,
    }), 'the assertion has expired');
  });

  it('accepts an assertion that expired within the clock skew', async () => {
    const { id } = await startLogin();
    const now = Date.now();
    const { status, body } = await postResponse(idp.signedResponse({
      ...responseOptions(id), now: now - 600_000, notBefore: now - 600_000, notOnOrAfter: now - 5_000,
    }));
    assert.equal(status, 200, JSON.stringify(body));
  });

  it('rejects an assertion for another audience', async () => {
    const { id } = await startLogin();
    await assertRejected(idp.signedResponse({
      ...responseOptions(id), audience: 'http://127.0.0.1:9/other-sp',
    }), 'is not an Audience of the assertion');
  });

  it('rejects a replayed response', async () => {
    const { id } = await startLogin();
    const signed = idp.signedResponse(responseOptions(id));
    const first = await postResponse(signed);
    assert.equal(first.status, 200, JSON.stringify(first.body));

    const logged = server.output.length;
    const { status, body } = await postResponse(signed);
    assert.equal(status, 401, JSON.stringify(body));
    assert.equal(body.error.id, 'plugin.strategy.missing_user');
    await assertLoggedRejection(logged, 'is not a pending AuthnRequest');
  });

  it('rejects an unknown InResponseTo', async () => {
    await startLogin();
    await assertRejected(
      idp.signedResponse(responseOptions(newId())), 'is not a pending AuthnRequest');
  });

  it('rejects a second assertion for a used request', async () => {
    const { id } = await startLogin();
    const first = await postResponse(idp.signedResponse(responseOptions(id)));
    assert.equal(first.status, 200, JSON.stringify(first.body));

    await assertRejected(
      idp.signedResponse(responseOptions(id)), 'is not a pending AuthnRequest');
  });

  /** Returns the signed assertion of `xml` and a forged copy: new ID and NameID, no signature. */
  function forge(xml) {
    const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)[0];
    const forged = signed
      .replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '')
      .replace(/ ID="[^"]+"/, ` ID="${newId()}"`)
      .replace(/<saml:NameID([^>]*)>[^<]*</, `<saml:NameID$1>mallory-${newId()}@example.com<`);
    return { signed, forged };
  }

  it('rejects a signed assertion moved beside a forged one', async () => {
    const { id } = await startLogin();
    const xml = idp.signedResponse(responseOptions(id));
    const { signed, forged } = forge(xml);
    await assertRejected(xml.replace(signed, `${forged}${signed}`), '2 Assertion elements');
  });

  it('rejects a signed assertion moved into the Response extensions', async () => {
    const { id } = await startLogin();
    const xml = idp.signedResponse(responseOptions(id));
    const { signed, forged } = forge(xml);
    const wrapped = xml
      .replace(signed, forged)
      .replace('<samlp:Status>', `<samlp:Extensions>${signed}</samlp:Extensions><samlp:Status>`);
    await assertRejected(wrapped, '2 Assertion elements');
  });

  it('rejects a signed assertion moved inside a forged one', async () => {
    const { id } = await startLogin();
    const xml = idp.signedResponse(responseOptions(id));
    const { signed, forged } = forge(xml);
    const wrapped = xml.replace(signed, forged.replace('<saml:Subject>', `${signed}<saml:Subject>`));
    await assertRejected(wrapped, '2 Assertion elements');
  });

  it('rejects a forged assertion inside a signed Response that wraps the original', async () => {
    const { id } = await startLogin();
    const xml = idp.signedResponse({ ...responseOptions(id), sign: 'response' });
    const { signed, forged } = forge(xml);
    // The original signed Response moves into the Extensions of a new Response with the
    // forged assertion and the same ID.
    const original = xml.replace(/^<\?xml[^>]*>\s*/, '');
    const outer = original
      .replace(signed, forged)
      .replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '')
      .replace('<samlp:Status>', `<samlp:Extensions>${original}</samlp:Extensions><samlp:Status>`);
    await assertRejected(outer, 'two elements have the same ID');
  });
});
