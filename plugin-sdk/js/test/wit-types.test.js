// Checks the hand-written src/wit.d.ts against the WIT files: every record and its fields, every
// enum and its cases, and every function must be declared with componentize-js's names.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const witDir = process.env.PALISADE_WIT_DIR ?? path.join(packageDir, "..", "..", "wit");
const declarations = readFileSync(path.join(packageDir, "src", "wit.d.ts"), "utf8");

// The interfaces this SDK does not offer.
// TODO(js-sdk): authentication strategies (`strategy.wit`), the short-lived store (`store.wit`)
// and outbound TCP (`tcp.wit`) are offered by the Rust SDK only.
const notOffered = new Set(["strategy.wit", "store.wit", "tcp.wit"]);

// WIT source without comments.
const wit = readdirSync(witDir)
  .filter((name) => name.endsWith(".wit") && !notOffered.has(name))
  .map((name) => readFileSync(path.join(witDir, name), "utf8"))
  .join("\n")
  .replace(/\/\/.*$/gm, "");

const camelCase = (name) => name.replace(/^%/, "").replace(/-([a-z0-9])/g, (_, letter) => letter.toUpperCase());
const pascalCase = (name) => camelCase(name).replace(/^[a-z]/, (letter) => letter.toUpperCase());

// The TypeScript name of each WIT record where it differs from the PascalCase name.
const renamedRecords = { "api-error": "ApiErrorRecord" };

function declarationBody(keyword, name) {
  const pattern =
    keyword === "interface" ? `export interface ${name} {([^}]*)}` : `export type ${name} =([^;]*);`;
  const match = new RegExp(pattern, "s").exec(declarations);
  assert.ok(match, `src/wit.d.ts declares no ${keyword} ${name}`);
  return match[1];
}

test("every WIT record is declared", () => {
  const records = [...wit.matchAll(/record\s+([a-z0-9-]+)\s*{([^}]*)}/g)];
  assert.ok(records.length >= 10, `found only ${records.length} records in ${witDir}`);
  for (const [, name, fields] of records) {
    const body = declarationBody("interface", renamedRecords[name] ?? pascalCase(name));
    const fieldNames = [...fields.matchAll(/(%?[a-z0-9-]+)\s*:/g)].map((match) => camelCase(match[1]));
    for (const field of fieldNames) {
      assert.match(body, new RegExp(`\\b${field}\\??:`), `record ${name} lacks field ${field}`);
    }
    const declared = [...body.matchAll(/^\s*([a-zA-Z]+)\??:/gm)].map((match) => match[1]);
    assert.deepEqual(declared.sort(), fieldNames.sort(), `record ${name} has extra or missing fields`);
  }
});

test("every WIT enum is declared", () => {
  const enums = [...wit.matchAll(/enum\s+([a-z0-9-]+)\s*{([^}]*)}/g)];
  assert.equal(enums.length, 2);
  for (const [, name, cases] of enums) {
    const body = declarationBody("type", pascalCase(name));
    const caseNames = cases.split(",").map((item) => item.trim()).filter(Boolean);
    for (const item of caseNames) {
      assert.match(body, new RegExp(`"${item}"`), `enum ${name} lacks case ${item}`);
    }
  }
});

test("every WIT function is declared", () => {
  const functions = [...wit.matchAll(/([a-z0-9-]+)\s*:\s*func\(/g)].map((match) => camelCase(match[1]));
  assert.ok(functions.length >= 9);
  for (const name of functions) {
    assert.match(declarations, new RegExp(`\\b${name}\\(`), `src/wit.d.ts lacks function ${name}`);
  }
});
