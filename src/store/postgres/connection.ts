/**
 * @module store/postgres/connection
 *
 * The `pg` side of a location (see ./url.ts): a pool whose connections run in the chosen
 * schema and read BIGINT columns as numbers, lease owner names, identifier quoting.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { PostgresLocation } from './url.js';

const INT8_OID = 20;
const parseInt8 = (value: string): number => Number(value);

/**
 * BIGINT (ids, seq, epoch ms, counts) as a JS number: every such value bluetick writes is
 * far below 2^53. Set per pool, never on `pg.types`, so other users of `pg` in the same
 * process keep their defaults.
 */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PoolOptions {
  /** Connections in the pool. Default 10. */
  max?: number;
  /** How long to wait for a connection (new or from the pool) before failing. Default 5000 ms. */
  connectionTimeoutMs?: number;
  onError?: (err: Error) => void;
}

export function createPool(location: PostgresLocation, opts: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: location.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    fallback_application_name: 'bluetick',
    keepAlive: true,
    types: PG_TYPES,
  });
  // An idle connection that breaks (server restart, network) is reported here; without a
  // listener the pool's 'error' event would crash the process.
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}

/** A process-wide unique owner name for leases: host, pid and a random part. */
export function leaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Double-quotes an identifier. */
export function ident(name: string): string {
  return pg.escapeIdentifier(name);
}
