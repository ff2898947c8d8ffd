// Reads {seed, index, filters, documents} as JSON on stdin and prints, as JSON on stdout, what
// koncorde@4.7.0 does with them: each filter's room id or validation error, and for each
// document the positions of the filters it matches.
'use strict';

const { Koncorde } = require('koncorde');

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function main() {
  const input = JSON.parse(await readStdin());
  const koncorde = new Koncorde({
    maxConditions: input.maxConditions || 100,
    seed: Buffer.from(input.seed, 'hex'),
  });

  const ids = [];
  const errors = [];
  const positions = new Map();

  input.filters.forEach((filter, position) => {
    try {
      const id = koncorde.register(filter, input.index);
      ids.push(id);
      errors.push(null);
      if (!positions.has(id)) {
        positions.set(id, []);
      }
      positions.get(id).push(position);
    } catch (error) {
      ids.push(null);
      errors.push(error.message);
    }
  });

  const matches = input.documents.map((document) => {
    const matched = [];
    for (const id of koncorde.test(document, input.index)) {
      matched.push(...positions.get(id));
    }
    return matched.sort((a, b) => a - b);
  });

  process.stdout.write(JSON.stringify({ ids, errors, matches }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
