/**
 * An error that reaches the client unchanged: the `api-error` record of the WIT package
 * `palisade:plugin`. Throw it from a controller action, a pipe or `init`.
 */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP-like status, such as 403.
   * @param {string} id Kuzzle catalogue id, such as `security.rights.forbidden`.
   * @param {string} message Message for the client.
   * @param {unknown[]} [props] Values the message names; each is converted to a string.
   */
  constructor(status, id, message, props = []) {
    super(message);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new TypeError(`ApiError status must be an integer from 100 to 599, got ${status}`);
    }
    this.name = "ApiError";
    this.status = status;
    this.id = String(id);
    this.props = props.map(String);
    // componentize-js turns an exception with an own `payload` property into the `err` case
    // of a `result`; any other Error traps the call.
    Object.defineProperty(this, "payload", {
      enumerable: false,
      get: () => this.toRecord(),
    });
  }

  /** Returns the error as the WIT `api-error` record. */
  toRecord() {
    return { status: this.status, id: this.id, message: this.message, props: [...this.props] };
  }

  /**
   * Builds an ApiError from a WIT `api-error` record, such as the payload of the exception an
   * import throws for its `err` case.
   */
  static fromRecord(record) {
    return new ApiError(record.status, record.id, record.message, record.props ?? []);
  }
}

/** Kuzzle catalogue id of the 500 error that replaces an exception other than an ApiError. */
export const UNEXPECTED_ERROR_ID = "plugin.runtime.unexpected_error";

/**
 * Converts anything a plugin function threw into an ApiError: an ApiError stays as it is, an
 * import's `err` payload becomes the same error, and anything else becomes a 500
 * `plugin.runtime.unexpected_error` naming the original message.
 */
export function toApiError(thrown) {
  if (thrown instanceof ApiError) {
    return thrown;
  }
  const payload = thrown !== null && typeof thrown === "object" ? thrown.payload : undefined;
  if (isApiErrorRecord(payload)) {
    return ApiError.fromRecord(payload);
  }
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new ApiError(500, UNEXPECTED_ERROR_ID, `Unexpected error in the plugin: ${message}`, [
    message,
  ]);
}

function isApiErrorRecord(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.status === "number" &&
    typeof value.id === "string" &&
    typeof value.message === "string"
  );
}
