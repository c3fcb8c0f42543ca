/**
 * @module store/thread/wire
 *
 * The messages between a thread's owner (the main thread) and a thread bluetick starts for
 * a store (the SQLite store's thread, the PostgreSQL pipeline's thread), and the two things
 * structured clone does not do for us:
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
import { BluetickError, ConfigError, ExitError } from '../../errors.js';
import type { BatchInfo } from '../../pipeline.js';
import type { StoredEvent } from '../store.js';

/** Which object in the thread a call is for. */
export type CallTarget = 'store' | 'pipeline' | 'worker';

/** Main -> thread: call `method` on `on` with `args`; answered by a {@link Reply} with the same id. */
export interface CallMessage {
  id: number;
  on: CallTarget;
  /** `part.method` (`journal.claim`), or a method of the store itself (`counts`). */
  method: string;
  args: unknown[];
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

/** Thread -> main, unprompted, whatever the thread: its pipeline's batches and log lines, its problems. */
export type PipelineNotice =
  | { op: 'batch'; info: BatchInfo; recorded: StoredEvent[] }
  | { op: 'log'; level: 'warn' | 'error'; obj: unknown; msg: string }
  /** A problem off any call (a broken idle connection, a failed checkpoint). */
  | { op: 'error'; error: WireError }
  /** The thread could not open what it owns; it ends. */
  | { op: 'fatal'; error: WireError };

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

type ErrorClass = new (...args: never[]) => Error;

const ERROR_CLASSES = new Map<string, ErrorClass>(
  [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, BluetickError, ConfigError, ExitError].map(
    (cls) => [cls.name, cls as ErrorClass],
  ),
);

/**
 * Lets {@link decodeError} rebuild errors of `cls` (by its constructor name) in this thread.
 * A backend registers its driver's error class where it is loaded, so a thread that never
 * loads that driver does not load it for this either.
 */
export function knowErrorClass(cls: ErrorClass, name = cls.name): void {
  ERROR_CLASSES.set(name, cls);
}

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
  const cls = ERROR_CLASSES.get(wire.kind) ?? Error;
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
