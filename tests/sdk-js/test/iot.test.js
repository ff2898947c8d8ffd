// The IoT example with the official kuzzle-sdk: an index of sensors, searches and the three
// pagination modes of SearchResult.next(), over WebSocket and over HTTP.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Kuzzle, WebSocket, Http } = require('kuzzle-sdk');

const { startServer } = require('../support/server');

const SENSOR_COUNT = 30;

const mappings = {
  properties: {
    kind: { type: 'keyword' },
    building: { type: 'keyword' },
    temperature: { type: 'float' },
    battery: { type: 'integer' },
    location: { type: 'geo_point' },
  },
};

function sensor(i) {
  return {
    _id: `sensor-${String(i).padStart(2, '0')}`,
    body: {
      kind: i % 3 === 0 ? 'humidity' : 'temperature',
      building: i % 2 === 0 ? 'north' : 'south',
      temperature: 15 + i * 0.5,
      battery: 100 - i,
      location: { lat: 48.85 + i / 1000, lon: 2.35 },
    },
  };
}

// Temperature sensors of the north building at 20 °C or more: i is even, not a multiple of 3,
// and 15 + i/2 >= 20, so i >= 10.
const expectedIds = [];
for (let i = 10; i < SENSOR_COUNT; i++) {
  if (i % 2 === 0 && i % 3 !== 0) {
    expectedIds.push(sensor(i)._id);
  }
}

const query = {
  bool: {
    filter: [
      { term: { kind: 'temperature' } },
      { term: { building: 'north' } },
      { range: { temperature: { gte: 20 } } },
    ],
  },
};

/** Follows SearchResult.next() to the end and returns every hit id, in order. */
async function collectIds(first) {
  const ids = [];
  let page = first;
  let pages = 0;
  while (page) {
    ids.push(...page.hits.map((hit) => hit._id));
    pages += 1;
    assert.ok(pages < 50, 'pagination does not end');
    page = await page.next();
  }
  return { ids, pages };
}

const protocols = {
  websocket: (server) => new WebSocket(server.host, { port: server.port }),
  http: (server) => new Http(server.host, { port: server.port }),
};

for (const [name, makeProtocol] of Object.entries(protocols)) {
  describe(`IoT example over ${name}`, () => {
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

    it('creates the index and the collection', async () => {
      await kuzzle.index.create('iot');
      await kuzzle.collection.create('iot', 'sensors', { mappings });
      assert.equal(await kuzzle.index.exists('iot'), true);
      assert.equal(await kuzzle.collection.exists('iot', 'sensors'), true);
      const mapping = await kuzzle.collection.getMapping('iot', 'sensors');
      assert.equal(mapping.properties.temperature.type, 'float');
    });

    it('creates documents', async () => {
      const first = await kuzzle.document.create('iot', 'sensors', sensor(0).body, sensor(0)._id);
      assert.equal(first._id, 'sensor-00');
      assert.equal(first._source._kuzzle_info.author, '-1');

      const rest = [];
      for (let i = 1; i < SENSOR_COUNT; i++) {
        rest.push(sensor(i));
      }
      const result = await kuzzle.document.mCreate('iot', 'sensors', rest, {
        refresh: 'wait_for',
      });
      assert.equal(result.successes.length, SENSOR_COUNT - 1);
      assert.equal(result.errors.length, 0);

      const document = await kuzzle.document.get('iot', 'sensors', 'sensor-07');
      assert.equal(document._source.battery, 93);
      const many = await kuzzle.document.mGet('iot', 'sensors', ['sensor-01', 'sensor-02', 'nope']);
      assert.deepEqual(
        many.successes.map((d) => d._id),
        ['sensor-01', 'sensor-02'],
      );
      assert.deepEqual(many.errors, ['nope']);
    });

    it('searches with bool, term and range', async () => {
      const result = await kuzzle.document.search(
        'iot',
        'sensors',
        { query, sort: [{ temperature: 'asc' }] },
        { size: 100 },
      );
      assert.equal(result.total, expectedIds.length);
      assert.deepEqual(
        result.hits.map((hit) => hit._id),
        expectedIds,
      );
      const count = await kuzzle.document.count('iot', 'sensors', { query });
      assert.equal(count, expectedIds.length);
    });

    it('paginates with from and size', async () => {
      const first = await kuzzle.document.search('iot', 'sensors', {}, { size: 7 });
      assert.equal(first.total, SENSOR_COUNT);
      const { ids, pages } = await collectIds(first);
      assert.equal(pages, 5);
      assert.equal(new Set(ids).size, SENSOR_COUNT);
    });

    it('paginates with scroll', async () => {
      const first = await kuzzle.document.search(
        'iot',
        'sensors',
        { query: { range: { battery: { lte: 90 } } } },
        { size: 4, scroll: '10s' },
      );
      assert.equal(first.total, 20);
      const { ids, pages } = await collectIds(first);
      assert.equal(pages, 5);
      assert.equal(new Set(ids).size, 20);
    });

    it('paginates with sort and search_after', async () => {
      const first = await kuzzle.document.search(
        'iot',
        'sensors',
        { query, sort: [{ temperature: 'desc' }, '_id'] },
        { size: 2 },
      );
      const { ids, pages } = await collectIds(first);
      assert.equal(pages, Math.ceil(expectedIds.length / 2));
      assert.deepEqual(ids, [...expectedIds].reverse());
    });

    it('updates and deletes a sensor', async () => {
      const updated = await kuzzle.document.update('iot', 'sensors', 'sensor-00', { battery: 5 });
      assert.equal(updated._source.battery, 5);
      assert.equal(updated._source._kuzzle_info.updater, '-1');
      await kuzzle.document.delete('iot', 'sensors', 'sensor-00', { refresh: 'wait_for' });
      assert.equal(await kuzzle.document.exists('iot', 'sensors', 'sensor-00'), false);
      await assert.rejects(kuzzle.document.get('iot', 'sensors', 'sensor-00'), (error) => {
        assert.equal(error.id, 'services.storage.not_found');
        assert.equal(error.status, 404);
        return true;
      });
    });
  });
}
