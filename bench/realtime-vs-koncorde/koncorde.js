// Runs the koncorde@4.7.0 side of the realtime benchmark for one keyword. It reads the file
// that `realtime-vs-koncorde generate DIR` wrote for the keyword and registers the filters in a
// fresh Koncorde. Then it matches the documents in turn for at least 2 seconds and prints one
// JSON line of measures.
// Usage: node --expose-gc koncorde.js DIR KEYWORD
'use strict';

const fs = require('fs');
const path = require('path');

const { Koncorde } = require(
  path.join(__dirname, '../../runtime/realtime/tests/koncorde/node_modules/koncorde'));

const MATCH_TIME_MS = 2000;

function settle() {
  if (global.gc) {
    global.gc();
  }
}

function measure(data) {
  settle();
  const before = process.memoryUsage();
  const koncorde = new Koncorde({ seed: Buffer.alloc(32) });

  let started = process.hrtime.bigint();
  const ids = data.filters.map((filter) => koncorde.register(filter, 'bench/c'));
  const registerSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  settle();
  const after = process.memoryUsage();

  let firstPass = 0;
  for (const document of data.documents) {
    firstPass += koncorde.test(document, 'bench/c').length;
  }

  started = process.hrtime.bigint();
  let tests = 0;
  let elapsed = 0;
  while (elapsed < MATCH_TIME_MS * 1e6) {
    for (const document of data.documents) {
      koncorde.test(document, 'bench/c');
    }
    tests += data.documents.length;
    elapsed = Number(process.hrtime.bigint() - started);
  }
  const matchSeconds = elapsed / 1e9;

  started = process.hrtime.bigint();
  for (const id of new Set(ids)) {
    koncorde.remove(id, 'bench/c');
  }
  const removeSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  return {
    keyword: data.keyword,
    filters: data.filters.length,
    registerPerSecond: data.filters.length / registerSeconds,
    matchPerSecond: tests / matchSeconds,
    memoryBytes: Math.max(0, after.rss - before.rss),
    heapBytes: Math.max(0, after.heapUsed - before.heapUsed),
    removeSeconds,
    matchesFirstPass: firstPass,
  };
}

const [dir, keyword] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(path.join(dir, `${keyword}.json`), 'utf8'));
process.stdout.write(`${JSON.stringify(measure(data))}\n`);
