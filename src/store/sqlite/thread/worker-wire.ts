/**
 * @module store/sqlite/thread/worker-wire
 *
 * The messages between {@link WorkerStore} (any thread) and the store worker (the thread that
 * owns the SQLite connection), on top of the ones every store thread uses (`../../thread/wire.ts`).
 * `SqliteError` crosses with its class, so `SQLITE_BUSY` is still a `SqliteError` on arrival.
 */
import Database from 'better-sqlite3';
import { knowErrorClass, type PipelineNotice } from '../../thread/wire.js';

export { decodeError, encodeError, revive, toWire, type CallMessage, type CallTarget, type Reply, type WireError } from '../../thread/wire.js';

knowErrorClass(Database.SqliteError as unknown as new (...args: never[]) => Error, 'SqliteError');

/** The parts of the store the main thread may call (`part.method`), besides the store's own methods. */
export const STORE_PARTS = ['journal', 'events', 'rejections', 'projections', 'deliveries', 'access', 'outbound', 'search'] as const;
export type StorePart = (typeof STORE_PARTS)[number];

/** Worker -> main, unprompted. */
export type Notice =
  /** The store is open; `methods` are, per part, the names its class (prototype chain) has. */
  | { op: 'ready'; methods: Record<string, string[]> }
  | PipelineNotice
  /** The journal now holds every inbox row up to `through`: the inbox may delete them. */
  | { op: 'imported'; through: number };
