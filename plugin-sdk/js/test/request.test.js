import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ApiError,
  argBoolean,
  argNumber,
  argObject,
  argString,
  body,
  bodyObject,
  optionalArgBoolean,
  optionalArgNumber,
  optionalArgString,
} from "../src/index.js";
import { makeRequest } from "./helpers.js";

function withArgs(values) {
  return makeRequest({ args: JSON.stringify(values) });
}

function assertApiError(run, status, id, props) {
  assert.throws(run, (error) => {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${error}`);
    assert.equal(error.status, status);
    assert.equal(error.id, id);
    assert.deepEqual(error.props, props);
    return true;
  });
}

test("argString returns a string argument", () => {
  assert.equal(argString(withArgs({ name: "Ada" }), "name"), "Ada");
});

test("argString rejects a missing argument", () => {
  assertApiError(() => argString(withArgs({}), "name"), 400, "api.assert.missing_argument", ["name"]);
});

test("argString rejects a number", () => {
  assertApiError(() => argString(withArgs({ name: 3 }), "name"), 400, "api.assert.invalid_type", [
    "name",
    "string",
  ]);
});

test("optionalArgString falls back when missing", () => {
  assert.equal(optionalArgString(withArgs({}), "name", "world"), "world");
  assert.equal(optionalArgString(withArgs({ name: null }), "name", "world"), "world");
  assert.equal(optionalArgString(withArgs({ name: "Ada" }), "name", "world"), "Ada");
});

test("argNumber accepts numeric strings", () => {
  assert.equal(argNumber(withArgs({ size: 10 }), "size"), 10);
  assert.equal(argNumber(withArgs({ size: "25" }), "size"), 25);
  assertApiError(() => argNumber(withArgs({ size: "ten" }), "size"), 400, "api.assert.invalid_type", [
    "size",
    "number",
  ]);
  assertApiError(() => argNumber(withArgs({ size: "" }), "size"), 400, "api.assert.invalid_type", [
    "size",
    "number",
  ]);
  assert.equal(optionalArgNumber(withArgs({}), "size", 5), 5);
});

test("argBoolean accepts query-string forms", () => {
  assert.equal(argBoolean(withArgs({ refresh: true }), "refresh"), true);
  assert.equal(argBoolean(withArgs({ refresh: "false" }), "refresh"), false);
  assert.equal(optionalArgBoolean(withArgs({ refresh: "" }), "refresh"), true);
  assert.equal(optionalArgBoolean(withArgs({}), "refresh"), false);
  assertApiError(() => argBoolean(withArgs({ refresh: "yes" }), "refresh"), 400, "api.assert.invalid_type", [
    "refresh",
    "boolean",
  ]);
});

test("argObject rejects arrays", () => {
  assert.deepEqual(argObject(withArgs({ filter: { a: 1 } }), "filter"), { a: 1 });
  assertApiError(() => argObject(withArgs({ filter: [1] }), "filter"), 400, "api.assert.invalid_type", [
    "filter",
    "object",
  ]);
});

test("body parses JSON and may be absent", () => {
  assert.equal(body(makeRequest()), undefined);
  assert.deepEqual(body(makeRequest({ body: '{"a":1}' })), { a: 1 });
  assertApiError(() => bodyObject(makeRequest()), 400, "api.assert.body_required", []);
  assertApiError(() => bodyObject(makeRequest({ body: "[1]" })), 400, "api.assert.invalid_type", [
    "body",
    "object",
  ]);
});

test("args rejects invalid JSON with 400", () => {
  assertApiError(() => argString(makeRequest({ args: "{" }), "name"), 400, "api.assert.invalid_argument", [
    "args",
  ]);
});
