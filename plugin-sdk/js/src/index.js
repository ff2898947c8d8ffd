export { ApiError, UNEXPECTED_ERROR_ID, toApiError } from "./errors.js";
export {
  args,
  argArray,
  argBoolean,
  argNumber,
  argObject,
  argString,
  body,
  bodyObject,
  optionalArgBoolean,
  optionalArgNumber,
  optionalArgString,
  volatile,
} from "./request.js";
export { Reply, definePlugin, reply } from "./plugin.js";
export { apiCall, documents, httpSend, log, nowMs, publish, randomBytes, settings } from "./api.js";
