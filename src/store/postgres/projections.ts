/**
 * @module store/postgres/projections
 *
 * The PostgreSQL side of the projections (`migrations/postgres/0002_projections.sql`). Same
 * rules as the SQLite side (see `store/projections.ts`): for each new event, in `seq` order,
 * load the rows `keysTouched` names, run the pure `applyEvent`, write back what changed,
 * keeping the smallest `pos`.
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
  applyEvent,
  currentReactions,
  emptyState,
  keysTouched,
  type ContactRow,
  type ConversationRow,
  type MessageRow,
  type ProjectionState,
  type ReactionRow,
  type TemplateRow,
  type TouchedKeys,
} from '../../projections/index.js';
import type {
  ContactFilter,
  ConversationFilter,
  MessageFilter,
  ProjectionCounts,
  RebuildOptions,
  RebuildResult,
  TemplateFilter,
} from '../projections.js';
import type { Page, PageRequest } from '../store.js';
import { pageOf, Where, type Queryable } from './sql.js';

type Kind = keyof ProjectionState;
const KINDS: readonly Kind[] = ['messages', 'conversations', 'contacts', 'templates', 'reactions'];

/** Positions per event: `pos = seq * POS_SLOTS + slot` (as in SQLite). */
const POS_SLOTS = 4;

type Column = string | number | null;

interface KindSpec {
  table: string;
  key: string;
  /** Filter columns with their PostgreSQL array type for `unnest`. */
  columns: ReadonlyArray<readonly [name: string, type: 'text' | 'bigint']>;
  values(row: never): Column[];
}

function msOf(iso: string | undefined): number | null {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

const SPECS: Record<Kind, KindSpec> = {
  messages: {
    table: 'proj_messages',
    key: 'id',
    columns: [
      ['conversation_key', 'text'],
      ['direction', 'text'],
      ['status', 'text'],
    ],
    values: (r: MessageRow) => [r.conversationKey ?? null, r.direction, r.status ?? null],
  },
  conversations: {
    table: 'proj_conversations',
    key: 'key',
    columns: [
      ['business_number', 'text'],
      ['contact', 'text'],
      ['last_activity_at', 'bigint'],
      ['window_open_until', 'bigint'],
    ],
    values: (r: ConversationRow) => [r.businessNumber, r.contact, msOf(r.lastActivityAt), msOf(r.windowOpenUntil)],
  },
  contacts: {
    table: 'proj_contacts',
    key: 'wa_id',
    columns: [
      ['name', 'text'],
      ['last_seen_at', 'bigint'],
    ],
    values: (r: ContactRow) => [r.profile?.name ?? null, msOf(r.lastSeenAt)],
  },
  templates: {
    table: 'proj_templates',
    key: 'key',
    columns: [
      ['name', 'text'],
      ['language', 'text'],
      ['status', 'text'],
      ['quality', 'text'],
      ['category', 'text'],
    ],
    values: (r: TemplateRow) => [r.name ?? null, r.language ?? null, r.status ?? null, r.quality ?? null, r.category ?? null],
  },
  reactions: {
    table: 'proj_reactions',
    key: 'key',
    columns: [
      ['target_message_id', 'text'],
      ['emoji', 'text'],
    ],
    values: (r: ReactionRow) => [r.targetMessageId, r.emoji],
  },
};

/** `INSERT` and `UPDATE` of one projection from column arrays. */
function writeStatements(spec: KindSpec): { insert: string; update: string } {
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

const WRITES = Object.fromEntries(KINDS.map((k) => [k, writeStatements(SPECS[k])])) as Record<Kind, { insert: string; update: string }>;

interface Entry {
  row: unknown;
  pos: number | undefined;
  storedPos: number | undefined;
  dirty: boolean;
}

/**
 * The rows one transaction touches: {@link load} them for a list of events, {@link apply}
 * the events in `seq` order, then {@link flush}. Events not announced to `load` are an error.
 */
export class ProjectionBatch {
  private readonly cache: Record<Kind, Map<string, Entry>> = {
    messages: new Map(),
    conversations: new Map(),
    contacts: new Map(),
    templates: new Map(),
    reactions: new Map(),
  };
  private readonly keys = new Map<BluetickEvent, TouchedKeys>();

  /** Loads every stored row these events touch (one query per projection). */
  async load(db: Queryable, events: BluetickEvent[]): Promise<void> {
    const wanted: Record<Kind, Set<string>> = {
      messages: new Set(),
      conversations: new Set(),
      contacts: new Set(),
      templates: new Set(),
      reactions: new Set(),
    };
    for (const event of events) {
      const keys = keysTouched(event);
      this.keys.set(event, keys);
      for (const kind of KINDS) for (const key of keys[kind]) wanted[kind].add(key);
    }
    for (const kind of KINDS) {
      const missing = [...wanted[kind]].filter((k) => !this.cache[kind].has(k));
      if (missing.length === 0) continue;
      const spec = SPECS[kind];
      const { rows } = await db.query<{ key: string; pos: number; row: string }>(
        `SELECT ${spec.key} AS key, pos, row FROM ${spec.table} WHERE ${spec.key} = ANY($1::text[])`,
        [missing],
      );
      const cache = this.cache[kind];
      for (const r of rows) cache.set(r.key, { row: JSON.parse(r.row) as unknown, pos: r.pos, storedPos: r.pos, dirty: false });
      for (const key of missing) if (!cache.has(key)) cache.set(key, { row: undefined, pos: undefined, storedPos: undefined, dirty: false });
    }
  }

  /** Applies one event recorded with `seq` to the loaded rows. */
  apply(seq: number, event: BluetickEvent): void {
    const keys = this.keys.get(event) ?? keysTouched(event);
    const state = emptyState();
    for (const kind of KINDS) {
      const map = state[kind] as Map<string, unknown>;
      for (const key of keys[kind]) {
        const row = this.entry(kind, key).row;
        if (row !== undefined) map.set(key, row);
      }
    }
    const next = applyEvent(state, event);
    for (const kind of KINDS) {
      const map = next[kind] as Map<string, unknown>;
      keys[kind].forEach((key, slot) => {
        const entry = this.entry(kind, key);
        const after = map.get(key);
        // Reducers return the same object when nothing changed (a duplicate): no write.
        if (after === undefined || after === entry.row) return;
        entry.row = after;
        entry.dirty = true;
        const pos = seq * POS_SLOTS + slot;
        if (entry.pos === undefined || pos < entry.pos) entry.pos = pos;
      });
    }
  }

  /** Writes every changed row: one INSERT (new rows) and one UPDATE (stored rows) per projection. */
  async flush(db: Queryable): Promise<void> {
    for (const kind of KINDS) {
      const spec = SPECS[kind];
      const fresh = new Columns(spec.columns.length);
      const changed = new Columns(spec.columns.length);
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

  private entry(kind: Kind, key: string): Entry {
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

  constructor(n: number) {
    this.values = Array.from({ length: n }, () => []);
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

  params(): unknown[] {
    return [this.pos, this.key, ...this.values, this.row];
  }
}

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
    for (const r of recorded) batch.apply(r.seq, r.event);
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
    const w = new Where();
    if (filter.conversationKey !== undefined) w.add('conversation_key = ?', filter.conversationKey);
    if (filter.direction !== undefined) w.add('direction = ?', filter.direction);
    if (filter.status && filter.status.length > 0) w.add('status = ANY(?::text[])', filter.status);
    return this.page('proj_messages', w, page);
  }

  listConversations(filter: ConversationFilter, page: PageRequest): Promise<Page<ConversationRow>> {
    const w = new Where();
    if (filter.businessNumber !== undefined) w.add('business_number = ?', filter.businessNumber);
    if (filter.contact !== undefined) w.add('contact = ?', filter.contact);
    if (filter.activeSince !== undefined) w.add('last_activity_at >= ?', filter.activeSince);
    if (filter.window !== undefined) {
      w.add(filter.window.open ? 'window_open_until > ?' : '(window_open_until IS NULL OR window_open_until <= ?)', filter.window.at);
    }
    return this.page('proj_conversations', w, page);
  }

  listContacts(filter: ContactFilter, page: PageRequest): Promise<Page<ContactRow>> {
    const w = new Where();
    if (filter.name !== undefined) w.add("name ILIKE ? ESCAPE '\\'", `%${filter.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (filter.seenSince !== undefined) w.add('last_seen_at >= ?', filter.seenSince);
    return this.page('proj_contacts', w, page);
  }

  listTemplates(filter: TemplateFilter, page: PageRequest): Promise<Page<TemplateRow>> {
    const w = new Where();
    if (filter.status && filter.status.length > 0) w.add('status = ANY(?::text[])', filter.status);
    if (filter.quality && filter.quality.length > 0) w.add('quality = ANY(?::text[])', filter.quality);
    if (filter.category && filter.category.length > 0) w.add('category = ANY(?::text[])', filter.category);
    if (filter.name !== undefined) w.add('name = ?', filter.name);
    if (filter.language !== undefined) w.add('language = ?', filter.language);
    return this.page('proj_templates', w, page);
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
    const byStatus: Record<string, number> = {};
    let inbound = 0;
    let outbound = 0;
    for (const { direction, status, n } of r.messages ?? []) {
      if (direction === 'inbound') {
        inbound += n;
      } else {
        outbound += n;
        const name = status ?? 'unknown';
        byStatus[name] = (byStatus[name] ?? 0) + n;
      }
    }
    const templatesByStatus: Record<string, number> = {};
    let templates = 0;
    for (const { status, n } of r.templates ?? []) {
      templates += n;
      const name = status ?? 'unknown';
      templatesByStatus[name] = (templatesByStatus[name] ?? 0) + n;
    }
    const counts: ProjectionCounts = {
      messages: { total: inbound + outbound, inbound, outbound, byStatus },
      conversations: r.conversations,
      contacts: r.contacts,
      templates: { total: templates, byStatus: templatesByStatus },
      reactions: r.reactions,
    };
    const marker = r.rebuild;
    if (marker) {
      counts.rebuild =
        marker.started_at > 0 ? { startedAt: marker.started_at, throughSeq: marker.through_seq } : { throughSeq: marker.through_seq };
    }
    return counts;
  }

  async lastEventSeq(): Promise<number> {
    const { rows } = await this.db.query<{ seq: number }>('SELECT COALESCE(max(seq), 0) AS seq FROM events');
    return rows[0]!.seq;
  }

  /** See `ProjectionStore.rebuildProjections`. Each batch holds the events lock, so ingest goes on in between. */
  async rebuild(opts: RebuildOptions = {}): Promise<RebuildResult> {
    const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 2000));
    const started = performance.now();
    await this.eventsTransaction(async (db) => {
      for (const kind of KINDS) await db.query(`DELETE FROM ${SPECS[kind].table}`);
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
    const spec = SPECS[kind];
    const { rows } = await this.db.query<{ row: string }>(`SELECT row FROM ${spec.table} WHERE ${spec.key} = $1`, [key]);
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].row) as T);
  }

  private page<T>(table: string, where: Where, page: PageRequest): Promise<Page<T>> {
    return pageOf(this.db, `SELECT pos, row FROM ${table}`, 'pos', where, page, (r: { pos: number; row: string }) => JSON.parse(r.row) as T, (r) => r.pos);
  }
}
