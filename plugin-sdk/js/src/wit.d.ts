// TypeScript declarations of the WIT package `palisade:plugin@0.1.0` (`wit/` at the repository
// root), in the shapes componentize-js uses: records as objects with camelCase fields, enums as
// their kebab-case names, `option<T>` as `T | undefined`, `u64` as `bigint`, `list<u8>` as
// `Uint8Array`. A `result<T, E>` returns `T` and throws for `E`.
// Written by hand because `jco guest-types` 1.x fails to read a WIT folder here;
// test/wit-types.test.js checks that every record, field, enum case and function is declared.

/** `types.user`: the user a request runs as. */
export interface User {
  /** The user's kuid; `-1` is the anonymous user. */
  id: string;
  profileIds: string[];
}

/**
 * `types.request`: the resource of an API request, which the host lends to one call of a
 * controller action, a pipe or a hook. `src/request.js` turns it into the `Request` object that
 * handlers receive.
 */
export interface LentRequest {
  requestId(): string;
  controller(): string;
  action(): string;
  /** Every argument of the request as a JSON object. */
  args(): string;
  /** The request body as JSON, if any. */
  body(): string | undefined;
  /** The client's volatile data as a JSON object, if any. */
  volatile(): string | undefined;
  user(): User;
  /** `http`, `websocket` or `internal`. */
  protocol(): string;
  connectionId(): string;
  /** Every part in one call. */
  parts(): RequestParts;
}

/** `types.request-parts`: every part of a request, as `request.parts` returns them. */
export interface RequestParts {
  requestId: string;
  controller: string;
  action: string;
  args: string;
  body: string | undefined;
  volatile: string | undefined;
  user: User;
  protocol: string;
  connectionId: string;
}

/** A request as handlers receive it: the fields of `LentRequest`, each read on first access. */
export interface Request {
  readonly requestId: string;
  readonly controller: string;
  readonly action: string;
  /** Every argument of the request as a JSON object. */
  readonly args: string;
  /** The request body as JSON, if any. */
  readonly body: string | undefined;
  /** The client's volatile data as a JSON object, if any. */
  readonly volatile: string | undefined;
  readonly user: User;
  /** `http`, `websocket` or `internal`. */
  readonly protocol: string;
  readonly connectionId: string;
}

/** `types.response`: a successful action result. */
export interface Response {
  status: number;
  /** The result as JSON. */
  result: string;
  headers: [string, string][];
}

/** `types.api-error`: an error returned to the client unchanged. */
export interface ApiErrorRecord {
  status: number;
  id: string;
  message: string;
  props: string[];
}

/** `types.http-route`: an HTTP route of a plugin action. */
export interface HttpRoute {
  verb: string;
  path: string;
}

/** `types.action`: one action of a plugin controller. */
export interface Action {
  name: string;
  http: HttpRoute[];
}

/** `types.controller`: a controller the plugin adds to the API. */
export interface Controller {
  name: string;
  actions: Action[];
}

/** `types.strategy`: an authentication strategy the plugin provides. */
export interface Strategy {
  name: string;
  fields: string[];
}

/** `types.manifest`: what a plugin adds to the server, returned by `init`. */
export interface Manifest {
  name: string;
  version: string;
  controllers: Controller[];
  pipes: string[];
  hooks: string[];
  strategies: Strategy[];
}

/** `log.level`. */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

/** `api.identity`: whose rights an API call uses. */
export type Identity = "plugin" | "current-user";

/** `http.outgoing-request`. */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array;
  timeoutMs: number;
}

/** `http.incoming-response`. */
export interface IncomingResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** The `lifecycle` export. */
export interface LifecycleExport {
  init(config: string): Manifest;
}

/** The `controller` export. */
export interface ControllerExport {
  handle(request: LentRequest): Response;
}

/** The `pipe` export. */
export interface PipeExport {
  run(event: string, request: LentRequest, payload: string): string;
}

/** The `hook` export. */
export interface HookExport {
  observe(event: string, request: LentRequest, payload: string): void;
}

/** The imports, as `src/host.js` calls them. */
export interface LogImport {
  write(level: Level, message: string): void;
}
export interface ApiImport {
  call(payload: string, identity: Identity, current: LentRequest | undefined): string;
}
export interface HttpImport {
  send(request: OutgoingRequest): IncomingResponse;
}
export interface EnvironmentImport {
  nowMs(): bigint;
  randomBytes(length: number): Uint8Array;
  settings(): string;
}
