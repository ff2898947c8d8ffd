// Fake host imports for the node tests. Each import records its calls in `calls` and runs the
// behaviour set in `behaviour`. `reset()` restores the defaults.

export const calls = [];
export const behaviour = {};

export function reset() {
  calls.length = 0;
  behaviour.call = () => "null";
  behaviour.send = () => ({ status: 200, headers: [], body: new Uint8Array(0) });
  behaviour.settings = () => "{}";
}
reset();

/** Builds the exception an import throws for the `err` case of its result, as componentize-js does. */
export function importError(record) {
  const error = new Error(`${record.message} (see error.payload)`);
  Object.defineProperty(error, "payload", { value: record, enumerable: true });
  return error;
}

export function write(level, message) {
  calls.push({ import: "log.write", level, message });
}

export function call(payload, identity, current) {
  calls.push({ import: "api.call", payload: JSON.parse(payload), identity, current });
  return behaviour.call(payload, identity, current);
}

export function send(request) {
  calls.push({ import: "http.send", request });
  return behaviour.send(request);
}

export function nowMs() {
  return 1_700_000_000_123n;
}

export function settings() {
  return behaviour.settings();
}

export function randomBytes(length) {
  return new Uint8Array(length).fill(7);
}
