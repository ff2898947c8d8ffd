import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { ApiError, apiCall, documents, httpSend, log, nowMs, publish, randomBytes, settings } from "../src/index.js";
import { behaviour, calls, importError, reset } from "./fake-host.js";
import { fromHost } from "../src/request.js";
import { hostRequest } from "./helpers.js";

beforeEach(reset);

test("apiCall uses the plugin identity by default", () => {
  behaviour.call = () => '{"_id":"d1","_source":{}}';
  const result = apiCall({ controller: "document", action: "get", index: "i", collection: "c", _id: "d1" });
  assert.deepEqual(result, { _id: "d1", _source: {} });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].identity, "plugin");
  assert.equal(calls[0].current, undefined);
});

test("apiCall onBehalfOf uses the current user", () => {
  const lent = hostRequest();
  documents.get("i", "c", "d1", { onBehalfOf: fromHost(lent) });
  assert.equal(calls[0].identity, "current-user");
  assert.equal(calls[0].current, lent);
  assert.deepEqual(calls[0].payload, { controller: "document", action: "get", index: "i", collection: "c", _id: "d1" });
});

test("apiCall onBehalfOf refuses an object that is not the handled request", () => {
  assert.throws(
    () => documents.get("i", "c", "d1", { onBehalfOf: { user: { id: "admin" } } }),
    (error) => error instanceof ApiError && error.status === 400 && error.props[0] === "onBehalfOf",
  );
  assert.equal(calls.length, 0);
});

test("apiCall throws the host's error as ApiError", () => {
  const record = { status: 403, id: "security.rights.forbidden", message: "Forbidden.", props: ["document:get"] };
  behaviour.call = () => {
    throw importError(record);
  };
  assert.throws(
    () => documents.get("i", "c", "d1"),
    (error) => error instanceof ApiError && error.status === 403 && error.id === record.id && error.message === record.message,
  );
});

test("documents helpers build Kuzzle requests", () => {
  documents.create("i", "c", { a: 1 });
  documents.create("i", "c", { a: 1 }, { id: "x" });
  documents.update("i", "c", "x", { b: 2 });
  documents.delete("i", "c", "x");
  documents.mGet("i", "c", ["x", "y"]);
  documents.search("i", "c", { query: { match_all: {} } }, { from: 10, size: 5 });
  publish("i", "c", { hello: "world" });
  assert.deepEqual(
    calls.map((entry) => entry.payload),
    [
      { controller: "document", action: "create", index: "i", collection: "c", body: { a: 1 } },
      { controller: "document", action: "create", index: "i", collection: "c", _id: "x", body: { a: 1 } },
      { controller: "document", action: "update", index: "i", collection: "c", _id: "x", body: { b: 2 } },
      { controller: "document", action: "delete", index: "i", collection: "c", _id: "x" },
      { controller: "document", action: "mGet", index: "i", collection: "c", body: { ids: ["x", "y"] } },
      {
        controller: "document",
        action: "search",
        index: "i",
        collection: "c",
        body: { query: { match_all: {} } },
        from: 10,
        size: 5,
      },
      { controller: "realtime", action: "publish", index: "i", collection: "c", body: { hello: "world" } },
    ],
  );
});

test("log writes with its level", () => {
  log.warn("careful");
  log.info({ a: 1 });
  assert.deepEqual(calls, [
    { import: "log.write", level: "warn", message: "careful" },
    { import: "log.write", level: "info", message: '{"a":1}' },
  ]);
});

test("environment helpers convert types", () => {
  assert.equal(nowMs(), 1_700_000_000_123);
  assert.deepEqual(randomBytes(3), new Uint8Array([7, 7, 7]));
});

test("settings returns the parsed configuration", () => {
  behaviour.settings = () => '{"language":"en","limits":{"max":3}}';
  assert.deepEqual(settings(), { language: "en", limits: { max: 3 } });
});

test("httpSend encodes a JSON body", () => {
  behaviour.send = () => ({ status: 200, headers: [], body: new TextEncoder().encode('{"ok":true}') });
  const response = httpSend({ method: "post", url: "https://example.test/x", body: { a: 1 } });
  assert.deepEqual(response.json(), { ok: true });
  const sent = calls[0].request;
  assert.equal(sent.method, "POST");
  assert.deepEqual(sent.headers, [["content-type", "application/json"]]);
  assert.equal(new TextDecoder().decode(sent.body), '{"a":1}');
  assert.equal(sent.timeoutMs, 10_000);
});
