// The official kuzzle-sdk against Palisade, over WebSocket and over HTTP.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Kuzzle, WebSocket, Http } = require('kuzzle-sdk');

const { startServer } = require('../support/server');

const protocols = {
  websocket: (server) => new WebSocket(server.host, { port: server.port }),
  http: (server) =>
    new Http(server.host, {
      port: server.port,
      // A route for a controller that does not exist, so the request reaches the server.
      customRoutes: { nope: { missing: { verb: 'GET', url: '/_/nope/missing' } } },
    }),
};

for (const [name, makeProtocol] of Object.entries(protocols)) {
  describe(`kuzzle-sdk over ${name}`, () => {
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

    it('connects', () => {
      assert.equal(kuzzle.connected, true);
    });

    it('reads server:now', async () => {
      const before = Date.now();
      const now = await kuzzle.server.now();
      assert.equal(typeof now, 'number');
      assert.ok(Math.abs(now - before) < 60_000, `server time ${now} far from ${before}`);
    });

    it('reads server:info', async () => {
      const info = await kuzzle.server.info();
      assert.equal(info.serverInfo.kuzzle.version, '2.56.0');
      assert.ok(info.serverInfo.kuzzle.api.routes.server.now);
    });

    it('checks an anonymous token', async () => {
      const result = await kuzzle.auth.checkToken();
      assert.equal(result.valid, true);
      assert.equal(result.kuid, '-1');
      assert.equal(result.expiresAt, null);
    });

    it('rejects an unknown controller', async () => {
      await assert.rejects(
        kuzzle.query({ controller: 'nope', action: 'missing' }),
        (error) => {
          assert.equal(error.id, 'api.process.controller_not_found');
          assert.equal(error.status, 404);
          assert.equal(error.code, 33685508);
          return true;
        },
      );
    });
  });
}

describe('kuzzle-sdk over websocket, concurrency and heartbeat', () => {
  let server;
  let kuzzle;

  before(async () => {
    server = await startServer();
    kuzzle = new Kuzzle(new WebSocket(server.host, { port: server.port }));
    await kuzzle.connect();
  });

  after(async () => {
    kuzzle.disconnect();
    await server.stop();
  });

  it('matches 200 concurrent responses to their requests', async () => {
    const requests = [];
    for (let i = 0; i < 200; i++) {
      const requestId = `concurrent-${i}`;
      requests.push(
        kuzzle.query({ controller: 'server', action: 'now', requestId }).then((response) => {
          assert.equal(response.requestId, requestId);
          assert.equal(response.status, 200);
          return response.requestId;
        }),
      );
    }
    const ids = await Promise.all(requests);
    assert.equal(new Set(ids).size, 200);
  });

  it('keeps the connection alive for 10 s of heartbeats', async () => {
    let disconnected = false;
    kuzzle.on('disconnected', () => {
      disconnected = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    assert.equal(disconnected, false);
    assert.equal(kuzzle.connected, true);
    assert.equal(typeof (await kuzzle.server.now()), 'number');
  });
});
