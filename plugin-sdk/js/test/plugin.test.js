import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, argString, definePlugin, reply } from "../src/index.js";
import { hostRequest } from "./helpers.js";

// Runs `run` and returns the `payload` of the exception it throws, as componentize-js would read
// it for the `err` case of the export's result.
function errPayload(run) {
  try {
    run();
  } catch (thrown) {
    assert.ok(Object.hasOwn(thrown, "payload"), "the exception must carry an own payload property");
    return thrown.payload;
  }
  assert.fail("expected the call to throw");
}

const plugin = definePlugin({
  manifest: { name: "greeter", version: "1.2.3" },
  controllers: {
    greeting: {
      sayHello: (request) => ({ message: `Hello, ${argString(request, "name")}!` }),
      create: {
        handler: () => reply({ created: true }, { status: 201, headers: { location: "/greetings/1" } }),
        http: [{ verb: "post", path: "greetings" }],
      },
      crash: () => {
        throw new TypeError("boom");
      },
      later: async () => ({}),
    },
  },
  pipes: {
    "document:beforeCreate": (payload) => ({ ...payload, stamped: true }),
    "document:before*": () => ({ wildcard: true }),
    "document:afterGet": () => undefined,
    "document:afterDelete": () => {
      throw new ApiError(403, "security.rights.forbidden", "No.", ["x"]);
    },
  },
  hooks: {
    "document:afterCreate": () => {},
  },
});

test("manifest lists controllers, pipes and hooks", () => {
  const manifest = plugin.lifecycle.init("{}");
  assert.deepEqual(manifest, {
    name: "greeter",
    version: "1.2.3",
    controllers: [
      {
        name: "greeting",
        actions: [
          { name: "sayHello", http: [] },
          { name: "create", http: [{ verb: "POST", path: "greetings" }] },
          { name: "crash", http: [] },
          { name: "later", http: [] },
        ],
      },
    ],
    pipes: ["document:beforeCreate", "document:before*", "document:afterGet", "document:afterDelete"],
    hooks: ["document:afterCreate"],
    strategies: [],
  });
});

test("init rejection returns the error", () => {
  const refusing = definePlugin({
    manifest: { name: "strict", version: "1.0.0" },
    init: (config) => {
      if (config.apiKey === undefined) {
        throw new ApiError(400, "plugin.strict.missing_setting", 'Missing setting "apiKey".', ["apiKey"]);
      }
    },
  });
  assert.deepEqual(errPayload(() => refusing.lifecycle.init("{}")), {
    status: 400,
    id: "plugin.strict.missing_setting",
    message: 'Missing setting "apiKey".',
    props: ["apiKey"],
  });
  assert.equal(refusing.lifecycle.init('{"apiKey":"k"}').name, "strict");
});

test("handle returns the result as JSON", () => {
  const response = plugin.controller.handle(
    hostRequest({ controller: "greeting", action: "sayHello", args: '{"name":"Ada"}' }),
  );
  assert.deepEqual(response, { status: 200, result: '{"message":"Hello, Ada!"}', headers: [] });
});

test("handle applies a reply's status and headers", () => {
  const response = plugin.controller.handle(hostRequest({ controller: "greeting", action: "create" }));
  assert.deepEqual(response, {
    status: 201,
    result: '{"created":true}',
    headers: [["location", "/greetings/1"]],
  });
});

test("handle returns argument errors", () => {
  const payload = errPayload(() =>
    plugin.controller.handle(hostRequest({ controller: "greeting", action: "sayHello" })),
  );
  assert.equal(payload.status, 400);
  assert.equal(payload.id, "api.assert.missing_argument");
});

test("handle rejects an unknown action with 404", () => {
  for (const [controller, action] of [
    ["greeting", "nope"],
    ["other", "sayHello"],
    ["greeting", "toString"],
  ]) {
    const payload = errPayload(() => plugin.controller.handle(hostRequest({ controller, action })));
    assert.equal(payload.status, 404, `${controller}:${action}`);
    assert.equal(payload.id, "api.process.action_not_found");
  }
});

test("handle turns an exception into a 500", () => {
  const payload = errPayload(() => plugin.controller.handle(hostRequest({ controller: "greeting", action: "crash" })));
  assert.equal(payload.status, 500);
  assert.equal(payload.id, "plugin.runtime.unexpected_error");
  assert.match(payload.message, /boom/);
});

test("handle rejects an async handler", () => {
  const payload = errPayload(() => plugin.controller.handle(hostRequest({ controller: "greeting", action: "later" })));
  assert.equal(payload.status, 500);
  assert.match(payload.message, /synchronous/);
});

test("pipe run dispatches exact before wildcard", () => {
  const request = hostRequest();
  assert.deepEqual(JSON.parse(plugin.pipe.run("document:beforeCreate", request, '{"a":1}')), {
    a: 1,
    stamped: true,
  });
  assert.deepEqual(JSON.parse(plugin.pipe.run("document:beforeUpdate", request, '{"a":1}')), {
    wildcard: true,
  });
});

test("pipe run passes unknown events and undefined through", () => {
  const request = hostRequest();
  assert.equal(plugin.pipe.run("realtime:beforePublish", request, '{"a" : 1}'), '{"a" : 1}');
  assert.equal(plugin.pipe.run("document:afterGet", request, '[{"_id":"x"}]'), '[{"_id":"x"}]');
});

test("request read only when used", () => {
  const lent = hostRequest();
  plugin.pipe.run("realtime:beforePublish", lent, "{}");
  plugin.pipe.run("document:beforeCreate", lent, "{}");
  assert.deepEqual(lent.reads, []);

  assert.equal(errPayload(() => plugin.controller.handle(lent)).status, 400);
  assert.deepEqual(lent.reads, ["parts"], "one call to the host reads every part");
});

test("pipe run returns the ApiError unchanged", () => {
  assert.deepEqual(errPayload(() => plugin.pipe.run("document:afterDelete", hostRequest(), "{}")), {
    status: 403,
    id: "security.rights.forbidden",
    message: "No.",
    props: ["x"],
  });
});

test("hook observe runs the hook", () => {
  assert.equal(plugin.hook.observe("document:afterCreate", hostRequest(), "{}"), undefined);
  assert.equal(plugin.hook.observe("unknown:event", hostRequest(), "{}"), undefined);
});

test("definePlugin validates the manifest", () => {
  assert.throws(() => definePlugin({ manifest: { version: "1" } }), /manifest.name/);
  assert.throws(() => definePlugin({ manifest: { name: "x" } }), /manifest.version/);
  assert.throws(
    () => definePlugin({ manifest: { name: "x", version: "1" }, controllers: { c: { a: 3 } } }),
    /c:a/,
  );
});

test("ApiError rejects an invalid status", () => {
  assert.throws(() => new ApiError(42, "x", "y"), /status/);
});
