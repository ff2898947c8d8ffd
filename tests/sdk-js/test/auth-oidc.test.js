// The auth-oidc plugin, built from source, against a real OpenID Connect provider
// (`oidc-provider`) on 127.0.0.1. The test is the browser: it follows every redirect between
// Palisade and the provider by hand, logs in and consents at the provider, and carries cookies.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { Kuzzle, Http } = require('kuzzle-sdk');

const { startServer } = require('../support/server');
const { pluginsFolder, pluginCacheEnv } = require('../support/plugins');
const { startOidcProvider, newSigningKey, signJwt } = require('../support/oidc-provider');
const { Browser } = require('../support/browser');

const accounts = {
  ada: { password: 'ada-password', claims: { email: 'ada@example.com', name: 'Ada Lovelace' } },
  grace: { password: 'grace-password', claims: { email: 'grace@example.com', name: 'Grace Hopper' } },
  alan: { password: 'alan-password', claims: { email: 'alan@example.com', name: 'Alan Turing' } },
};

/** Returns a port that is free on 127.0.0.1 now, for a server that must know it in advance. */
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

function pluginSettings(provider, client) {
  return [
    '[settings]',
    `issuer = "${provider.issuer}"`,
    `clientId = "${client.clientId}"`,
    `clientSecret = "${client.clientSecret}"`,
    `redirectUri = "${client.redirectUri}"`,
    'scopes = ["openid", "email", "profile"]',
    'contentClaims = ["email", "name"]',
    'clockSkewSeconds = 30',
    '',
    '[http]',
    `allowedHosts = ["${provider.host}"]`,
    '',
    '[provisioning]',
    'enabled = true',
    'profiles = ["default"]',
    '',
  ].join('\n');
}

describe('auth-oidc plugin against oidc-provider', () => {
  let provider;
  let server;
  let kuzzle;
  let loginUrl;

  before(async () => {
    const port = await freePort();
    loginUrl = `http://127.0.0.1:${port}/_login/oidc`;
    const client = { clientId: 'palisade', clientSecret: 'palisade-client-secret', redirectUri: loginUrl };
    provider = await startOidcProvider({ client, accounts });

    const pluginsDir = pluginsFolder({ 'auth-oidc': pluginSettings(provider, client) });
    // Every test logs in several times a second from one client.
    const env = { ...pluginCacheEnv(), PALISADE_LIMITS__LOGINS_PER_SECOND: '1000' };
    server = await startServer(env, { port, pluginsDir });
    kuzzle = new Kuzzle(new Http(server.host, { port: server.port }));
    await kuzzle.connect();
  });

  after(async () => {
    kuzzle?.disconnect();
    await server?.stop();
    await provider?.stop();
  });

  /** Logs `account` in at the provider and returns the callback URL, not yet requested. */
  function callbackFor(account, browser = new Browser()) {
    return browser.loginAtProvider(loginUrl, { login: account, password: accounts[account].password });
  }

  /** Requests a callback URL at Palisade and returns `{status, body}`. */
  async function complete(callbackUrl) {
    const response = await fetch(callbackUrl, { redirect: 'manual' });
    return { status: response.status, body: await response.json() };
  }

  async function userIds() {
    const result = await kuzzle.security.searchUsers({}, { size: 100 });
    return result.hits.map((user) => user._id).sort();
  }

  /** Asserts that the ID token swap set up by the test reached the plugin. */
  function assertTokenSwapped() {
    assert.equal(provider.tokenChange, null, 'the token endpoint was never reached');
  }

  /** Asserts that `callbackUrl` gets the 401 of a failed login and creates no user. */
  async function assertRejected(callbackUrl) {
    const before = await userIds();
    const { status, body } = await complete(callbackUrl);
    assert.equal(status, 401, JSON.stringify(body));
    assert.equal(body.error.id, 'plugin.strategy.missing_user');
    assert.deepEqual(await userIds(), before);
  }

  it('is listed by auth:getStrategies', async () => {
    const strategies = await kuzzle.auth.getStrategies();
    assert.ok(strategies.includes('oidc'), strategies.join(', '));
  });

  it('redirects to the provider with PKCE, state and nonce', async () => {
    const response = await fetch(loginUrl, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const location = new URL(response.headers.get('location'));
    assert.equal(`${location.origin}${location.pathname}`, `${provider.issuer}/auth`);
    assert.equal(location.searchParams.get('response_type'), 'code');
    assert.equal(location.searchParams.get('client_id'), 'palisade');
    assert.equal(location.searchParams.get('redirect_uri'), loginUrl);
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.match(location.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(location.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(location.searchParams.get('nonce'), /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(location.searchParams.get('scope').split(' '), ['openid', 'email', 'profile']);
  });

  let adaKuid;

  it('logs in through the provider and creates the user with mapped content', async () => {
    const { status, body } = await complete(await callbackFor('ada'));
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(typeof body.result.jwt, 'string');
    adaKuid = body.result._id;

    kuzzle.jwt = body.result.jwt;
    try {
      const user = await kuzzle.auth.getCurrentUser();
      assert.equal(user._id, adaKuid);
      assert.equal(user.content.email, 'ada@example.com');
      assert.equal(user.content.name, 'Ada Lovelace');
      assert.deepEqual(user.profileIds, ['default']);
    } finally {
      kuzzle.jwt = null;
    }
  });

  it('maps a second login to the same user', async () => {
    const before = await userIds();
    const { status, body } = await complete(await callbackFor('ada'));
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result._id, adaKuid);
    assert.deepEqual(await userIds(), before);
  });

  it('rejects a callback with a wrong state', async () => {
    const callback = new URL(await callbackFor('alan'));
    callback.searchParams.set('state', 'not-a-state-palisade-issued');
    await assertRejected(callback.toString());
  });

  it('rejects a replayed callback', async () => {
    const callback = await callbackFor('ada');
    const first = await complete(callback);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await assertRejected(callback);
  });

  it('rejects a used code that comes with a fresh state', async () => {
    const used = new URL(await callbackFor('ada'));
    assert.equal((await complete(used.toString())).status, 200);
    // A fresh login state, so the provider's own check of the code is what must reject it.
    const redirect = await fetch(loginUrl, { redirect: 'manual' });
    const freshState = new URL(redirect.headers.get('location')).searchParams.get('state');
    used.searchParams.set('state', freshState);
    await assertRejected(used.toString());
  });

  it('rejects the provider error parameter', async () => {
    const redirect = await fetch(loginUrl, { redirect: 'manual' });
    const state = new URL(redirect.headers.get('location')).searchParams.get('state');
    const callback = new URL(loginUrl);
    callback.searchParams.set('error', 'access_denied');
    callback.searchParams.set('error_description', 'the user declined');
    callback.searchParams.set('state', state);
    await assertRejected(callback.toString());
  });

  // The next three tests need ID tokens that a correct provider never issues. The provider
  // still runs the whole flow and redeems the code, checking the client secret and the PKCE
  // verifier. Only the `id_token` of that one token response is swapped, as a hostile network
  // or a broken provider would do. The control test shows that a swap alone does not fail.
  it('accepts an ID token re-signed with the provider key (control)', async () => {
    provider.replaceNextIdToken((token, claims) => signJwt(claims, provider.signingKey));
    const { status, body } = await complete(await callbackFor('ada'));
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result._id, adaKuid);
    assertTokenSwapped();
  });

  it('rejects an ID token signed by another key', async () => {
    // The provider's kid on a key the provider never published.
    const forger = { ...newSigningKey(), kid: provider.signingKey.kid };
    provider.replaceNextIdToken((token, claims) => signJwt(claims, forger));
    await assertRejected(await callbackFor('alan'));
    assertTokenSwapped();
  });

  it('rejects an expired ID token', async () => {
    const now = Math.floor(Date.now() / 1000);
    provider.replaceNextIdToken((token, claims) =>
      signJwt({ ...claims, iat: now - 7200, exp: now - 3600 }, provider.signingKey));
    await assertRejected(await callbackFor('alan'));
    assertTokenSwapped();
  });

  it('rejects an ID token for another audience', async () => {
    provider.replaceNextIdToken((token, claims) =>
      signJwt({ ...claims, aud: 'another-client' }, provider.signingKey));
    await assertRejected(await callbackFor('alan'));
    assertTokenSwapped();
  });

  it('keeps logging in after the provider rotates its keys', async () => {
    const oldKid = provider.signingKey.kid;
    provider.rotateKeys();
    const jwks = await (await fetch(`${provider.issuer}/jwks`)).json();
    assert.deepEqual(jwks.keys.map((key) => key.kid), [provider.signingKey.kid]);
    assert.notEqual(provider.signingKey.kid, oldKid);

    const { status, body } = await complete(await callbackFor('ada'));
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result._id, adaKuid);
    // The plugin had the old key set cached, so the new kid made it fetch the set again.
    const refetch = `no key for kid "${provider.signingKey.kid}" in the cached key set`;
    assert.ok(server.output.join('').includes(refetch), 'the key set was not fetched again');
  });

  it('logs a user linked by createCredentials in to that user', async () => {
    const user = await kuzzle.security.createUser('grace-local', {
      content: { profileIds: ['default'], name: 'Grace' },
    });
    assert.equal(user._id, 'grace-local');
    await kuzzle.security.createCredentials('oidc', 'grace-local', { subject: 'grace' });
    assert.equal(await kuzzle.security.hasCredentials('oidc', 'grace-local'), true);

    const info = await kuzzle.security.getCredentials('oidc', 'grace-local');
    assert.equal(info.subject, 'grace');
    assert.equal(info.issuer, provider.issuer);
    assert.deepEqual(Object.keys(info).sort(), ['issuer', 'kuid', 'subject']);

    const before = await userIds();
    const { status, body } = await complete(await callbackFor('grace'));
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.result._id, 'grace-local');
    assert.deepEqual(await userIds(), before);
  });

  it('rejects credentials without a subject', async () => {
    await kuzzle.security.createUser('linus', { content: { profileIds: ['default'] } });
    const error = await kuzzle.security
      .createCredentials('oidc', 'linus', { password: 'not-an-oidc-field' })
      .then(() => assert.fail('createCredentials should have failed'), (failure) => failure);
    assert.equal(error.status, 400);
    assert.equal(error.id, 'security.credentials.rejected');
    assert.match(error.message, /password/);
    assert.equal(await kuzzle.security.hasCredentials('oidc', 'linus'), false);
  });
});
