// Runs the README's example plugin (examples/greeting.ts) under node with the fake host. Node 20
// cannot import TypeScript, so esbuild strips the types first.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

import { build } from "esbuild";

import { behaviour, calls, reset } from "./fake-host.js";
import { hostRequest } from "./helpers.js";

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let workDir;
let plugin;

before(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "palisade-sdk-example-"));
  const outfile = path.join(workDir, "greeting.js");
  await build({
    entryPoints: [path.join(packageDir, "examples", "greeting.ts")],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    external: ["palisade:plugin/*"],
    // The example imports the SDK by its package name, as a plugin does once the SDK is installed.
    alias: { "@palisade/plugin-sdk": path.join(packageDir, "src", "index.js") },
    logLevel: "warning",
  });
  plugin = (await import(pathToFileURL(outfile).href)).default;
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

beforeEach(reset);

test("example manifest lists its routes", () => {
  const manifest = plugin.lifecycle.init('{"language":"en"}');
  assert.equal(manifest.name, "greeting");
  assert.deepEqual(manifest.controllers[0].actions[0], {
    name: "sayHello",
    http: [{ verb: "GET", path: "hello/:name" }],
  });
  assert.deepEqual(manifest.pipes, ["document:beforeCreate"]);
  assert.deepEqual(manifest.hooks, ["document:afterDelete"]);
});

test("example init rejects a bad setting", () => {
  assert.throws(() => plugin.lifecycle.init('{"language":3}'), (error) => error.payload.status === 400);
});

test("example sayHello greets", () => {
  const response = plugin.controller.handle(hostRequest({ args: '{"name":"Ada"}' }));
  assert.equal(response.result, '{"message":"Hello, Ada!"}');
});

test("example save calls the API as the user", () => {
  behaviour.call = () => '{"_id":"g1","_source":{"name":"Ada"}}';
  const request = hostRequest({ action: "save", args: '{"name":"Ada"}' });
  const response = plugin.controller.handle(request);
  assert.equal(response.status, 201);
  assert.equal(response.result, '{"_id":"g1"}');
  assert.equal(calls[0].identity, "current-user");
  assert.equal(calls[0].current, request);
});

test("example pipe stamps the creation day", () => {
  const payload = JSON.parse(plugin.pipe.run("document:beforeCreate", hostRequest(), '{"body":{"a":1}}'));
  assert.deepEqual(payload, { body: { a: 1, createdOn: "2023-11-14" } });
});
