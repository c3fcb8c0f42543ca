/**
 * @module store/postgres/journal
 *
 * `Store.journal` on PostgreSQL (events and rejections: `events.ts`). Appends are one
 * multi-row INSERT in autocommit. Claims are leases in the rows (`claimed_by`,
 * `claimed_until` on the database clock), taken with `FOR UPDATE SKIP LOCKED`. `record`
 * writes a batch's events, projections, deliveries and outcomes in one transaction under
 * the events lock (see `postgres-store.ts` for why), and drops outcomes of rows another
 * process settled first.
 */
import type pg from 'pg';
import { serializeEvent } from '../../events/normalize.js';
import type { BluetickEvent } from '../../events/types.js';
import { batchEventIds, planRecord } from '../record-plan.js';
import { claimKeeps, epochMsOrNull, indexString, JOURNAL_COLUMNS, journalConditions, toJournalRow, type JournalRecord } from '../rows.js';
import type {
  JournalFilter,
  JournalInput,
  JournalOutcome,
  JournalRow,
  JournalStore,
  Page,
  PageRequest,
  RecordResult,
  StoredEvent,
} from '../store.js';
import { bigintArray, textArray } from './arrays.js';
import { whereOf } from './conditions.js';
import type { PostgresDeliveries } from './deliveries.js';
import type { PostgresErasure } from './erasure.js';
import type { Notifier } from './notify.js';
import { PostgresProjections } from './projections.js';
import { followInTransaction } from './search.js';
import { clampLimit, pageOf, type Queryable } from './sql.js';
import type { PostgresLocation } from './url.js';

/** What the parts use of their store: the pool, this process's lease name, and the shared transaction helpers. */
export interface PostgresContext {
  pool: pg.Pool;
  owner: string;
  journalLeaseMs: number;
  notifier: Notifier;
  schema: string;
  location: PostgresLocation;
  transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  lockEvents(client: Queryable): Promise<void>;
  erasure: PostgresErasure;
  projections: PostgresProjections;
  deliveries: PostgresDeliveries;
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

  /** In binary form (see ./arrays.ts): these arrays hold one element per event of the batch. */
  params(): unknown[] {
    return [
      textArray(this.id),
      textArray(this.type),
      textArray(this.channel),
      textArray(this.provider),
      textArray(this.phoneNumberId),
      textArray(this.displayPhoneNumber),
      textArray(this.messageId),
      textArray(this.from),
      textArray(this.kind),
      textArray(this.status),
      bigintArray(this.occurredAt),
      bigintArray(this.receivedAt),
      bigintArray(this.journalId),
      textArray(this.body),
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
       u.kind, u.status, u.occurred_at,
       COALESCE(u.received_at, (SELECT j.received_at FROM journal j WHERE j.id = u.journal_id)), u.journal_id, u.body
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[])
     WITH ORDINALITY AS u(id, type, channel, provider, phone_number_id, display_phone_number, message_id, from_id,
                          kind, status, occurred_at, received_at, journal_id, body, ord)
ORDER BY u.ord
RETURNING seq, id`;

export class PostgresJournal implements JournalStore {
  private readonly ctx: PostgresContext;

  constructor(ctx: PostgresContext) {
    this.ctx = ctx;
  }

  /**
   * One multi-row INSERT in autocommit: one statement, one transaction, one commit. Merging
   * concurrent appends is the caller's (`journal/writer.ts`, with
   * `capabilities.maxCommitsInFlight` commits at once).
   */
  async append(rows: JournalInput[]): Promise<number[]> {
    if (rows.length === 0) return [];
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
    const { rows: out } = await this.ctx.pool.query<{ id: number }>(
      // Small shapes are named, so each connection parses them once; large merged ones vary too much.
      n <= 64 ? { name: `bt_append_${n}`, text, values } : { text, values },
    );
    // One statement takes its identity values in input order; RETURNING order is not promised.
    const ids = out.map((r) => r.id).sort((a, b) => a - b);
    this.ctx.notifier.poke('journal');
    return ids;
  }

  async claim(limit: number): Promise<JournalRow[]> {
    // The claim counts an attempt; recording the outcome clears it, a release gives it back.
    const { rows: records } = await this.ctx.pool.query<JournalRecord>({
      name: 'bt_claim_journal',
      text: `UPDATE journal j SET claimed_by = $1, claimed_until = now() + $2::float8 * interval '1 millisecond',
                                  attempts = j.attempts + 1
             FROM (SELECT id FROM journal
                   WHERE state = 'pending' AND (claimed_until IS NULL OR claimed_until < now())
                   ORDER BY id LIMIT $3
                   FOR UPDATE SKIP LOCKED) c
             WHERE j.id = c.id
             RETURNING ${prefixed('j', JOURNAL_COLUMNS)}`,
      values: [this.ctx.owner, this.ctx.journalLeaseMs, clampLimit(limit)],
    });
    const rows = records.map((rec) => toJournalRow({ ...rec, attempts: rec.attempts - 1 })).sort((a, b) => a.id - b.id);
    const keep = claimKeeps(rows);
    if (keep < rows.length) await this.releaseClaims(rows.slice(keep).map((r) => r.id));
    return rows.slice(0, keep);
  }

  async release(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    // The claim counted the attempt already; only the lease goes.
    await this.ctx.pool.query(
      `UPDATE journal SET claimed_by = NULL, claimed_until = NULL
       WHERE id = ANY($1::bigint[]) AND claimed_by = $2 AND state = 'pending'`,
      [ids, this.ctx.owner],
    );
    this.ctx.notifier.poke('journal');
  }

  /** Hands claimed rows back untouched: their lease and the attempt the claim counted. */
  private async releaseClaims(ids: number[]): Promise<void> {
    await this.ctx.pool.query(
      `UPDATE journal SET claimed_by = NULL, claimed_until = NULL, attempts = GREATEST(attempts - 1, 0)
       WHERE id = ANY($1::bigint[]) AND claimed_by = $2 AND state = 'pending'`,
      [ids, this.ctx.owner],
    );
  }

  async record(outcomes: JournalOutcome[]): Promise<RecordResult> {
    if (outcomes.length === 0) return { inserted: 0, duplicates: 0, recorded: [] };
    // Serialized before the transaction, so the lock is held briefly.
    const bodies = new Map<BluetickEvent, string>();
    for (const o of outcomes) for (const e of o.events) bodies.set(e, serializeEvent(e));
    try {
      return await this.ctx.transaction(async (client) => {
        const now = Date.now();
        await this.ctx.lockEvents(client);
        // A row whose lease expired mid-batch may have been claimed and recorded by another
        // process meanwhile: the first outcome recorded wins, this one is dropped whole (its
        // events would count as duplicates of themselves).
        const live = await this.stillPending(client, outcomes);
        const screened = await this.ctx.erasure.screen(client, live.map((k) => outcomes[k]!));
        const result = await this.recordIn(client, screened, bodies, now);
        const { recorded } = result;
        if (recorded.length > 0) {
          // Same transaction, same order as SQLite: projections, deliveries, search.
          await PostgresProjections.applyNew(client, recorded);
          const deliveries = await this.ctx.deliveries.onEventsRecorded(client, recorded, now);
          await followInTransaction(client, recorded);
          // Sent at commit, to every process; the payload is the newest seq.
          await client.query(
            deliveries > 0 ? 'SELECT pg_notify($1, $2), pg_notify($3, $4)' : 'SELECT pg_notify($1, $2)',
            deliveries > 0
              ? [this.ctx.location.channels.events, String(recorded[recorded.length - 1]!.seq), this.ctx.location.channels.deliveries, '']
              : [this.ctx.location.channels.events, String(recorded[recorded.length - 1]!.seq)],
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

  /** The body of `journal.record`, inside the caller's transaction (which holds the events lock). */
  private async recordIn(client: Queryable, outcomes: JournalOutcome[], bodies: Map<BluetickEvent, string>, now: number): Promise<RecordResult> {
    if (outcomes.length === 0) return { inserted: 0, duplicates: 0, recorded: [] };
    const ids = batchEventIds(outcomes);
    const storedBy = new Map<string, number>();
    if (ids.length > 0) {
      const stored = await client.query<{ id: string; journal_id: number }>({
        name: 'bt_events_stored_by',
        text: 'SELECT id, journal_id FROM events WHERE id = ANY($1::text[])',
        values: [textArray(ids)],
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

  async retry(ids?: number[]): Promise<number> {
    if (ids !== undefined && ids.length === 0) return 0;
    const reset = `UPDATE journal SET state = 'pending', cause = NULL, event_count = 0, new_event_count = 0,
                     processed_at = NULL, claimed_by = NULL, claimed_until = NULL, attempts = 0`;
    const res =
      ids === undefined
        ? await this.ctx.pool.query(`${reset} WHERE state = 'failed' AND body_pruned_at IS NULL`)
        : await this.ctx.pool.query(`${reset} WHERE state <> 'pending' AND body_pruned_at IS NULL AND id = ANY($1::bigint[])`, [ids]);
    const n = res.rowCount ?? 0;
    if (n > 0) this.ctx.notifier.poke('journal');
    return n;
  }

  async get(id: number): Promise<JournalRow | undefined> {
    const { rows } = await this.ctx.pool.query<JournalRecord>({
      name: 'bt_journal_by_id',
      text: `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE id = $1`,
      values: [id],
    });
    return rows[0] && toJournalRow(rows[0]);
  }

  async list(filter: JournalFilter, page: PageRequest): Promise<Page<JournalRow>> {
    const where = whereOf(journalConditions(filter));
    return pageOf(this.ctx.pool, `SELECT ${JOURNAL_COLUMNS} FROM journal`, 'id', where, page, toJournalRow, (r: JournalRecord) => r.id);
  }

  async oldestPendingAt(): Promise<number | undefined> {
    const { rows } = await this.ctx.pool.query<{ received_at: number }>({
      name: 'bt_oldest_pending',
      text: "SELECT received_at FROM journal WHERE state = 'pending' ORDER BY id LIMIT 1",
    });
    return rows[0]?.received_at;
  }

}

function prefixed(alias: string, columns: string): string {
  return columns
    .split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}
