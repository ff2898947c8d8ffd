// The first-party plugins, built from source, through the official kuzzle-sdk over WebSocket and
// HTTP: the greeting controller (Rust), the owner-only pipe (TypeScript) and the audit hook
// (Rust).

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Kuzzle, WebSocket, Http } = require('kuzzle-sdk');

const { startServer } = require('../support/server');
const { pluginsFolder, pluginCacheEnv } = require('../support/plugins');

const protocols = {
  websocket: (server) => new WebSocket(server.host, { port: server.port }),
  http: (server) => new Http(server.host, { port: server.port }),
};

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

/** Polls `probe` every 50 ms until it returns a truthy value, for up to 10 s. */
async function eventually(probe) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    assert.ok(Date.now() < deadline, 'condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const [name, makeProtocol] of Object.entries(protocols)) {
  describe(`greeting plugin over ${name}`, () => {
    let server;
    let kuzzle;

    before(async () => {
      server = await startServer(pluginCacheEnv(), { pluginsDir: pluginsFolder({ greeting: null }) });
      kuzzle = new Kuzzle(makeProtocol(server));
      await kuzzle.connect();
    });

    after(async () => {
      kuzzle.disconnect();
      await server.stop();
    });

    it('says hello to the name it is given', async () => {
      const response = await kuzzle.query({ controller: 'greeting', action: 'sayHello', name: 'Ada' });
      assert.equal(response.result, 'Hello, Ada');
    });

    it('rejects a request without a name with a 400 naming the argument', async () => {
      const error = await rejection(kuzzle.query({ controller: 'greeting', action: 'sayHello' }));
      assert.equal(error.id, 'api.assert.missing_argument');
      assert.equal(error.status, 400);
      assert.match(error.message, /name/);
    });

    it('is listed by server:info and server:publicApi', async () => {
      const info = await kuzzle.server.info();
      const greeting = info.serverInfo.kuzzle.plugins.plugins.greeting;
      assert.equal(greeting.controllers[0].name, 'greeting');
      const api = await kuzzle.query({ controller: 'server', action: 'publicApi' });
      const paths = api.result.greeting.sayHello.http.map((route) => route.path);
      assert.ok(paths.includes('/_/greeting/say-hello'), paths.join(', '));
      assert.ok(paths.includes('/_/greeting/say-hello/:name'), paths.join(', '));
    });
  });

  describe(`owner-only plugin over ${name}`, () => {
    let server;
    let kuzzle;

    before(async () => {
      server = await startServer(pluginCacheEnv(), { pluginsDir: pluginsFolder({ 'owner-only': null }) });
      kuzzle = new Kuzzle(makeProtocol(server));
      await kuzzle.connect();
      await kuzzle.index.create('shop');
      await kuzzle.collection.create('shop', 'orders');
      for (const user of ['alice', 'bob']) {
        await kuzzle.security.createUser(user, {
          content: { profileIds: ['default'] },
          credentials: { local: { username: user, password: `${user}-password` } },
        });
      }
    });

    after(async () => {
      kuzzle.disconnect();
      await server.stop();
    });

    it('returns a document to its author and rejects everyone else with 403', async () => {
      await waitForLoginSlot();
      await kuzzle.auth.login('local', { username: 'alice', password: 'alice-password' });
      await kuzzle.document.create('shop', 'orders', { item: 'tea' }, 'alice-order', { refresh: 'wait_for' });
      const own = await kuzzle.document.get('shop', 'orders', 'alice-order');
      assert.equal(own._source.item, 'tea');

      await waitForLoginSlot();
      await kuzzle.auth.login('local', { username: 'bob', password: 'bob-password' });
      const denied = await rejection(kuzzle.document.get('shop', 'orders', 'alice-order'));
      assert.equal(denied.status, 403);
      assert.equal(denied.id, 'security.rights.forbidden');
      assert.match(denied.message, /alice-order/);

      const searched = await rejection(kuzzle.document.search('shop', 'orders', {}));
      assert.equal(searched.status, 403, 'a search returning her document is rejected too');

      await kuzzle.document.create('shop', 'orders', { item: 'milk' }, 'bob-order');
      const mine = await kuzzle.document.get('shop', 'orders', 'bob-order');
      assert.equal(mine._source.item, 'milk');
      await kuzzle.auth.logout();
    });
  });

  describe(`TypeScript SDK example over ${name}`, () => {
    let server;
    let kuzzle;

    before(async () => {
      server = await startServer(pluginCacheEnv(), { pluginsDir: pluginsFolder({ 'js-sdk-example': null }) });
      kuzzle = new Kuzzle(makeProtocol(server));
      await kuzzle.connect();
      await kuzzle.index.create('greetings');
      await kuzzle.collection.create('greetings', 'sent');
      // `carol` may call the plugin's action and create documents; `dave` may only call the action.
      const logout = { auth: { actions: { logout: true } } };
      await kuzzle.security.createRole('greeter', {
        controllers: { ...logout, greeting: { actions: { save: true } }, document: { actions: { create: true } } },
      });
      await kuzzle.security.createRole('caller', {
        controllers: { ...logout, greeting: { actions: { save: true } } },
      });
      await kuzzle.security.createProfile('greeter', { policies: [{ roleId: 'greeter' }] });
      await kuzzle.security.createProfile('caller', { policies: [{ roleId: 'caller' }] });
      for (const [user, profile] of [['carol', 'greeter'], ['dave', 'caller']]) {
        await kuzzle.security.createUser(user, {
          content: { profileIds: [profile] },
          credentials: { local: { username: user, password: `${user}-password` } },
        });
      }
    });

    after(async () => {
      kuzzle.disconnect();
      await server.stop();
    });

    it('writes on behalf of the requesting user with that user\'s rights', async () => {
      await waitForLoginSlot();
      await kuzzle.auth.login('local', { username: 'carol', password: 'carol-password' });
      const saved = await kuzzle.query({ controller: 'greeting', action: 'save', name: 'Ada' });
      assert.equal(saved.status, 201);
      await kuzzle.auth.logout();

      const document = await kuzzle.document.get('greetings', 'sent', saved.result._id);
      assert.equal(document._source.name, 'Ada');
      assert.equal(document._source._kuzzle_info.author, 'carol', 'the plugin wrote as the request\'s user');

      await waitForLoginSlot();
      await kuzzle.auth.login('local', { username: 'dave', password: 'dave-password' });
      const denied = await rejection(kuzzle.query({ controller: 'greeting', action: 'save', name: 'Bo' }));
      assert.equal(denied.status, 403, 'the user may not create documents, so neither may the plugin for him');
      assert.equal(denied.id, 'security.rights.forbidden');
      await kuzzle.auth.logout();
    });
  });

  describe(`audit plugin over ${name}`, () => {
    let server;
    let kuzzle;

    before(async () => {
      const settings = '[identity]\nprofiles = ["admin"]\n';
      server = await startServer(pluginCacheEnv(), { pluginsDir: pluginsFolder({ audit: settings }) });
      kuzzle = new Kuzzle(makeProtocol(server));
      await kuzzle.connect();
      await kuzzle.index.create('crm');
      await kuzzle.collection.create('crm', 'clients');
    });

    after(async () => {
      kuzzle.disconnect();
      await server.stop();
    });

    it('records every document write in the audit collection', async () => {
      await kuzzle.document.create('crm', 'clients', { name: 'Ada' }, 'c1');
      await kuzzle.document.update('crm', 'clients', 'c1', { name: 'Ada L.' });
      await kuzzle.document.mCreate('crm', 'clients', [{ _id: 'c2', body: { name: 'Grace' } }]);
      await kuzzle.document.delete('crm', 'clients', 'c1');

      const hits = await eventually(async () => {
        await kuzzle.collection.refresh('audit', 'audit');
        const page = await kuzzle.document.search('audit', 'audit', {}, { size: 100 });
        return page.hits.length >= 4 ? page.hits : null;
      });
      const actions = hits.map((hit) => hit._source.action).sort();
      assert.deepEqual(actions, ['create', 'delete', 'mCreate', 'update']);
      const created = hits.find((hit) => hit._source.action === 'mCreate')._source;
      assert.equal(created.index, 'crm');
      assert.equal(created.collection, 'clients');
      assert.deepEqual(created.documentIds, ['c2']);
      assert.equal(created.userId, '-1');
      assert.equal(typeof created.timestamp, 'number');
    });
  });
}
