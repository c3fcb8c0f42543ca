/**
 * @module store/sqlite/thread/worker-wire
 *
 * The messages between {@link WorkerStore} (any thread) and the store worker (the thread that
 * owns the SQLite connection), and the two things structured clone does not do for us:
 *
 * - Errors lose every property but `message` and `stack` (and their class). The store's
 *   callers classify failures by `code` (`SQLITE_BUSY` means "retry later", not "bad row"),
 *   so errors travel as plain records and are rebuilt with their class, name, code and cause.
 * - A `Buffer` arrives as a bare `Uint8Array`. It is turned back into a `Buffer` over the
 *   same memory (no copy), wherever it sits in plain objects and arrays.
 *
 * Everything else (numbers, bigints, strings, plain objects, arrays, Maps, Dates) is carried
 * by structured clone as is.
 */
import Database from 'better-sqlite3';
import { BluetickError, ConfigError, ExitError } from '../../../errors.js';
import type { BatchInfo } from '../../../pipeline.js';
import type { StoredEvent } from '../../store.js';

/** Which object in the worker a call is for. */
export type CallTarget = 'store' | 'pipeline' | 'worker';

/** The parts of the store the main thread may call (`part.method`), besides the store's own methods. */
export const STORE_PARTS = ['journal', 'events', 'rejections', 'projections', 'deliveries', 'access', 'outbound', 'search'] as const;
export type StorePart = (typeof STORE_PARTS)[number];

/** Main -> worker: call `method` on `on` with `args`; answered by a {@link Reply} with the same id. */
export interface CallMessage {
  id: number;
  on: CallTarget;
  /** `part.method` (`journal.claim`), or a method of the store itself (`counts`). */
  method: string;
  args: unknown[];
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

/** Worker -> main, unprompted. */
export type Notice =
  /** The store is open; `methods` are, per part, the names its class (prototype chain) has. */
  | { op: 'ready'; methods: Record<string, string[]> }
  /** The store could not be opened; the thread ends. */
  | { op: 'fatal'; error: WireError }
  | { op: 'batch'; info: BatchInfo; recorded: StoredEvent[] }
  | { op: 'log'; level: 'warn' | 'error'; obj: unknown; msg: string }
  /** The journal now holds every inbox row up to `through`: the inbox may delete them. */
  | { op: 'imported'; through: number }
  | { op: 'error'; error: WireError };

export interface WireError {
  /** The constructor's name, to rebuild the class when it is one we know. */
  kind: string;
  name: string;
  message: string;
  stack?: string;
  /** Own enumerable properties that survive structured clone (code, errno, ...). */
  props: Record<string, unknown>;
  cause?: WireError | { value: unknown };
}

/** Marks an error inside a plain object sent with {@link toWire}. */
const ERROR_TAG = '__bluetickWireError';

const ERROR_CLASSES: Record<string, new (...args: never[]) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  SqliteError: Database.SqliteError as unknown as new (...args: never[]) => Error,
  BluetickError,
  ConfigError,
  ExitError,
};

function cloneable(value: unknown): boolean {
  const t = typeof value;
  return value === null || t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint' || t === 'undefined';
}

/** An error (or anything thrown) as a record structured clone carries whole. */
export function encodeError(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) {
    return { kind: 'Error', name: 'Error', message: String(err), props: {} };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(err)) {
    if (key === 'message' || key === 'stack' || key === 'name' || key === 'cause') continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    if (cloneable(value)) props[key] = value;
    else if (Array.isArray(value) && value.every(cloneable)) props[key] = value.slice();
  }
  const wire: WireError = { kind: err.constructor?.name ?? 'Error', name: err.name, message: err.message, props };
  if (err.stack !== undefined) wire.stack = err.stack;
  if ('cause' in err && err.cause !== undefined) {
    if (err.cause instanceof Error && depth < 5) wire.cause = encodeError(err.cause, depth + 1);
    else if (cloneable(err.cause)) wire.cause = { value: err.cause };
  }
  return wire;
}

/** Rebuilds an error from {@link encodeError}: same class (when known), name, message, stack, properties and cause. */
export function decodeError(wire: WireError): Error {
  const cls = ERROR_CLASSES[wire.kind] ?? Error;
  const err = new Error(wire.message);
  if (cls !== Error) Object.setPrototypeOf(err, cls.prototype);
  if (err.name !== wire.name) {
    Object.defineProperty(err, 'name', { value: wire.name, writable: true, enumerable: false, configurable: true });
  }
  if (wire.stack !== undefined) {
    Object.defineProperty(err, 'stack', { value: wire.stack, writable: true, enumerable: false, configurable: true });
  }
  Object.assign(err, wire.props);
  if (wire.cause !== undefined) {
    const cause = 'kind' in wire.cause ? decodeError(wire.cause) : wire.cause.value;
    Object.defineProperty(err, 'cause', { value: cause, writable: true, enumerable: false, configurable: true });
  }
  return err;
}

/**
 * A log object (or any plain value) ready to post: errors inside plain objects and arrays
 * become tagged records. Values structured clone cannot carry (functions) are dropped.
 */
export function toWire(value: unknown, depth = 0): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { [ERROR_TAG]: encodeError(value) };
  if (depth > 8) return undefined;
  if (Array.isArray(value)) return value.map((v) => toWire(v, depth + 1));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = toWire((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/**
 * What arrived from the other thread, made whole again in place: `Uint8Array` -> `Buffer`
 * (same memory), tagged errors -> errors. Walks plain objects and arrays only.
 */
export function revive(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (depth > 32) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i] as unknown;
      if (v !== null && typeof v === 'object') value[i] = revive(v, depth + 1);
    }
    return value;
  }
  if (!isPlainObject(value)) return value;
  const record = value as Record<string, unknown>;
  const tagged = record[ERROR_TAG];
  if (tagged !== undefined) return decodeError(tagged as WireError);
  for (const key in record) {
    const v = record[key];
    if (v !== null && typeof v === 'object') record[key] = revive(v, depth + 1);
  }
  return record;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
