import { ApiError, toApiError } from "./errors.js";
import { fromHost } from "./request.js";

/** A controller action's result with a status or headers other than 200 and none. */
export class Reply {
  /**
   * @param {unknown} result The result, sent as JSON.
   * @param {{ status?: number, headers?: Record<string, string> | [string, string][] }} [options]
   */
  constructor(result, { status = 200, headers = {} } = {}) {
    this.result = result;
    this.status = status;
    this.headers = Array.isArray(headers) ? headers : Object.entries(headers);
  }
}

/** Returns a controller action's result with its own status or headers. */
export function reply(result, options) {
  return new Reply(result, options);
}

/**
 * Builds the four interfaces a plugin component exports (`lifecycle`, `controller`, `pipe`,
 * `hook`) from plain functions, and derives the manifest from them.
 *
 * - `manifest`: `{ name, version, strategies? }`.
 * - `init(config)`: optional, called with the parsed configuration object. Throwing an ApiError
 *   keeps the plugin from loading.
 * - `controllers`: `{ controllerName: { actionName: handler } }`, where a handler is
 *   `(request) => result` or `{ handler, http: [{ verb, path }] }` to add HTTP routes. The result
 *   is sent as JSON with status 200, or as given by `reply(result, { status, headers })`.
 * - `pipes`: `{ event: (payload, request, event) => payload }`. The payload is parsed JSON.
 *   Returning `undefined` passes the payload on unchanged.
 * - `hooks`: `{ event: (payload, request, event) => void }`. Failures are logged by the host.
 *
 * Event names may contain `*` wildcards, such as `document:before*`. An exact name wins over a
 * wildcard. Handlers must be synchronous: a returned Promise is an error, because exports are
 * synchronous calls.
 *
 * The host runs each call in a fresh instance, so nothing that `init` or a handler stores in
 * module state is visible to later calls. Handlers read the configuration with `settings()`.
 */
export function definePlugin(spec) {
  const manifest = buildManifest(spec);
  const controllers = spec.controllers ?? {};
  const pipes = eventTable(spec.pipes ?? {}, "pipes");
  const hooks = eventTable(spec.hooks ?? {}, "hooks");

  return {
    manifest,

    lifecycle: {
      init(configJson) {
        return guard(() => {
          if (spec.init !== undefined) {
            const config = configJson.trim() === "" ? {} : JSON.parse(configJson);
            checkSynchronous(spec.init(config), "init");
          }
          return manifest;
        });
      },
    },

    controller: {
      handle(lent) {
        return guard(() => {
          const request = fromHost(lent);
          const actions = Object.hasOwn(controllers, request.controller)
            ? controllers[request.controller]
            : undefined;
          const action = actions !== undefined && Object.hasOwn(actions, request.action) ? actions[request.action] : undefined;
          if (action === undefined) {
            throw new ApiError(
              404,
              "api.process.action_not_found",
              `API action "${request.controller}":"${request.action}" not found.`,
              [request.controller, request.action],
            );
          }
          const handler = typeof action === "function" ? action : action.handler;
          const value = checkSynchronous(handler(request), `${request.controller}:${request.action}`);
          return toResponse(value);
        });
      },
    },

    pipe: {
      run(event, lent, payloadJson) {
        return guard(() => {
          const handler = pipes.find(event);
          if (handler === undefined) {
            return payloadJson;
          }
          const payload = JSON.parse(payloadJson);
          const value = checkSynchronous(handler(payload, fromHost(lent), event), `pipe ${event}`);
          return value === undefined ? payloadJson : JSON.stringify(value);
        });
      },
    },

    hook: {
      observe(event, lent, payloadJson) {
        const handler = hooks.find(event);
        if (handler !== undefined) {
          // A hook has no error channel: an exception traps the call and the host logs it.
          checkSynchronous(handler(JSON.parse(payloadJson), fromHost(lent), event), `hook ${event}`);
        }
      },
    },
  };
}

function buildManifest(spec) {
  const { name, version, strategies = [] } = spec.manifest ?? {};
  if (typeof name !== "string" || name === "") {
    throw new TypeError("definePlugin: manifest.name must be a non-empty string");
  }
  if (typeof version !== "string" || version === "") {
    throw new TypeError("definePlugin: manifest.version must be a non-empty string");
  }
  const controllers = Object.entries(spec.controllers ?? {}).map(([controllerName, actions]) => ({
    name: controllerName,
    actions: Object.entries(actions).map(([actionName, action]) => {
      if (typeof action !== "function" && typeof action?.handler !== "function") {
        throw new TypeError(
          `definePlugin: action ${controllerName}:${actionName} must be a function or { handler, http }`,
        );
      }
      const http = typeof action === "function" ? [] : (action.http ?? []);
      return { name: actionName, http: http.map(({ verb, path }) => ({ verb: verb.toUpperCase(), path })) };
    }),
  }));
  return {
    name,
    version,
    controllers,
    pipes: Object.keys(spec.pipes ?? {}),
    hooks: Object.keys(spec.hooks ?? {}),
    strategies: strategies.map(({ name: strategyName, fields = [] }) => ({ name: strategyName, fields })),
  };
}

/** Maps event names to handlers; names with `*` match any run of characters. */
function eventTable(handlers, kind) {
  const exact = new Map();
  const wildcards = [];
  for (const [pattern, handler] of Object.entries(handlers)) {
    if (typeof handler !== "function") {
      throw new TypeError(`definePlugin: ${kind}["${pattern}"] must be a function`);
    }
    if (pattern.includes("*")) {
      const source = pattern.split("*").map(escapeRegExp).join(".*");
      wildcards.push({ regex: new RegExp(`^${source}$`), handler });
    } else {
      exact.set(pattern, handler);
    }
  }
  return {
    find(event) {
      return exact.get(event) ?? wildcards.find(({ regex }) => regex.test(event))?.handler;
    },
  };
}

function escapeRegExp(text) {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

function toResponse(value) {
  const reply = value instanceof Reply ? value : new Reply(value);
  return {
    status: reply.status,
    result: JSON.stringify(reply.result ?? null),
    headers: reply.headers.map(([name, headerValue]) => [name, String(headerValue)]),
  };
}

function checkSynchronous(value, handlerName) {
  if (value !== null && typeof value === "object" && typeof value.then === "function") {
    throw new ApiError(
      500,
      "plugin.runtime.unexpected_error",
      `${handlerName} returned a Promise, but plugin functions must be synchronous.`,
      [handlerName],
    );
  }
  return value;
}

/** Runs `body`, converting every exception into an ApiError for the export's `err` case. */
function guard(body) {
  try {
    return body();
  } catch (thrown) {
    throw toApiError(thrown);
  }
}
