import type {
  ApiErrorRecord,
  ControllerExport,
  HookExport,
  HttpRoute,
  LifecycleExport,
  Manifest,
  PipeExport,
  Request,
} from "./wit.js";

export type * from "./wit.js";

/** JSON values as `JSON.parse` returns them. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An error that reaches the client unchanged. */
export class ApiError extends Error {
  constructor(status: number, id: string, message: string, props?: unknown[]);
  readonly status: number;
  readonly id: string;
  readonly props: string[];
  toRecord(): ApiErrorRecord;
  static fromRecord(record: ApiErrorRecord): ApiError;
}
export const UNEXPECTED_ERROR_ID: "plugin.runtime.unexpected_error";
export function toApiError(thrown: unknown): ApiError;

export function args(request: Request): Record<string, JsonValue>;
export function body(request: Request): JsonValue | undefined;
export function bodyObject(request: Request): Record<string, JsonValue>;
export function volatile(request: Request): Record<string, JsonValue>;
export function argString(request: Request, name: string): string;
export function optionalArgString<F = undefined>(request: Request, name: string, fallback?: F): string | F;
export function argNumber(request: Request, name: string): number;
export function optionalArgNumber<F = undefined>(request: Request, name: string, fallback?: F): number | F;
export function argBoolean(request: Request, name: string): boolean;
export function optionalArgBoolean(request: Request, name: string, fallback?: boolean): boolean;
export function argObject(request: Request, name: string): Record<string, JsonValue>;
export function argArray(request: Request, name: string): JsonValue[];

/** A controller action's result with its own status or headers. */
export class Reply {
  constructor(result: unknown, options?: ReplyOptions);
  readonly result: unknown;
  readonly status: number;
  readonly headers: [string, string][];
}
export interface ReplyOptions {
  status?: number;
  headers?: Record<string, string> | [string, string][];
}
export function reply(result: unknown, options?: ReplyOptions): Reply;

export type ActionHandler = (request: Request) => unknown;
export type PipeHandler = (payload: any, request: Request, event: string) => unknown;
export type HookHandler = (payload: any, request: Request, event: string) => void;

export interface PluginSpec {
  manifest: { name: string; version: string; strategies?: { name: string; fields?: string[] }[] };
  init?: (config: Record<string, JsonValue>) => void;
  controllers?: Record<string, Record<string, ActionHandler | { handler: ActionHandler; http?: HttpRoute[] }>>;
  pipes?: Record<string, PipeHandler>;
  hooks?: Record<string, HookHandler>;
}

/** The four exports of a plugin component, and the manifest `init` returns. */
export interface PluginExports {
  manifest: Manifest;
  lifecycle: LifecycleExport;
  controller: ControllerExport;
  pipe: PipeExport;
  hook: HookExport;
}
export function definePlugin(spec: PluginSpec): PluginExports;

/** Whose rights an API call uses: the plugin's, unless `onBehalfOf` is the request being handled. */
export interface CallOptions {
  onBehalfOf?: Request;
}
export function apiCall(payload: Record<string, unknown>, options?: CallOptions): any;

export const documents: {
  get(index: string, collection: string, id: string, options?: CallOptions): any;
  mGet(index: string, collection: string, ids: string[], options?: CallOptions): any;
  create(index: string, collection: string, source: object, options?: CallOptions & { id?: string }): any;
  createOrReplace(index: string, collection: string, id: string, source: object, options?: CallOptions): any;
  replace(index: string, collection: string, id: string, source: object, options?: CallOptions): any;
  update(index: string, collection: string, id: string, changes: object, options?: CallOptions): any;
  delete(index: string, collection: string, id: string, options?: CallOptions): any;
  exists(index: string, collection: string, id: string, options?: CallOptions): boolean;
  search(
    index: string,
    collection: string,
    query?: object,
    options?: CallOptions & { from?: number; size?: number },
  ): any;
};
export function publish(index: string, collection: string, message: object, options?: CallOptions): any;

export const log: Record<"trace" | "debug" | "info" | "warn" | "error", (message: unknown) => void>;
export function nowMs(): number;
export function randomBytes(length: number): Uint8Array;
/** The plugin's settings: the configuration object that `init` received. */
export function settings(): Record<string, JsonValue>;

export interface HttpSendOptions {
  method?: string;
  url: string;
  headers?: Record<string, string> | [string, string][];
  body?: string | Uint8Array | JsonValue;
  timeoutMs?: number;
}
export interface HttpResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  text(): string;
  json(): any;
}
export function httpSend(options: HttpSendOptions): HttpResponse;
