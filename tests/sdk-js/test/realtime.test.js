// The official kuzzle-sdk's realtime API against Palisade over WebSocket: subscriptions,
// notifications, user events, counts, and resubscription after a reconnect.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { Kuzzle, WebSocket } = require('kuzzle-sdk');

const { startServer } = require('../support/server');

const WAIT_MS = 10_000;

/** Collects the notifications of a subscription and resolves waiters as they arrive. */
class Inbox {
  constructor() {
    this.received = [];
    this.waiters = [];
    this.callback = (notification) => {
      this.received.push(notification);
      this.waiters = this.waiters.filter((waiter) => !waiter());
    };
  }

  /** Resolves with the notifications once `count` have arrived, or rejects after 10 s. */
  waitFor(count) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.received.length} of ${count} notifications after ${WAIT_MS} ms`)),
        WAIT_MS,
      );
      const check = () => {
        if (this.received.length < count) {
          return false;
        }
        clearTimeout(timer);
        resolve(this.received.slice(0, count));
        return true;
      };
      if (!check()) {
        this.waiters.push(check);
      }
    });
  }
}

function connectSdk(server, options = {}) {
  const kuzzle = new Kuzzle(
    new WebSocket(server.host, { port: server.port, reconnectionDelay: 200, ...options }),
  );
  return kuzzle.connect().then(() => kuzzle);
}

/** Waits for a round trip, so that notifications queued before it have been delivered. */
async function settle(kuzzle) {
  await kuzzle.server.now();
}

/** Returns a TCP port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function once(emitter, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${WAIT_MS} ms`)), WAIT_MS);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

describe('kuzzle-sdk realtime over websocket', () => {
  let server;
  let alice;
  let bob;

  before(async () => {
    server = await startServer();
    alice = await connectSdk(server);
    bob = await connectSdk(server);
  });

  after(async () => {
    alice.disconnect();
    bob.disconnect();
    await server.stop();
  });

  it('receives publish notifications matching a filter', async () => {
    const inbox = new Inbox();
    const filter = { range: { temperature: { gte: 30 } } };
    const roomId = await alice.realtime.subscribe('weather', 'paris', filter, inbox.callback);

    await bob.realtime.publish('weather', 'paris', { temperature: 12 });
    await bob.realtime.publish('weather', 'paris', { temperature: 35 }, { _id: 'hot' });
    const [notification] = await inbox.waitFor(1);

    assert.equal(notification.type, 'document');
    assert.equal(notification.action, 'publish');
    assert.equal(notification.scope, 'in');
    assert.equal(notification.index, 'weather');
    assert.equal(notification.collection, 'paris');
    assert.equal(notification.result._id, 'hot');
    assert.equal(notification.result._source.temperature, 35);
    assert.equal(notification.result._source._kuzzle_info.author, '-1');
    assert.equal(notification.volatile.sdkInstanceId, bob.protocol.id);

    await settle(alice);
    assert.equal(inbox.received.length, 1, 'the cold message does not match');
    await alice.realtime.unsubscribe(roomId);
  });

  it('drops its own messages with subscribeToSelf false', async () => {
    const withSelf = new Inbox();
    const withoutSelf = new Inbox();
    const filter = { equals: { kind: 'self-test' } };
    await alice.realtime.subscribe('i', 'self', filter, withSelf.callback);
    await alice.realtime.subscribe('i', 'self', filter, withoutSelf.callback, {
      subscribeToSelf: false,
    });

    await alice.realtime.publish('i', 'self', { kind: 'self-test', from: 'alice' });
    await bob.realtime.publish('i', 'self', { kind: 'self-test', from: 'bob' });

    const both = await withSelf.waitFor(2);
    assert.deepEqual(both.map((n) => n.result._source.from), ['alice', 'bob']);
    const [onlyBob] = await withoutSelf.waitFor(1);
    assert.equal(onlyBob.result._source.from, 'bob');
    await settle(alice);
    assert.equal(withoutSelf.received.length, 1);
  });

  it('counts subscribers and reports users joining and leaving', async () => {
    const inbox = new Inbox();
    const filter = { equals: { room: 'lobby' } };
    const roomId = await alice.realtime.subscribe('chat', 'lobby', filter, inbox.callback, {
      users: 'all',
    });
    assert.equal(await alice.realtime.count(roomId), 1);

    const carol = await connectSdk(server);
    await carol.realtime.subscribe('chat', 'lobby', filter, () => {}, {
      volatile: { nickname: 'carol' },
    });
    const [joined] = await inbox.waitFor(1);
    assert.equal(joined.type, 'user');
    assert.equal(joined.user, 'in');
    assert.equal(joined.result.count, 2);
    assert.equal(joined.volatile.nickname, 'carol');
    assert.equal(await alice.realtime.count(roomId), 2);

    carol.disconnect();
    const [, left] = await inbox.waitFor(2);
    assert.equal(left.user, 'out');
    assert.equal(left.result.count, 1);
    assert.equal(left.volatile.nickname, 'carol');
    assert.equal(await alice.realtime.count(roomId), 1);
  });
});

describe('kuzzle-sdk realtime after a server restart', () => {
  let dataDir;
  let port;
  let server;
  let listener;
  let publisher;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'palisade-sdk-restart-'));
    port = await freePort();
    server = await startServer({}, { port, dataDir });
    listener = await connectSdk(server);
  });

  after(async () => {
    listener.disconnect();
    if (publisher) {
      publisher.disconnect();
    }
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('resubscribes on reconnect', async () => {
    const inbox = new Inbox();
    const filter = { equals: { channel: 'news' } };
    const roomId = await listener.realtime.subscribe('i', 'c', filter, inbox.callback);

    // Stopping the server closes the socket with code 1001, which the SDK treats as a network
    // error, so it retries every 200 ms until the new server on the same port and data accepts
    // the connection.
    const disconnected = once(listener, 'networkError');
    await server.stop();
    await disconnected;
    const reconnected = once(listener, 'reconnected');
    server = await startServer({}, { port, dataDir });
    await reconnected;

    publisher = await connectSdk(server);
    // The SDK resubscribes asynchronously after `reconnected`, so wait for the room to be back.
    // It has the same id because the data folder keeps the room id seed.
    const deadline = Date.now() + WAIT_MS;
    while ((await roomCount(publisher, roomId)) !== 1) {
      assert.ok(Date.now() < deadline, `room ${roomId} not recreated after the reconnect`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    await publisher.realtime.publish('i', 'c', { channel: 'news', title: 'back' });
    const [notification] = await inbox.waitFor(1);
    assert.equal(notification.result._source.title, 'back');
  });
});

/** Returns a room's subscriber count, or 0 when the room does not exist. */
async function roomCount(kuzzle, roomId) {
  try {
    return await kuzzle.realtime.count(roomId);
  } catch (error) {
    if (error.id === 'core.realtime.room_not_found') {
      return 0;
    }
    throw error;
  }
}
