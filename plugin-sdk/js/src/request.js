import { ApiError } from "./errors.js";

// Parsed `args` and `body` of each request, so several helpers on one request parse once.
const parsedArgs = new WeakMap();
const parsedBodies = new WeakMap();

/**
 * The request object that handlers receive, over the `request` resource that the host lent to
 * the current call: `requestId`, `controller`, `action`, `args`, `body`, `volatile`, `user`,
 * `protocol` and `connectionId`. The first read of any field fetches them all in one call to the
 * host, because each call from the JavaScript engine costs more than the parts it carries. A pipe
 * or hook that does not look at the request pays for none of it. The getters live on the class,
 * so building a request per call defines no property.
 */
class LentRequest {
  #lent;
  #parts;

  constructor(lent) {
    this.#lent = lent;
  }

  static lentOf(request) {
    return #lent in request ? request.#lent : undefined;
  }

  #read() {
    this.#parts ??= this.#lent.parts();
    return this.#parts;
  }

  get requestId() {
    return this.#read().requestId;
  }

  get controller() {
    return this.#read().controller;
  }

  get action() {
    return this.#read().action;
  }

  get args() {
    return this.#read().args;
  }

  get body() {
    return this.#read().body;
  }

  get volatile() {
    return this.#read().volatile;
  }

  get user() {
    return this.#read().user;
  }

  get protocol() {
    return this.#read().protocol;
  }

  get connectionId() {
    return this.#read().connectionId;
  }

  /** Returns every field, for `JSON.stringify` and logs. */
  toJSON() {
    return { ...this.#read() };
  }
}

/** Wraps the `request` resource that the host lent to the current call; see `LentRequest`. */
export function fromHost(lent) {
  return new LentRequest(lent);
}

/**
 * Returns the host's resource behind a request object that a handler received, or throws a 400
 * error for any other value: only the request being handled can lend its user's rights.
 */
export function lentRequestOf(request) {
  const lent = request !== null && typeof request === "object" ? LentRequest.lentOf(request) : undefined;
  if (lent === undefined) {
    throw new ApiError(
      400,
      "api.assert.invalid_argument",
      'Invalid argument "onBehalfOf": pass the request object the handler received.',
      ["onBehalfOf"],
    );
  }
  return lent;
}

/** Returns the arguments of `request` (the `args` JSON object) as an object. */
export function args(request) {
  let value = parsedArgs.get(request);
  if (value === undefined) {
    value = parseJsonObject(request.args, "args");
    parsedArgs.set(request, value);
  }
  return value;
}

/** Returns the parsed body of `request`, or `undefined` if it has none. */
export function body(request) {
  if (request.body === undefined || request.body === null) {
    return undefined;
  }
  if (!parsedBodies.has(request)) {
    parsedBodies.set(request, parseJson(request.body, "body"));
  }
  return parsedBodies.get(request);
}

/** Returns the parsed volatile data of `request`, or an empty object if it has none. */
export function volatile(request) {
  if (request.volatile === undefined || request.volatile === null) {
    return {};
  }
  return parseJsonObject(request.volatile, "volatile");
}

/** Returns the string argument `name`, or throws a 400 error if it is missing or not a string. */
export function argString(request, name) {
  return requiredArg(request, name, "string", (value) => typeof value === "string");
}

/** Returns the string argument `name`, `fallback` if it is missing, or throws a 400 error. */
export function optionalArgString(request, name, fallback = undefined) {
  return optionalArg(request, name, fallback, "string", (value) => typeof value === "string");
}

/**
 * Returns the number argument `name`, or throws a 400 error. A numeric string, as the query
 * string of an HTTP request gives, is accepted and converted.
 */
export function argNumber(request, name) {
  const value = requiredArg(request, name, "number", isNumberLike);
  return Number(value);
}

/** Returns the number argument `name`, `fallback` if it is missing, or throws a 400 error. */
export function optionalArgNumber(request, name, fallback = undefined) {
  const value = optionalArg(request, name, undefined, "number", isNumberLike);
  return value === undefined ? fallback : Number(value);
}

/**
 * Returns the boolean argument `name`, or throws a 400 error. The strings `"true"` and
 * `"false"`, as the query string of an HTTP request gives, are accepted and converted.
 */
export function argBoolean(request, name) {
  return toBoolean(requiredArg(request, name, "boolean", isBooleanLike));
}

/**
 * Returns the boolean argument `name`, `fallback` if it is missing, or throws a 400 error. An
 * argument given without a value (`?refresh` in a query string) is `true`.
 */
export function optionalArgBoolean(request, name, fallback = false) {
  const value = optionalArg(request, name, undefined, "boolean", isBooleanLike);
  return value === undefined ? fallback : toBoolean(value);
}

/** Returns the object argument `name`, or throws a 400 error. */
export function argObject(request, name) {
  return requiredArg(request, name, "object", isPlainObject);
}

/** Returns the array argument `name`, or throws a 400 error. */
export function argArray(request, name) {
  return requiredArg(request, name, "array", Array.isArray);
}

/** Returns the request's body as an object, or throws a 400 error if it is missing or not one. */
export function bodyObject(request) {
  const value = body(request);
  if (value === undefined) {
    throw new ApiError(400, "api.assert.body_required", "The request must specify a body.");
  }
  if (!isPlainObject(value)) {
    throw new ApiError(400, "api.assert.invalid_type", 'Wrong type for argument "body" (expected: object).', [
      "body",
      "object",
    ]);
  }
  return value;
}

function requiredArg(request, name, expected, check) {
  const value = args(request)[name];
  if (value === undefined || value === null) {
    throw new ApiError(400, "api.assert.missing_argument", `Missing argument "${name}".`, [name]);
  }
  if (!check(value)) {
    throw invalidType(name, expected);
  }
  return value;
}

function optionalArg(request, name, fallback, expected, check) {
  const value = args(request)[name];
  if (value === undefined || value === null) {
    return fallback;
  }
  if (!check(value)) {
    throw invalidType(name, expected);
  }
  return value;
}

function invalidType(name, expected) {
  return new ApiError(
    400,
    "api.assert.invalid_type",
    `Wrong type for argument "${name}" (expected: ${expected}).`,
    [name, expected],
  );
}

function isNumberLike(value) {
  if (typeof value === "number") {
    return Number.isFinite(value);
  }
  return typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value));
}

function isBooleanLike(value) {
  return typeof value === "boolean" || value === "true" || value === "false" || value === "";
}

function toBoolean(value) {
  return value === true || value === "true" || value === "";
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function parseJson(text, field) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "api.assert.invalid_argument", `The request's ${field} is not valid JSON: ${error.message}`, [
      field,
    ]);
  }
}

function parseJsonObject(text, field) {
  const value = parseJson(text, field);
  if (!isPlainObject(value)) {
    throw invalidType(field, "object");
  }
  return value;
}
