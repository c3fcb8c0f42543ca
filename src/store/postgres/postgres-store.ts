/**
 * @module store/postgres/postgres-store
 *
 * The scale-out backend: many `bluetick serve` processes share one PostgreSQL database (one
 * schema of it). Everything a process must agree on with the others lives in the database:
 *
 * - Ingest: one multi-row INSERT per group commit, in autocommit (one statement, one commit,
 *   synchronous_commit as the server has it); the promise resolves after the commit. Appends
 *   made while every commit slot is busy are merged into the next INSERT (./group-commit.ts).
 * - Pipeline claims are leases in the rows (`claimed_by`, `claimed_until` on the database
 *   clock), taken with `FOR UPDATE SKIP LOCKED`, so processes never wait on each other's
 *   rows and a process that died leaves rows that someone else takes once the lease expires.
 *   A process releases its leases when a batch fails and when it closes. Should a lease run
 *   out while its batch is still being recorded, the row is recorded by whichever process
 *   commits first; the other one's outcome for it is dropped (it is no longer pending).
 * - Dedup is the unique key on `events.id` (`INSERT ... ON CONFLICT DO NOTHING`): when two
 *   processes normalize the same redelivered POST, each event is stored once and the other
 *   row counts as a duplicate.
 * - Event-writing transactions take one transaction-scoped advisory lock, so `seq` values
 *   become visible in order. Without it, a reader paging by `seq` (the API, a live stream)
 *   could pass a seq whose transaction commits a moment later and never see that event.
 *   Normalizing (the CPU part) still runs in every process in parallel.
 * - Wake-ups: after a journal commit and inside an event-writing transaction a NOTIFY tells
 *   the other processes to look now (`subscribe`), see ./notify.ts.
 *
 * Failure modes: the database unreachable makes `appendJournal` reject (ingest answers 503)
 * within the pool's connection timeout; a connection dropped mid-transaction rolls back on
 * the server, so nothing half-written is ever visible.
 */
import { PostgresErasure } from './erasure.js';
import { INDEXER_LOCK } from './search.js';
import { PostgresRetention } from './retention.js';
import type { PruneBatchResult, PruneRequest } from '../../retention/policy.js';
import type { ErasureReceipt } from '../erasure.js';
import pg from 'pg';
import { buildUsage, EVENT_SAMPLE_ROWS, type StorageUsage } from '../usage.js';
import { serializeEvent } from '../../events/normalize.js';
import type { BluetickEvent } from '../../events/types.js';
import type { ContactRow, ConversationRow, MessageRow, ReactionRow, TemplateRow } from '../../projections/index.js';
import type { ConsentRow } from '../../projections/index.js';
import type { ConsentFilter, HealthKind, HealthRow } from '../projections.js';
import { BluetickError } from '../../errors.js';
import { loadMigrations, runMigrations, SCHEMA_MIGRATIONS_DDL, type Migration, type MigrationTarget } from '../migrate.js';
import {
  JOURNAL_STATES,
  type EventFilter,
  type JournalFilter,
  type JournalInput,
  type JournalOutcome,
  type JournalRow,
  type JournalState,
  type Page,
  type PageRequest,
  type RecordResult,
  type Rejection,
  type RejectionFilter,
  type RejectionInput,
  type ActivityCounts,
  type Store,
  type StoreChannel,
  type StoreCounts,
  type StoredEvent,
} from '../store.js';
import {
  epochMsOrNull,
  EVENT_COLUMNS,
  eventConditions,
  indexString,
  JOURNAL_COLUMNS,
  journalConditions,
  REJECTION_COLUMNS,
  rejectionConditions,
  toJournalRow,
  claimKeeps,
  toRejection,
  toStoredEvent,
  type EventRecord,
  type JournalRecord,
  type RejectionRecord,
} from '../rows.js';
import type {
  AttemptRecord,
  Delivery,
  DeliveryBacklog,
  DeliveryFilter,
  DeliveryRoute,
  DeliveryWithAttempts,
  EnqueueResult,
  LeasedDelivery,
  LeaseRequest,
  NewDelivery,
  RecordAttemptsResult,
  RedriveSelector,
  SettleRequest,
  SettleResult,
} from '../deliveries.js';
import type {
  ContactFilter,
  ConversationFilter,
  MessageFilter,
  ProjectionCounts,
  RebuildOptions,
  RebuildResult,
  TemplateFilter,
} from '../projections.js';
import { whereOf } from './conditions.js';
import { createPool, ident, leaseOwner } from './connection.js';
import { PostgresAccess } from './access.js';
import { PostgresSearch } from './search.js';
import { outboundDocument, type SearchDocument, type SearchKind } from '../../search/documents.js';
import type { SearchHit } from '../search.js';
import { PostgresDeliveries } from './deliveries.js';
import type { ApiToken, AuditEntry, AuditFilter, AuditInput, AuditPageRequest, NewApiToken } from '../access.js';
import type { OutboundInput, OutboundRecord } from '../outbound.js';
import { GroupCommit } from './group-commit.js';
import { Listener, Notifier } from './notify.js';
import { PostgresProjections } from './projections.js';
import { asError, clampLimit, pageOf, type Queryable } from './sql.js';
import { batchEventIds, planRecord } from '../record-plan.js';
import { parsePostgresUrl, type PostgresLocation } from './url.js';

/** One minute, ms: the bucket of `activity()`. */
const MINUTE_MS = 60_000;

export interface PostgresStoreOptions {
  /** Pool size. Default 10. */
  poolSize?: number;
  /** How long a pipeline claim on journal rows lasts before another process may take them. Default 30 000 ms. */
  journalLeaseMs?: number;
  /** How long to wait for a connection before a call fails. Default 5000 ms. */
  connectionTimeoutMs?: number;
  /** Problems off the request path (idle connections, notifications). */
  onError?: (err: Error) => void;
}

/** Column arrays for the set-based event insert (one array parameter per column). */
class EventColumns {
  readonly id: string[] = [];
  readonly type: string[] = [];
  readonly channel: string[] = [];
  readonly provider: string[] = [];
  readonly phoneNumberId: Array<string | null> = [];
  readonly displayPhoneNumber: Array<string | null> = [];
  readonly messageId: Array<string | null> = [];
  readonly from: Array<string | null> = [];
  readonly kind: Array<string | null> = [];
  readonly status: Array<string | null> = [];
  readonly occurredAt: Array<number | null> = [];
  readonly receivedAt: Array<number | null> = [];
  readonly journalId: number[] = [];
  readonly body: string[] = [];

  push(event: BluetickEvent, journalId: number, body: string): void {
    const e = event as unknown as Partial<Record<string, unknown>>;
    this.id.push(event.id);
    this.type.push(event.type);
    this.channel.push(event.channel);
    this.provider.push(event.provider);
    this.phoneNumberId.push(indexString(event.phoneNumberId));
    this.displayPhoneNumber.push(indexString(event.displayPhoneNumber));
    this.messageId.push(indexString(e.messageId));
    this.from.push(indexString(e.from));
    this.kind.push(indexString(e.kind));
    this.status.push(indexString(e.status));
    this.occurredAt.push(epochMsOrNull(event.occurredAt));
    this.receivedAt.push(epochMsOrNull(event.receivedAt));
    this.journalId.push(journalId);
    this.body.push(body);
  }

  params(): unknown[] {
    return [
      this.id,
      this.type,
      this.channel,
      this.provider,
      this.phoneNumberId,
      this.displayPhoneNumber,
      this.messageId,
      this.from,
      this.kind,
      this.status,
      this.occurredAt,
      this.receivedAt,
      this.journalId,
      this.body,
    ];
  }
}

/**
 * Inserts the new events of a record plan (each id once), in input order, so `seq` follows
 * it. An event whose receive time is not a date takes its journal row's.
 */
const INSERT_EVENTS = `
INSERT INTO events (id, type, channel, provider, phone_number_id, display_phone_number, message_id, from_id,
                    kind, status, occurred_at, received_at, journal_id, body)
SELECT u.id, u.type, u.channel, u.provider, u.phone_number_id, u.display_phone_number, u.message_id, u.from_id,
       u.kind, u.status, u.occurred_at, COALESCE(u.received_at, j.received_at), u.journal_id, u.body
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[])
     WITH ORDINALITY AS u(id, type, channel, provider, phone_number_id, display_phone_number, message_id, from_id,
                          kind, status, occurred_at, received_at, journal_id, body, ord)
LEFT JOIN journal j ON j.id = u.journal_id
ORDER BY u.ord
RETURNING seq, id`;

export class PostgresStore implements Store {
  private readonly erasure = new PostgresErasure();
  readonly dialect = 'postgres' as const;
  readonly location: PostgresLocation;
  /** This process's name on the leases it takes. */
  readonly owner: string;

  private readonly pool: pg.Pool;
  private readonly journalLeaseMs: number;
  private readonly onError: (err: Error) => void;
  private readonly notifier: Notifier;
  private listener: Listener | undefined;
  private readonly projections: PostgresProjections;
  private readonly deliveries: PostgresDeliveries;
  private readonly access: PostgresAccess;
  private readonly searchIndex: PostgresSearch;
  private readonly appends: GroupCommit;
  private closed = false;

  constructor(url: string, opts: PostgresStoreOptions = {}) {
    this.location = parsePostgresUrl(url);
    this.owner = leaseOwner();
    this.journalLeaseMs = Math.max(1, Math.floor(opts.journalLeaseMs ?? 30_000));
    this.onError = opts.onError ?? (() => undefined);
    this.pool = createPool(this.location, {
      ...(opts.poolSize !== undefined ? { max: opts.poolSize } : {}),
      ...(opts.connectionTimeoutMs !== undefined ? { connectionTimeoutMs: opts.connectionTimeoutMs } : {}),
      onError: this.onError,
    });
    this.notifier = new Notifier(
      this.location.channels,
      (channel, payload) => (this.closed ? Promise.resolve() : this.pool.query('SELECT pg_notify($1, $2)', [channel, payload])),
      (err) => this.onError(asError(err)),
    );
    // Half the pool commits ingest; the rest stays free for the pipeline, workers and reads.
    this.appends = new GroupCommit((rows) => this.insertJournal(rows), { slots: Math.max(1, Math.floor((opts.poolSize ?? 10) / 2)) });
    const eventsTransaction = <T>(fn: (db: Queryable) => Promise<T>): Promise<T> =>
      this.transaction(async (client) => {
        await this.lockEvents(client);
        return fn(client);
      });
    this.projections = new PostgresProjections(this.pool, eventsTransaction);
    this.access = new PostgresAccess(this.pool);
    this.searchIndex = new PostgresSearch(this.pool);
    this.deliveries = new PostgresDeliveries(
      this.pool,
      (fn) => this.transaction(fn),
      this.schema,
      () => this.notifier.poke('deliveries'),
    );
  }

  get schema(): string {
    return this.location.schema;
  }

  // ---- migrations ------------------------------------------------------------------------

  /**
   * Applies the pending migrations while holding a session advisory lock for this schema, so
   * processes starting together apply each file once: the others wait, then find it applied.
   */
  async migrate(): Promise<{ applied: string[] }> {
    const migrations = await loadMigrations('postgres');
    return this.withMigrationLock((target) => runMigrations(target, migrations));
  }

  /** Versions already applied, without creating anything (for `bluetick migrate --print`). */
  async appliedVersions(): Promise<Set<number>> {
    const client = await this.connect();
    try {
      const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
        `${ident(this.schema)}.schema_migrations`,
      ]);
      if (!rows[0]?.exists) return new Set();
      const res = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      return new Set(res.rows.map((r) => r.version));
    } finally {
      client.release();
    }
  }

  /** Runs `fn` with a migration target on one connection holding the migration lock. */
  private async withMigrationLock<T>(fn: (target: MigrationTarget) => Promise<T>): Promise<T> {
    const client = await this.connect();
    const key = `bluetick.migrate.${this.schema}`;
    let broken: Error | undefined;
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
      try {
        // CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT EXISTS:
        // skip it when the schema is there (an operator may have created it for us).
        const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
        if (rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(this.schema)}`);
        return await fn(migrationTarget(client));
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch((err: unknown) => {
          broken = asError(err);
        });
      }
    } catch (err) {
      broken ??= asError(err);
      throw err;
    } finally {
      // A connection in an unknown state (or still holding the lock) is closed, not reused.
      client.release(broken);
    }
  }

  // ---- journal ---------------------------------------------------------------------------

  async appendJournal(rows: JournalInput[]): Promise<number[]> {
    return this.appends.append(rows);
  }

  /** One multi-row INSERT in autocommit: one statement, one transaction, one commit. */
  private async insertJournal(rows: JournalInput[]): Promise<number[]> {
    const n = rows.length;
    const values: unknown[] = new Array<unknown>(n * 6);
    const tuples: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      const k = i * 6;
      values[k] = r.channel;
      values[k + 1] = r.receivedAt;
      values[k + 2] = r.remoteAddress ?? null;
      values[k + 3] = JSON.stringify(r.headers);
      values[k + 4] = r.body;
      values[k + 5] = r.verifiedBy;
      tuples[i] = `($${k + 1}, $${k + 2}, $${k + 3}, $${k + 4}, $${k + 5}, $${k + 6})`;
    }
    const text = `INSERT INTO journal (channel, received_at, remote_address, headers, body, verified_by) VALUES ${tuples.join(', ')} RETURNING id`;
    const { rows: out } = await this.pool.query<{ id: number }>(
      // Small shapes are named, so each connection parses them once; large merged ones vary too much.
      n <= 64 ? { name: `bt_append_${n}`, text, values } : { text, values },
    );
    // One statement takes its identity values in input order; RETURNING order is not promised.
    const ids = out.map((r) => r.id).sort((a, b) => a - b);
    this.notifier.poke('journal');
    return ids;
  }

  async claimJournal(limit: number): Promise<JournalRow[]> {
    // The claim counts an attempt; recording the outcome clears it, a release gives it back.
    const { rows: records } = await this.pool.query<JournalRecord>({
      name: 'bt_claim_journal',
      text: `UPDATE journal j SET claimed_by = $1, claimed_until = now() + $2::float8 * interval '1 millisecond',
                                  attempts = j.attempts + 1
             FROM (SELECT id FROM journal
                   WHERE state = 'pending' AND (claimed_until IS NULL OR claimed_until < now())
                   ORDER BY id LIMIT $3
                   FOR UPDATE SKIP LOCKED) c
             WHERE j.id = c.id
             RETURNING ${prefixed('j', JOURNAL_COLUMNS)}`,
      values: [this.owner, this.journalLeaseMs, clampLimit(limit)],
    });
    const rows = records.map((rec) => toJournalRow({ ...rec, attempts: rec.attempts - 1 })).sort((a, b) => a.id - b.id);
    const keep = claimKeeps(rows);
    if (keep < rows.length) await this.releaseClaims(rows.slice(keep).map((r) => r.id));
    return rows.slice(0, keep);
  }

  async releaseJournal(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    // The claim counted the attempt already; only the lease goes.
    await this.pool.query(
      `UPDATE journal SET claimed_by = NULL, claimed_until = NULL
       WHERE id = ANY($1::bigint[]) AND claimed_by = $2 AND state = 'pending'`,
      [ids, this.owner],
    );
    this.notifier.poke('journal');
  }

  /** Hands claimed rows back untouched: their lease and the attempt the claim counted. */
  private async releaseClaims(ids: number[]): Promise<void> {
    await this.pool.query(
      `UPDATE journal SET claimed_by = NULL, claimed_until = NULL, attempts = GREATEST(attempts - 1, 0)
       WHERE id = ANY($1::bigint[]) AND claimed_by = $2 AND state = 'pending'`,
      [ids, this.owner],
    );
  }

  async recordOutcomes(outcomes: JournalOutcome[]): Promise<RecordResult> {
    if (outcomes.length === 0) return { inserted: 0, duplicates: 0, recorded: [] };
    // Serialized before the transaction, so the lock is held briefly.
    const bodies = new Map<BluetickEvent, string>();
    for (const o of outcomes) for (const e of o.events) bodies.set(e, serializeEvent(e));
    try {
      return await this.transaction(async (client) => {
        const now = Date.now();
        await this.lockEvents(client);
        // A row whose lease expired mid-batch may have been claimed and recorded by another
        // process meanwhile: the first outcome recorded wins, this one is dropped whole (its
        // events would count as duplicates of themselves).
        const live = await this.stillPending(client, outcomes);
        const screened = await this.erasure.screen(client, live.map((k) => outcomes[k]!));
        const result = await this.recordIn(client, screened, bodies, now);
        const { recorded } = result;
        if (recorded.length > 0) {
          // Same transaction, same order as SQLite: projections, then deliveries.
          await PostgresProjections.applyNew(client, recorded);
          const deliveries = await this.deliveries.onEventsRecorded(client, recorded, now);
          // Sent at commit, to every process; the payload is the newest seq.
          await client.query(
            deliveries > 0 ? 'SELECT pg_notify($1, $2), pg_notify($3, $4)' : 'SELECT pg_notify($1, $2)',
            deliveries > 0
              ? [this.location.channels.events, String(recorded[recorded.length - 1]!.seq), this.location.channels.deliveries, '']
              : [this.location.channels.events, String(recorded[recorded.length - 1]!.seq)],
          );
        }
        return result;
      });
    } catch (err) {
      // Nothing was written: the rows are still pending; let anyone claim them again now.
      await this.releaseClaims(outcomes.map((o) => o.journalId)).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Indexes of the outcomes whose journal row is still pending. Throws when a row does not
   * exist (the batch then fails whole, as on SQLite). Called under the events lock, which
   * every recording transaction takes first, so the answer holds until commit.
   */
  private async stillPending(client: Queryable, outcomes: JournalOutcome[]): Promise<number[]> {
    const { rows } = await client.query<{ id: number; state: string }>('SELECT id, state FROM journal WHERE id = ANY($1::bigint[])', [
      outcomes.map((o) => o.journalId),
    ]);
    const state = new Map(rows.map((r) => [r.id, r.state]));
    const unknown = outcomes.filter((o) => !state.has(o.journalId)).map((o) => o.journalId);
    if (unknown.length > 0) throw new Error(`journal row(s) ${unknown.join(', ')} do not exist`);
    return outcomes.flatMap((o, k) => (state.get(o.journalId) === 'pending' ? [k] : []));
  }

  /** The body of `recordOutcomes`, inside the caller's transaction (which holds the events lock). */
  private async recordIn(client: Queryable, outcomes: JournalOutcome[], bodies: Map<BluetickEvent, string>, now: number): Promise<RecordResult> {
    if (outcomes.length === 0) return { inserted: 0, duplicates: 0, recorded: [] };
    const ids = batchEventIds(outcomes);
    const storedBy = new Map<string, number>();
    if (ids.length > 0) {
      const stored = await client.query<{ id: string; journal_id: number }>({
        name: 'bt_events_stored_by',
        text: 'SELECT id, journal_id FROM events WHERE id = ANY($1::text[])',
        values: [ids],
      });
      for (const r of stored.rows) storedBy.set(r.id, r.journal_id);
    }
    const plan = planRecord(outcomes, storedBy);

    const recorded: StoredEvent[] = [];
    if (plan.fresh.length > 0) {
      const columns = new EventColumns();
      for (const { event, journalId } of plan.fresh) columns.push(event, journalId, bodies.get(event) ?? serializeEvent(event));
      const ins = await client.query<{ seq: number; id: string }>({ name: 'bt_insert_new_events', text: INSERT_EVENTS, values: columns.params() });
      const seqOf = new Map<string, number>();
      for (const r of ins.rows) seqOf.set(r.id, r.seq);
      for (const { event, journalId } of plan.fresh) recorded.push({ seq: seqOf.get(event.id)!, event, journalId, duplicates: 0 });
      recorded.sort((a, b) => a.seq - b.seq);
    }
    if (plan.bumps.size > 0) {
      await client.query(
        `UPDATE events e SET duplicates = e.duplicates + d.n
         FROM unnest($1::text[], $2::int[]) AS d(id, n) WHERE e.id = d.id`,
        [[...plan.bumps.keys()], [...plan.bumps.values()]],
      );
    }
    const j = plan.journal;
    await client.query(
      `UPDATE journal j SET state = u.state, cause = u.cause, event_count = u.event_count,
              new_event_count = u.new_event_count, processed_at = $6, claimed_by = NULL, claimed_until = NULL,
              attempts = 0
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[])
            AS u(id, state, cause, event_count, new_event_count)
       WHERE j.id = u.id`,
      [j.map((x) => x.journalId), j.map((x) => x.state), j.map((x) => x.cause), j.map((x) => x.eventCount), j.map((x) => x.newEventCount), now],
    );
    return { inserted: recorded.length, duplicates: plan.duplicates, recorded };
  }

  async retryJournal(ids?: number[]): Promise<number> {
    if (ids !== undefined && ids.length === 0) return 0;
    const reset = `UPDATE journal SET state = 'pending', cause = NULL, event_count = 0, new_event_count = 0,
                     processed_at = NULL, claimed_by = NULL, claimed_until = NULL, attempts = 0`;
    const res =
      ids === undefined
        ? await this.pool.query(`${reset} WHERE state = 'failed' AND body_pruned_at IS NULL`)
        : await this.pool.query(`${reset} WHERE state <> 'pending' AND body_pruned_at IS NULL AND id = ANY($1::bigint[])`, [ids]);
    const n = res.rowCount ?? 0;
    if (n > 0) this.notifier.poke('journal');
    return n;
  }

  async getJournalRow(id: number): Promise<JournalRow | undefined> {
    const { rows } = await this.pool.query<JournalRecord>({
      name: 'bt_journal_by_id',
      text: `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE id = $1`,
      values: [id],
    });
    return rows[0] && toJournalRow(rows[0]);
  }

  async listJournal(filter: JournalFilter, page: PageRequest): Promise<Page<JournalRow>> {
    const where = whereOf(journalConditions(filter));
    return pageOf(this.pool, `SELECT ${JOURNAL_COLUMNS} FROM journal`, 'id', where, page, toJournalRow, (r: JournalRecord) => r.id);
  }

  // ---- events ----------------------------------------------------------------------------

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    const { rows } = await this.pool.query<EventRecord>({
      name: 'bt_event_by_id',
      text: `SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1`,
      values: [id],
    });
    return rows[0] && toStoredEvent(rows[0]);
  }

  async listEvents(filter: EventFilter, page: PageRequest): Promise<Page<StoredEvent>> {
    const where = whereOf(eventConditions(filter));
    return pageOf(this.pool, `SELECT ${EVENT_COLUMNS} FROM events`, 'seq', where, page, toStoredEvent, (r: EventRecord) => r.seq);
  }

  // ---- rejections ------------------------------------------------------------------------

  async addRejections(rows: RejectionInput[], keep: number): Promise<void> {
    if (rows.length === 0) return;
    await this.transaction(async (client) => {
      await client.query(
        `INSERT INTO rejections (at, channel, cause, method, path, remote_address, detail)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        [
          rows.map((r) => r.at),
          rows.map((r) => r.channel ?? null),
          rows.map((r) => r.cause),
          rows.map((r) => r.method),
          rows.map((r) => r.path),
          rows.map((r) => r.remoteAddress ?? null),
          rows.map((r) => r.detail ?? null),
        ],
      );
      await client.query('DELETE FROM rejections WHERE id <= (SELECT id FROM rejections ORDER BY id DESC LIMIT 1 OFFSET $1)', [
        Math.max(0, Math.floor(keep)),
      ]);
    });
  }

  async listRejections(page: PageRequest, filter: RejectionFilter = {}): Promise<Page<Rejection>> {
    const where = whereOf(rejectionConditions(filter));
    return pageOf(this.pool, `SELECT ${REJECTION_COLUMNS} FROM rejections`, 'id', where, page, toRejection, (r: RejectionRecord) => r.id);
  }

  // ---- access: API tokens and the audit log (store/access.ts; SQL in ./access.ts) --------

  async createToken(token: NewApiToken): Promise<ApiToken> {
    return this.access.createToken(token);
  }

  async listTokens(): Promise<ApiToken[]> {
    return this.access.listTokens();
  }

  async tokenByHash(hash: string): Promise<ApiToken | undefined> {
    return this.access.tokenByHash(hash);
  }

  async revokeToken(name: string, at: number): Promise<ApiToken | undefined> {
    return this.access.revokeToken(name, at);
  }

  async touchToken(id: number, at: number): Promise<void> {
    return this.access.touchToken(id, at);
  }

  async addAudit(rows: AuditInput[]): Promise<void> {
    return this.access.addAudit(rows);
  }

  async listAudit(page: AuditPageRequest, filter?: AuditFilter): Promise<Page<AuditEntry>> {
    return this.access.listAudit(page, filter);
  }

  async recordOutbound(rows: OutboundInput[], recordedAt: number, recordedBy: string): Promise<{ inserted: number; updated: number }> {
    const result = await this.access.recordOutbound(rows, recordedAt, recordedBy);
    // Searchable at once; a row recorded again is found by what it holds now.
    await this.searchIndex.addSearchDocuments((await this.access.getOutbound(rows.map((r) => r.messageId))).map((r) => outboundDocument(r, recordedAt)));
    return result;
  }

  async getOutbound(messageIds: string[]): Promise<OutboundRecord[]> {
    return this.access.getOutbound(messageIds);
  }

  async indexSearch(limit: number): Promise<{ indexed: number; seq: number }> {
    return this.searchIndex.indexSearch(limit);
  }

  async addSearchDocuments(docs: SearchDocument[]): Promise<void> {
    return this.searchIndex.addSearchDocuments(docs);
  }

  async search(terms: string[], kinds: SearchKind[] | undefined, limit: number): Promise<SearchHit[]> {
    return this.searchIndex.search(terms, kinds, limit);
  }

  // ---- projections (store/projections.ts; SQL in ./projections.ts) ------------------------

  getMessage(id: string): Promise<MessageRow | undefined> {
    return this.projections.getMessage(id);
  }

  listMessages(filter: MessageFilter, page: PageRequest): Promise<Page<MessageRow>> {
    return this.projections.listMessages(filter, page);
  }

  listReactions(targetMessageId: string): Promise<ReactionRow[]> {
    return this.projections.listReactions(targetMessageId);
  }

  getConversation(key: string): Promise<ConversationRow | undefined> {
    return this.projections.getConversation(key);
  }

  listConversations(filter: ConversationFilter, page: PageRequest): Promise<Page<ConversationRow>> {
    return this.projections.listConversations(filter, page);
  }

  getContact(waId: string): Promise<ContactRow | undefined> {
    return this.projections.getContact(waId);
  }

  listContacts(filter: ContactFilter, page: PageRequest): Promise<Page<ContactRow>> {
    return this.projections.listContacts(filter, page);
  }

  getTemplate(key: string): Promise<TemplateRow | undefined> {
    return this.projections.getTemplate(key);
  }

  listTemplates(filter: TemplateFilter, page: PageRequest): Promise<Page<TemplateRow>> {
    return this.projections.listTemplates(filter, page);
  }

  // Account state: consent and health.
  async listConsent(filter: ConsentFilter, page: PageRequest): Promise<Page<ConsentRow>> {
    return this.projections.listConsent(filter, page);
  }

  async listHealth(kind: HealthKind, page: PageRequest): Promise<Page<HealthRow>> {
    return this.projections.listHealth(kind, page);
  }

  async getHealth(kind: HealthKind, key: string): Promise<HealthRow | undefined> {
    return this.projections.getHealth(kind, key);
  }

  projectionCounts(): Promise<ProjectionCounts> {
    return this.projections.counts();
  }

  lastEventSeq(): Promise<number> {
    return this.projections.lastEventSeq();
  }

  rebuildProjections(opts?: RebuildOptions): Promise<RebuildResult> {
    return this.projections.rebuild(opts);
  }

  // ---- deliveries (store/deliveries.ts; SQL in ./deliveries.ts) --------------------------

  async setRoutes(routes: DeliveryRoute[]): Promise<void> {
    await this.deliveries.setRoutes(routes);
  }

  leaseDeliveries(request: LeaseRequest): Promise<LeasedDelivery[]> {
    return this.deliveries.leaseDeliveries(request);
  }

  renewLeases(owner: string, now: number, leaseMs: number): Promise<number> {
    return this.deliveries.renewLeases(owner, now, leaseMs);
  }

  releaseDeliveries(ids: number[], owner: string, now: number): Promise<number> {
    return this.deliveries.releaseDeliveries(ids, owner, now);
  }

  recordAttempts(records: AttemptRecord[]): Promise<RecordAttemptsResult> {
    return this.deliveries.recordAttempts(records);
  }

  settleDeliveries(request: SettleRequest): Promise<SettleResult> {
    return this.deliveries.settleDeliveries(request);
  }

  getDelivery(id: number): Promise<DeliveryWithAttempts | undefined> {
    return this.deliveries.getDelivery(id);
  }

  listDeliveries(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    return this.deliveries.listDeliveries(filter, page);
  }

  redriveDeliveries(selector: RedriveSelector, now: number): Promise<number[]> {
    return this.deliveries.redriveDeliveries(selector, now);
  }

  dropDeadLetters(ids: number[], now: number): Promise<number[]> {
    return this.deliveries.dropDeadLetters(ids, now);
  }

  enqueueDeliveries(items: NewDelivery[], now: number): Promise<EnqueueResult> {
    return this.deliveries.enqueueDeliveries(items, now);
  }

  deliveryBacklog(): Promise<DeliveryBacklog> {
    return this.deliveries.backlog();
  }

  // ---- health ----------------------------------------------------------------------------

  async counts(): Promise<StoreCounts> {
    // One statement: every number describes the same snapshot.
    const { rows } = await this.pool.query<{
      journal: Record<string, number>;
      events: Record<string, number>;
      rejections: number;
      last_journal_id: number;
      oldest_pending: number | null;
    }>(`SELECT
          (SELECT COALESCE(json_object_agg(state, n), '{}') FROM (SELECT state, count(*) AS n FROM journal GROUP BY state) s) AS journal,
          (SELECT COALESCE(json_object_agg(type, n), '{}') FROM (SELECT type, count(*) AS n FROM events GROUP BY type) t) AS events,
          (SELECT count(*) FROM rejections) AS rejections,
          (SELECT COALESCE(max(id), 0) FROM journal) AS last_journal_id,
          (SELECT received_at FROM journal WHERE state = 'pending' ORDER BY id LIMIT 1) AS oldest_pending`);
    const r = rows[0]!;
    const journal = Object.fromEntries(JOURNAL_STATES.map((s) => [s, Number(r.journal[s] ?? 0)])) as Record<JournalState, number>;
    const eventsByType: Record<string, number> = {};
    let events = 0;
    for (const [type, n] of Object.entries(r.events)) {
      eventsByType[type] = Number(n);
      events += Number(n);
    }
    const counts: StoreCounts = { journal, events, eventsByType, rejections: r.rejections, lastJournalId: r.last_journal_id };
    if (r.oldest_pending !== null) counts.oldestPendingReceivedAt = r.oldest_pending;
    return counts;
  }

  /**
   * What the schema's space goes to, by data class (see `store/usage.ts`): bytes per table
   * from `pg_total_relation_size` (indexes and TOAST included), exact row counts, and the
   * oldest item of each class read through an index. One read-only snapshot.
   */
  async storageUsage(): Promise<StorageUsage> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const sizes = await client.query<{ name: string; bytes: string }>(
        `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
        [this.schema],
      );
      const tableBytes: Record<string, number> = {};
      let totalBytes = 0;
      for (const r of sizes.rows) {
        tableBytes[r.name] = Number(r.bytes);
        totalBytes += Number(r.bytes);
      }
      // Per type: the first stored event (events_type_idx) and the average stored size of the
      // newest EVENT_SAMPLE_ROWS bodies (the same index, backwards).
      const types = await client.query<{ type: string; n: string; oldest: string | null; avg: string | null }>(
        `SELECT t.type, t.n,
                (SELECT e.received_at FROM events e WHERE e.type = t.type ORDER BY e.seq LIMIT 1) AS oldest,
                (SELECT AVG(pg_column_size(s.body)) FROM (SELECT e.body FROM events e WHERE e.type = t.type ORDER BY e.seq DESC LIMIT $1) s) AS avg
           FROM (SELECT type, count(*) AS n FROM events GROUP BY type) t`,
        [EVENT_SAMPLE_ROWS],
      );
      const { rows } = await client.query<Record<string, string | null>>(
        `SELECT (SELECT count(*) FROM journal) AS journal_rows,
                (SELECT received_at FROM journal ORDER BY id LIMIT 1) AS journal_oldest,
                (SELECT count(*) FROM deliveries) AS deliveries_rows,
                (SELECT count(*) FROM delivery_attempts) AS attempts_rows,
                (SELECT created_at FROM deliveries ORDER BY id LIMIT 1) AS deliveries_oldest,
                (SELECT count(*) FROM rejections) AS rejections_rows,
                (SELECT at FROM rejections ORDER BY id LIMIT 1) AS rejections_oldest`,
      );
      await client.query('COMMIT');
      const r = rows[0]!;
      const at = (v: string | null | undefined): { oldestAt?: number } => (v === null || v === undefined ? {} : { oldestAt: Number(v) });
      return buildUsage({
        dialect: 'postgres',
        sizing: 'relation-size',
        totalBytes,
        tableBytes,
        eventTypes: types.rows.map((t) => ({ type: t.type, rows: Number(t.n), ...at(t.oldest), sampleAvgBytes: Number(t.avg ?? 0) })),
        journal: { rows: Number(r.journal_rows), ...at(r.journal_oldest) },
        deliveries: { rows: Number(r.deliveries_rows), attempts: Number(r.attempts_rows), ...at(r.deliveries_oldest) },
        rejections: { rows: Number(r.rejections_rows), ...at(r.rejections_oldest) },
      });
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async oldestPendingAt(): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ received_at: number }>({
      name: 'bt_oldest_pending',
      text: "SELECT received_at FROM journal WHERE state = 'pending' ORDER BY id LIMIT 1",
    });
    return rows[0]?.received_at;
  }

  async activity(since: number): Promise<ActivityCounts> {
    // Both walk events_received_at_idx from `since`; the delivery count uses deliveries_event_idx.
    const [events, acks] = await Promise.all([
      this.pool.query<{ minute: string; type: string; count: number; delivered: number }>({
        name: 'bt_activity_events',
        text: `SELECT (e.received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, e.type, COUNT(*)::int AS count,
                      SUM((SELECT COUNT(*) FROM deliveries d WHERE d.event_id = e.id AND d.state = 'succeeded'))::int AS delivered
                 FROM events e WHERE e.received_at >= $1 GROUP BY 1, e.type ORDER BY 1`,
        values: [since],
      }),
      this.pool.query<{ minute: string; count: number }>({
        name: 'bt_activity_acks',
        text: `SELECT (received_at / ${MINUTE_MS}) * ${MINUTE_MS} AS minute, COUNT(DISTINCT journal_id)::int AS count
                 FROM events WHERE received_at >= $1 GROUP BY 1 ORDER BY 1`,
        values: [since],
      }),
    ]);
    return {
      events: events.rows.map((r) => ({ minute: Number(r.minute), type: r.type, count: r.count, delivered: r.delivered })),
      acks: acks.rows.map((r) => ({ minute: Number(r.minute), count: r.count })),
    };
  }

  /** Fails when no connection can be had, or when the server is a read-only standby. */
  async ping(): Promise<void> {
    const { rows } = await this.pool.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
    if (rows[0]?.standby) throw new Error('the PostgreSQL server is a read-only standby');
  }

  // ---- notifications ---------------------------------------------------------------------

  subscribe(channel: StoreChannel, listener: () => void): () => void {
    if (this.closed) return () => undefined;
    this.listener ??= new Listener(this.location, (err) => this.onError(asError(err)));
    return this.listener.subscribe(channel, listener);
  }

  /** @internal Resolves once the notification connection listens (tests). */
  async listening(): Promise<void> {
    await this.listener?.ready();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener?.close();
    // Rows this process claimed but never recorded: hand them to the others now rather than
    // when the lease runs out.
    await this.pool
      .query(
        `UPDATE journal SET claimed_by = NULL, claimed_until = NULL, attempts = GREATEST(attempts - 1, 0)
         WHERE claimed_by = $1 AND state = 'pending'`,
        [this.owner],
      )
      .catch(() => undefined);
    await this.pool.end();
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** A connection from the pool; fails as "store unavailable" when none can be had. */
  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw unavailable(this.location, err);
    }
  }

  /**
   * Serializes event-writing transactions across processes (held until commit), so `seq`
   * values become visible in order and projection rows have one writer at a time.
   */
  private async lockEvents(client: Queryable): Promise<void> {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`bluetick.events.${this.schema}`]);
  }

  /** Erases one person: see `Store.eraseContact` and `store/postgres/erasure.ts`. */
  async eraseContact(ids: string[]): Promise<ErasureReceipt> {
    return this.transaction(async (client) => {
      await this.lockEvents(client);
      // The search indexer reads events outside the events lock: wait for its batch to end.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [INDEXER_LOCK]);
      return this.erasure.erase(client, ids);
    });
  }

  /** One pruning batch of one data class: see `Store.pruneRetention` and `store/postgres/retention.ts`. */
  async pruneRetention(request: PruneRequest, dryRun = false): Promise<PruneBatchResult> {
    return this.transaction(async (client) => {
      if (!dryRun && request.class !== 'deliveries' && request.class !== 'rejections' && request.class !== 'rawBodies') {
        // Event rows and projection rows: one writer at a time, as when recording; the search
        // indexer reads events outside that lock, so wait for its batch too.
        await this.lockEvents(client);
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [INDEXER_LOCK]);
      }
      return new PostgresRetention().prune(client, request, dryRun);
    });
  }

  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = asError(e);
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

}

/** Opens the store and applies pending migrations; a server that cannot be reached is a clear error. */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = new PostgresStore(url, opts);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof BluetickError) throw err;
    throw unavailable(store.location, err);
  }
  return store;
}

function unavailable(location: PostgresLocation, err: unknown): BluetickError {
  if (err instanceof BluetickError) return err;
  return new BluetickError('BT_ERR_STORE_UNAVAILABLE', `cannot use the PostgreSQL store at ${location.display}: ${asError(err).message}`, {
    cause: err,
  });
}

function migrationTarget(client: pg.PoolClient): MigrationTarget {
  return {
    appliedVersions: async () => {
      await client.query(SCHEMA_MIGRATIONS_DDL);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      return new Set(rows.map((r) => r.version));
    },
    apply: async (m: Migration, appliedAt: number) => {
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, appliedAt]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    },
  };
}

function prefixed(alias: string, columns: string): string {
  return columns
    .split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}
