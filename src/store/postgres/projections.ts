/**
 * @module store/postgres/projections
 *
 * The PostgreSQL side of the projections (`migrations/postgres/0002_projections.sql`). Same
 * rules as the SQLite side (see `store/projections.ts`): for each new event, in `seq` order,
 * load the rows `keysTouched` names, run the pure `applyEvent`, write back what changed,
 * keeping the smallest `pos`. What both backends share (tables, columns, applying an event
 * to cached rows, filters as conditions) is in `store/projection-rows.ts`; this file holds
 * PostgreSQL's SQL.
 *
 * Round trips are what cost here, so a {@link ProjectionBatch} works per transaction, not per
 * event: it loads every row the batch's events touch in one query per projection, applies
 * the events in memory, and writes the changed rows back with one INSERT and one UPDATE per
 * projection. Callers hold the events advisory lock (see ./postgres-store.ts), so no other
 * process changes these rows in between, and a rebuild and live ingest never interleave
 * inside one batch.
 */
import { parseEventJson } from '../../events/normalize.js';
import type { BluetickEvent } from '../../events/types.js';
import {
  currentReactions,
  keysTouched,
  type ContactRow,
  type ConversationRow,
  type MessageRow,
  type ReactionRow,
  type TemplateRow,
  type TouchedKeys,
} from '../../projections/index.js';
import {
  consentConditions,
  contactConditions,
  conversationConditions,
  countsOf,
  KINDS,
  messageConditions,
  PROJECTIONS,
  ProjectionCache,
  rebuildBatchSize,
  templateConditions,
  type CachedRow,
  type Column,
  type Kind,
  type ProjectionSpec,
} from '../projection-rows.js';
import type { ConsentRow } from '../../projections/index.js';
import type { Condition } from '../conditions.js';
import { bigintArray, columnArray, textArray } from './arrays.js';
import { whereOf } from './conditions.js';
import type {
  ConsentFilter,
  HealthKind,
  HealthRow,
  ContactFilter,
  ConversationFilter,
  MessageFilter,
  ProjectionCounts,
  RebuildOptions,
  RebuildResult,
  TemplateFilter,
} from '../projections.js';
import type { Page, PageRequest } from '../store.js';
import { pageOf, type Queryable } from './sql.js';

/** `INSERT` and `UPDATE` of one projection from column arrays. */
function writeStatements(spec: ProjectionSpec): { insert: string; update: string } {
  const names = spec.columns.map(([n]) => n);
  const arrays = spec.columns.map(([, type], i) => `$${i + 3}::${type}[]`);
  const rowParam = `$${spec.columns.length + 3}::text[]`;
  const unnest = `unnest($1::bigint[], $2::text[], ${arrays.join(', ')}, ${rowParam}) AS u(pos, key, ${names.join(', ')}, row)`;
  return {
    insert: `INSERT INTO ${spec.table} (pos, ${spec.key}, ${names.join(', ')}, row) SELECT * FROM ${unnest}`,
    update: `UPDATE ${spec.table} t SET pos = u.pos, ${names.map((n) => `${n} = u.${n}`).join(', ')}, row = u.row
             FROM ${unnest} WHERE t.${spec.key} = u.key`,
  };
}

const WRITES = Object.fromEntries(KINDS.map((k) => [k, writeStatements(PROJECTIONS[k])])) as Record<
  Kind,
  { insert: string; update: string }
>;

/**
 * The rows one transaction touches: {@link load} them for a list of events, {@link apply}
 * the events in `seq` order, then {@link flush}. Events not announced to `load` are an error.
 */
export class ProjectionBatch extends ProjectionCache {
  private readonly keys = new Map<BluetickEvent, TouchedKeys>();

  /** Loads every stored row these events touch (one query per projection). */
  async load(db: Queryable, events: BluetickEvent[]): Promise<void> {
    const wanted: Record<Kind, Set<string>> = {
      messages: new Set(),
      conversations: new Set(),
      contacts: new Set(),
      templates: new Set(),
      reactions: new Set(),
      // Account state: consent and health.
      consent: new Set(),
      phoneNumbers: new Set(),
      businessAccounts: new Set(),
      flows: new Set(),
    };
    for (const event of events) {
      const keys = keysTouched(event);
      this.keys.set(event, keys);
      for (const kind of KINDS) for (const key of keys[kind]) wanted[kind].add(key);
    }
    for (const kind of KINDS) {
      const missing = [...wanted[kind]].filter((k) => !this.cache[kind].has(k));
      if (missing.length === 0) continue;
      const spec = PROJECTIONS[kind];
      const { rows } = await db.query<{ key: string; pos: number; row: string }>(
        `SELECT ${spec.key} AS key, pos, row FROM ${spec.table} WHERE ${spec.key} = ANY($1::text[])`,
        [textArray(missing)],
      );
      const cache = this.cache[kind];
      for (const r of rows) this.remember(kind, r.key, r);
      for (const key of missing) if (!cache.has(key)) this.remember(kind, key, undefined);
    }
  }

  /** Applies one event recorded with `seq` to the loaded rows. */
  apply(seq: number, event: BluetickEvent): void {
    this.applyTouched(seq, event, this.keys.get(event) ?? keysTouched(event));
  }

  /** Writes every changed row: one INSERT (new rows) and one UPDATE (stored rows) per projection. */
  async flush(db: Queryable): Promise<void> {
    for (const kind of KINDS) {
      const spec = PROJECTIONS[kind];
      const fresh = new Columns(spec);
      const changed = new Columns(spec);
      for (const [key, entry] of this.cache[kind]) {
        if (!entry.dirty) continue;
        (entry.storedPos === undefined ? fresh : changed).push(entry.pos!, key, spec.values(entry.row as never), JSON.stringify(entry.row));
        entry.storedPos = entry.pos;
        entry.dirty = false;
      }
      if (fresh.size > 0) await db.query(WRITES[kind].insert, fresh.params());
      if (changed.size > 0) await db.query(WRITES[kind].update, changed.params());
    }
  }

  protected override entry(kind: Kind, key: string): CachedRow {
    const entry = this.cache[kind].get(key);
    if (entry === undefined) throw new Error(`projection row ${kind}/${key} was not loaded`);
    return entry;
  }
}

class Columns {
  readonly pos: number[] = [];
  readonly key: string[] = [];
  readonly values: Column[][];
  readonly row: string[] = [];
  private readonly spec: ProjectionSpec;

  constructor(spec: ProjectionSpec) {
    this.spec = spec;
    this.values = spec.columns.map(() => []);
  }

  get size(): number {
    return this.key.length;
  }

  push(pos: number, key: string, values: Column[], row: string): void {
    this.pos.push(pos);
    this.key.push(key);
    values.forEach((v, i) => this.values[i]!.push(v));
    this.row.push(row);
  }

  /** In binary form (see ./arrays.ts): one element per changed row. */
  params(): unknown[] {
    return [bigintArray(this.pos), textArray(this.key), ...this.values.map((v, i) => columnArray(this.spec.columns[i]![1], v)), textArray(this.row)];
  }
}

/** How long applying a batch's events runs before it lets other work on the thread go first. */
const APPLY_SLICE_MS = 20;

/** Reads and rebuilds; writes during ingest go through {@link ProjectionBatch}. */
export class PostgresProjections {
  private readonly db: Queryable;
  /** Runs `fn` in a transaction holding the events lock. */
  private readonly eventsTransaction: <T>(fn: (db: Queryable) => Promise<T>) => Promise<T>;

  constructor(db: Queryable, eventsTransaction: <T>(fn: (db: Queryable) => Promise<T>) => Promise<T>) {
    this.db = db;
    this.eventsTransaction = eventsTransaction;
  }

  /** Applies new events, in `seq` order, inside the caller's transaction. */
  static async applyNew(db: Queryable, recorded: Array<{ seq: number; event: BluetickEvent }>): Promise<void> {
    if (recorded.length === 0) return;
    const batch = new ProjectionBatch();
    await batch.load(
      db,
      recorded.map((r) => r.event),
    );
    // The pipeline runs on the HTTP thread with PostgreSQL: a batch of thousands of events
    // would keep acks waiting for the whole loop, so the loop steps aside every few ms.
    let since = performance.now();
    for (const r of recorded) {
      batch.apply(r.seq, r.event);
      if (performance.now() - since >= APPLY_SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    }
    await batch.flush(db);
  }

  getMessage(id: string): Promise<MessageRow | undefined> {
    return this.getRow('messages', id);
  }

  getConversation(key: string): Promise<ConversationRow | undefined> {
    return this.getRow('conversations', key);
  }

  getContact(waId: string): Promise<ContactRow | undefined> {
    return this.getRow('contacts', waId);
  }

  getTemplate(key: string): Promise<TemplateRow | undefined> {
    return this.getRow('templates', key);
  }

  async listReactions(targetMessageId: string): Promise<ReactionRow[]> {
    const { rows } = await this.db.query<{ row: string }>(
      "SELECT row FROM proj_reactions WHERE target_message_id = $1 AND emoji <> ''",
      [targetMessageId],
    );
    return currentReactions(
      rows.map((r) => JSON.parse(r.row) as ReactionRow),
      targetMessageId,
    );
  }

  listMessages(filter: MessageFilter, page: PageRequest): Promise<Page<MessageRow>> {
    return this.page('messages', messageConditions(filter), page);
  }

  listConversations(filter: ConversationFilter, page: PageRequest): Promise<Page<ConversationRow>> {
    return this.page('conversations', conversationConditions(filter), page);
  }

  listContacts(filter: ContactFilter, page: PageRequest): Promise<Page<ContactRow>> {
    return this.page('contacts', contactConditions(filter), page);
  }

  listTemplates(filter: TemplateFilter, page: PageRequest): Promise<Page<TemplateRow>> {
    return this.page('templates', templateConditions(filter), page);
  }

  listConsent(filter: ConsentFilter, page: PageRequest): Promise<Page<ConsentRow>> {
    return this.page('consent', consentConditions(filter), page);
  }

  listHealth(kind: HealthKind, page: PageRequest): Promise<Page<HealthRow>> {
    return this.page(kind, [], page);
  }

  getHealth(kind: HealthKind, key: string): Promise<HealthRow | undefined> {
    return this.getRow(kind, key);
  }

  async counts(): Promise<ProjectionCounts> {
    // One statement: every number describes the same snapshot.
    const { rows } = await this.db.query<{
      messages: Array<{ direction: string; status: string | null; n: number }> | null;
      templates: Array<{ status: string | null; n: number }> | null;
      conversations: number;
      contacts: number;
      reactions: number;
      rebuild: { started_at: number; through_seq: number } | null;
    }>(`SELECT
          (SELECT json_agg(m) FROM (SELECT direction, status, count(*) AS n FROM proj_messages GROUP BY direction, status) m) AS messages,
          (SELECT json_agg(t) FROM (SELECT status, count(*) AS n FROM proj_templates GROUP BY status) t) AS templates,
          (SELECT count(*) FROM proj_conversations) AS conversations,
          (SELECT count(*) FROM proj_contacts) AS contacts,
          (SELECT count(*) FROM proj_reactions WHERE emoji <> '') AS reactions,
          (SELECT row_to_json(r) FROM (SELECT started_at, through_seq FROM proj_rebuild WHERE id = 1) r) AS rebuild`);
    const r = rows[0]!;
    return countsOf(r.messages ?? [], r.templates ?? [], r, r.rebuild);
  }

  async lastEventSeq(): Promise<number> {
    const { rows } = await this.db.query<{ seq: number }>('SELECT COALESCE(max(seq), 0) AS seq FROM events');
    return rows[0]!.seq;
  }

  /** See `ProjectionStore.projections.rebuild`. Each batch holds the events lock, so ingest goes on in between. */
  async rebuild(opts: RebuildOptions = {}): Promise<RebuildResult> {
    const batchSize = rebuildBatchSize(opts);
    const started = performance.now();
    await this.eventsTransaction(async (db) => {
      for (const kind of KINDS) await db.query(`DELETE FROM ${PROJECTIONS[kind].table}`);
      await db.query(
        `INSERT INTO proj_rebuild (id, started_at, through_seq) VALUES (1, $1, 0)
         ON CONFLICT (id) DO UPDATE SET started_at = EXCLUDED.started_at, through_seq = 0`,
        [Date.now()],
      );
    });

    let after = 0;
    let events = 0;
    let batches = 0;
    for (;;) {
      // The batch that finds the end also removes the marker, under the lock: no event can be
      // recorded between the last batch and the projections being whole again.
      const { n, last } = await this.eventsTransaction(async (db) => {
        const { rows } = await db.query<{ seq: number; body: string }>(
          'SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2',
          [after, batchSize],
        );
        await PostgresProjections.applyNew(
          db,
          rows.map((r) => ({ seq: r.seq, event: parseEventJson(r.body) })),
        );
        const lastSeq = rows.length > 0 ? rows[rows.length - 1]!.seq : after;
        if (rows.length < batchSize) await db.query('DELETE FROM proj_rebuild');
        else await db.query('UPDATE proj_rebuild SET through_seq = $1 WHERE id = 1', [lastSeq]);
        return { n: rows.length, last: lastSeq };
      });
      events += n;
      batches++;
      after = last;
      if (n < batchSize) break;
    }
    const { rows } = await this.db.query<RebuildResult['rows']>(
      `SELECT (SELECT count(*) FROM proj_messages) AS messages, (SELECT count(*) FROM proj_conversations) AS conversations,
              (SELECT count(*) FROM proj_contacts) AS contacts, (SELECT count(*) FROM proj_templates) AS templates,
              (SELECT count(*) FROM proj_reactions) AS reactions`,
    );
    return { events, batches, ms: performance.now() - started, rows: rows[0]! };
  }

  private async getRow<T>(kind: Kind, key: string): Promise<T | undefined> {
    const spec = PROJECTIONS[kind];
    const { rows } = await this.db.query<{ row: string }>(`SELECT row FROM ${spec.table} WHERE ${spec.key} = $1`, [key]);
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].row) as T);
  }

  private page<T>(kind: Kind, conditions: readonly Condition[], page: PageRequest): Promise<Page<T>> {
    const where = whereOf(conditions);
    const map = (r: { pos: number; row: string }) => JSON.parse(r.row) as T;
    return pageOf(this.db, `SELECT pos, row FROM ${PROJECTIONS[kind].table}`, 'pos', where, page, map, (r) => r.pos);
  }
}
