// The official kuzzle-sdk against Palisade's security: first administrator, logins, rights,
// users, logout and API keys, over WebSocket and over HTTP.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Kuzzle, WebSocket, Http } = require('kuzzle-sdk');

const { startServer } = require('../support/server');

const protocols = {
  websocket: (server) => new WebSocket(server.host, { port: server.port }),
  http: (server) => new Http(server.host, { port: server.port }),
};

const admin = { username: 'admin', password: 'admin-password' };
const alice = { username: 'alice', password: 'alice-password' };

// `auth:login` is limited to one call per connection per second (limits.loginsPerSecond).
const waitForLoginSlot = () => new Promise((resolve) => setTimeout(resolve, 1100));

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the request should have failed');
}

for (const [name, makeProtocol] of Object.entries(protocols)) {
  describe(`kuzzle-sdk security over ${name}`, () => {
    let server;
    let kuzzle;

    before(async () => {
      server = await startServer();
      kuzzle = new Kuzzle(makeProtocol(server));
      await kuzzle.connect();
    });

    after(async () => {
      kuzzle.disconnect();
      await server.stop();
    });

    it('creates the first administrator with reset', async () => {
      assert.equal((await kuzzle.server.adminExists()), false);
      const user = await kuzzle.security.createFirstAdmin(
        'admin',
        { content: { name: 'Administrator' }, credentials: { local: admin } },
        { reset: true },
      );
      assert.equal(user._id, 'admin');
      assert.deepEqual(user.profileIds, ['admin']);

      // The default rights are now restricted: anonymous clients may no longer read the time.
      const error = await rejection(kuzzle.server.now());
      assert.equal(error.id, 'security.rights.unauthorized');
      assert.equal(error.status, 401);
    });

    it('logs in and decodes the token', async () => {
      const jwt = await kuzzle.auth.login('local', admin);
      assert.ok(jwt.startsWith('kauth-'), jwt);
      assert.equal(kuzzle.jwt, jwt);
      assert.equal(kuzzle.auth.authenticationToken.userId, 'admin');
      const expiresAt = kuzzle.auth.authenticationToken.expiresAt;
      assert.ok(expiresAt * 1000 > Date.now(), `exp ${expiresAt} in the past`);
      assert.equal(kuzzle.authenticated, true);
      assert.equal(await kuzzle.server.adminExists(), true);

      const check = await kuzzle.auth.checkToken();
      assert.equal(check.valid, true);
      assert.equal(check.kuid, 'admin');
    });

    it('reads its own rights', async () => {
      const rights = await kuzzle.auth.getMyRights();
      const all = rights.find((right) => right.controller === '*' && right.action === '*');
      assert.ok(all, JSON.stringify(rights));
      assert.equal(all.value, 'allowed');
      assert.equal(all.index, '*');
    });

    it('creates a user with credentials', async () => {
      const user = await kuzzle.security.createUser('alice', {
        content: { profileIds: ['default'], name: 'Alice' },
        credentials: { local: alice },
      });
      assert.equal(user._id, 'alice');
      assert.equal(user.content.name, 'Alice');
      assert.equal(await kuzzle.security.hasCredentials('local', 'alice'), true);
    });

    it('logs in as that user and is forbidden admin actions', async () => {
      await waitForLoginSlot();
      await kuzzle.auth.login('local', alice);
      assert.equal(kuzzle.auth.authenticationToken.userId, 'alice');

      const me = await kuzzle.auth.getCurrentUser();
      assert.equal(me._id, 'alice');

      const error = await rejection(kuzzle.security.getUser('admin'));
      assert.equal(error.id, 'security.rights.forbidden');
      assert.equal(error.status, 403);
    });

    it('logs out', async () => {
      const token = kuzzle.jwt;
      await kuzzle.auth.logout();
      assert.equal(kuzzle.jwt, null);
      const check = await kuzzle.auth.checkToken(token);
      assert.equal(check.valid, false);
    });

    it('logs in with an API key', async () => {
      await waitForLoginSlot();
      await kuzzle.auth.login('local', admin);
      const apiKey = await kuzzle.auth.createApiKey('sdk test');
      const token = apiKey._source.token;
      assert.ok(token.startsWith('kapikey-'), token);
      await kuzzle.auth.logout();

      kuzzle.setAPIKey(token);
      const me = await kuzzle.auth.getCurrentUser();
      assert.equal(me._id, 'admin');
      const check = await kuzzle.auth.checkToken();
      assert.equal(check.valid, true);
      assert.equal(check.expiresAt, -1);

      // Logging out with an API key keeps the key valid.
      await kuzzle.auth.logout();
      kuzzle.setAPIKey(token);
      assert.equal((await kuzzle.auth.getCurrentUser())._id, 'admin');

      await kuzzle.auth.deleteApiKey(apiKey._id);
      const error = await rejection(kuzzle.auth.getCurrentUser());
      assert.equal(error.id, 'security.token.invalid');
    });
  });
}
