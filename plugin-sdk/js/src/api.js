import { ApiError, toApiError } from "./errors.js";
import { apiCallRaw, httpSendRaw, logWrite, nowMsRaw, randomBytesRaw, settingsRaw } from "./host.js";
import { lentRequestOf } from "./request.js";

/**
 * Runs an API action through the host's `api.call`, like a client would, and returns its parsed
 * result. `payload` is a flat Kuzzle request object (`{ controller, action, index, ... }`).
 *
 * The call runs with the plugin's own rights unless `options.onBehalfOf` is the request being
 * handled, in which case it runs with the rights of that request's user. A denied right or a
 * failed action throws an ApiError.
 */
export function apiCall(payload, options = {}) {
  const { identity, current } = identityOf(options);
  let result;
  try {
    result = apiCallRaw(JSON.stringify(payload), identity, current);
  } catch (thrown) {
    throw toApiError(thrown);
  }
  return JSON.parse(result);
}

function identityOf(options) {
  if (options.onBehalfOf === undefined || options.onBehalfOf === null) {
    return { identity: "plugin", current: undefined };
  }
  return { identity: "current-user", current: lentRequestOf(options.onBehalfOf) };
}

/** Helpers over the `document` controller. Each takes `options.onBehalfOf` like `apiCall`. */
export const documents = {
  /** Returns the document `{ _id, _source, _version }`, or throws a 404 ApiError. */
  get(index, collection, id, options = {}) {
    return apiCall({ controller: "document", action: "get", index, collection, _id: id }, options);
  },

  /** Returns `{ successes, errors }` for the documents `ids`. */
  mGet(index, collection, ids, options = {}) {
    return apiCall(
      { controller: "document", action: "mGet", index, collection, body: { ids } },
      options,
    );
  },

  /** Creates a document and returns it. `options.id` sets its id, otherwise the server picks one. */
  create(index, collection, source, options = {}) {
    return apiCall(
      withDefined({ controller: "document", action: "create", index, collection, _id: options.id, body: source }),
      options,
    );
  },

  /** Creates or replaces the document `id` and returns it. */
  createOrReplace(index, collection, id, source, options = {}) {
    return apiCall(
      { controller: "document", action: "createOrReplace", index, collection, _id: id, body: source },
      options,
    );
  },

  /** Replaces the document `id`, which must exist, and returns it. */
  replace(index, collection, id, source, options = {}) {
    return apiCall(
      { controller: "document", action: "replace", index, collection, _id: id, body: source },
      options,
    );
  },

  /** Applies the partial `changes` to the document `id` and returns it. */
  update(index, collection, id, changes, options = {}) {
    return apiCall(
      { controller: "document", action: "update", index, collection, _id: id, body: changes },
      options,
    );
  },

  /** Deletes the document `id` and returns `{ _id }`. */
  delete(index, collection, id, options = {}) {
    return apiCall({ controller: "document", action: "delete", index, collection, _id: id }, options);
  },

  /** Returns whether the document `id` exists. */
  exists(index, collection, id, options = {}) {
    return apiCall({ controller: "document", action: "exists", index, collection, _id: id }, options);
  },

  /**
   * Runs `document:search` with `query` (the search body: `{ query, sort, aggregations }`) and
   * returns `{ hits, total, ... }`. `options.from` and `options.size` page the results.
   */
  search(index, collection, query = {}, options = {}) {
    return apiCall(
      withDefined({
        controller: "document",
        action: "search",
        index,
        collection,
        body: query,
        from: options.from,
        size: options.size,
      }),
      options,
    );
  },
};

/** Publishes `message` to the realtime subscribers of `index`/`collection` without storing it. */
export function publish(index, collection, message, options = {}) {
  return apiCall({ controller: "realtime", action: "publish", index, collection, body: message }, options);
}

/**
 * Writes to the server's log, tagged with the plugin's name. A message that is not a string is
 * written as JSON, and an Error as its name and message.
 */
export const log = {
  trace: (message) => logWrite("trace", formatLogMessage(message)),
  debug: (message) => logWrite("debug", formatLogMessage(message)),
  info: (message) => logWrite("info", formatLogMessage(message)),
  warn: (message) => logWrite("warn", formatLogMessage(message)),
  error: (message) => logWrite("error", formatLogMessage(message)),
};

function formatLogMessage(message) {
  if (typeof message === "string") {
    return message;
  }
  if (message instanceof Error) {
    return `${message.name}: ${message.message}`;
  }
  return JSON.stringify(message) ?? String(message);
}

/** Returns the host's clock, in milliseconds since the Unix epoch. */
export function nowMs() {
  return Number(nowMsRaw());
}

/**
 * Returns the plugin's settings: the parsed configuration object that `init` received. Every call
 * runs in a fresh instance, so handlers read their settings here.
 */
export function settings() {
  return JSON.parse(settingsRaw());
}

/** Returns `length` bytes from the host's cryptographically secure generator. */
export function randomBytes(length) {
  return randomBytesRaw(length);
}

/**
 * Sends an outbound HTTP request through the host, which only reaches the hosts the operator
 * allowed. `body` may be a string, a Uint8Array or a value to send as JSON. Returns
 * `{ status, headers, body, text(), json() }`; a refused host or a timeout throws an ApiError.
 */
export function httpSend({ method = "GET", url, headers = {}, body, timeoutMs = 10_000 }) {
  if (typeof url !== "string") {
    throw new ApiError(400, "api.assert.invalid_type", 'Wrong type for argument "url" (expected: string).', [
      "url",
      "string",
    ]);
  }
  const headerList = Array.isArray(headers) ? headers.map(([name, value]) => [name, String(value)]) : Object.entries(headers).map(([name, value]) => [name, String(value)]);
  let bytes;
  if (body === undefined) {
    bytes = new Uint8Array(0);
  } else if (body instanceof Uint8Array) {
    bytes = body;
  } else if (typeof body === "string") {
    bytes = new TextEncoder().encode(body);
  } else {
    bytes = new TextEncoder().encode(JSON.stringify(body));
    if (!headerList.some(([name]) => name.toLowerCase() === "content-type")) {
      headerList.push(["content-type", "application/json"]);
    }
  }

  let response;
  try {
    response = httpSendRaw({ method: method.toUpperCase(), url, headers: headerList, body: bytes, timeoutMs });
  } catch (thrown) {
    throw toApiError(thrown);
  }
  return {
    status: response.status,
    headers: response.headers,
    body: response.body,
    text: () => new TextDecoder().decode(response.body),
    json: () => JSON.parse(new TextDecoder().decode(response.body)),
  };
}

function withDefined(payload) {
  return Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined));
}
