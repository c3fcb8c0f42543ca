/**
 * @module store/sqlite/projections
 *
 * The SQLite side of the projections (`migrations/sqlite/0002_projections.sql`): applying
 * events to the projection tables, reading them, and rebuilding them from the events.
 * The reducers themselves are pure (`src/projections`); this file only loads the rows an
 * event touches, hands them to `applyEvent`, and writes back what changed.
 *
 * {@link ProjectionWriter} is the one place rows are written, used both by
 * `SqliteStore.recordOutcomes` (inside its transaction, for each new event) and by
 * {@link SqliteProjections.rebuild} (one writer per batch): both paths run the same code,
 * which is what makes a rebuild equal the incremental result byte for byte.
 */
import type Database from 'better-sqlite3';
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

type Kind = keyof ProjectionState;
const KINDS: readonly Kind[] = ['messages', 'conversations', 'contacts', 'templates', 'reactions'];

/** Positions per event: `pos = seq * POS_SLOTS + slot`. An event touches at most two rows of a kind. */
export const POS_SLOTS = 4;

type Column = string | number | null;

interface KindSpec {
  table: string;
  /** The column holding the projection key. */
  key: string;
  /** Copies of row fields that queries filter on, written next to the JSON. */
  columns: readonly string[];
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
    columns: ['conversation_key', 'direction', 'status'],
    values: (r: MessageRow) => [r.conversationKey ?? null, r.direction, r.status ?? null],
  },
  conversations: {
    table: 'proj_conversations',
    key: 'key',
    columns: ['business_number', 'contact', 'last_activity_at', 'window_open_until'],
    values: (r: ConversationRow) => [r.businessNumber, r.contact, msOf(r.lastActivityAt), msOf(r.windowOpenUntil)],
  },
  contacts: {
    table: 'proj_contacts',
    key: 'wa_id',
    columns: ['name', 'last_seen_at'],
    values: (r: ContactRow) => [r.profile?.name ?? null, msOf(r.lastSeenAt)],
  },
  templates: {
    table: 'proj_templates',
    key: 'key',
    columns: ['name', 'language', 'status', 'quality', 'category'],
    values: (r: TemplateRow) => [r.name ?? null, r.language ?? null, r.status ?? null, r.quality ?? null, r.category ?? null],
  },
  reactions: {
    table: 'proj_reactions',
    key: 'key',
    columns: ['target_message_id', 'emoji'],
    values: (r: ReactionRow) => [r.targetMessageId, r.emoji],
  },
};

interface KindStatements {
  select: Database.Statement<[string], { pos: number; row: string }>;
  insert: Database.Statement<Column[]>;
  update: Database.Statement<Column[]>;
  updatePos: Database.Statement<[number, string]>;
}

function prepareKind(db: Database.Database, spec: KindSpec): KindStatements {
  const cols = spec.columns;
  return {
    select: db.prepare(`SELECT pos, row FROM ${spec.table} WHERE ${spec.key} = ?`),
    insert: db.prepare<Column[]>(
      `INSERT INTO ${spec.table} (pos, ${spec.key}, ${cols.join(', ')}, row) VALUES (?, ?, ${cols.map(() => '?').join(', ')}, ?)`,
    ),
    update: db.prepare<Column[]>(`UPDATE ${spec.table} SET ${cols.map((c) => `${c} = ?`).join(', ')}, row = ? WHERE ${spec.key} = ?`),
    updatePos: db.prepare(`UPDATE ${spec.table} SET pos = ? WHERE ${spec.key} = ?`),
  };
}

/** One row as the writer holds it between loading and writing back. */
interface Entry {
  row: unknown;
  /** The position to write (the smallest seen). */
  pos: number | undefined;
  /** The position in the table; `undefined` when the row is not stored yet. */
  storedPos: number | undefined;
  dirty: boolean;
}

/**
 * Applies events to the projection tables through a cache of the rows it touched; `flush`
 * writes the changed rows. Use one writer per transaction, and call `apply` in `seq` order.
 */
export class ProjectionWriter {
  private readonly cache: Record<Kind, Map<string, Entry>> = {
    messages: new Map(),
    conversations: new Map(),
    contacts: new Map(),
    templates: new Map(),
    reactions: new Map(),
  };

  private readonly statements: Record<Kind, KindStatements>;

  constructor(statements: Record<Kind, KindStatements>) {
    this.statements = statements;
  }

  private entry(kind: Kind, key: string): Entry {
    const cache = this.cache[kind];
    let entry = cache.get(key);
    if (entry === undefined) {
      const rec = this.statements[kind].select.get(key);
      entry = rec
        ? { row: JSON.parse(rec.row) as unknown, pos: rec.pos, storedPos: rec.pos, dirty: false }
        : { row: undefined, pos: undefined, storedPos: undefined, dirty: false };
      cache.set(key, entry);
    }
    return entry;
  }

  /** Applies one event recorded with `seq` to the rows it touches. */
  apply(seq: number, event: BluetickEvent): void {
    const keys = keysTouched(event);
    const state = emptyState();
    for (const kind of KINDS) {
      const map = state[kind] as Map<string, unknown>;
      for (const key of keys[kind]) {
        const { row } = this.entry(kind, key);
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

  /** Writes every changed row and forgets the cache. */
  flush(): void {
    for (const kind of KINDS) {
      const spec = SPECS[kind];
      const q = this.statements[kind];
      for (const [key, entry] of this.cache[kind]) {
        if (!entry.dirty) continue;
        const values = spec.values(entry.row as never);
        const json = JSON.stringify(entry.row);
        if (entry.storedPos === undefined) {
          q.insert.run(entry.pos!, key, ...values, json);
        } else {
          if (entry.pos !== entry.storedPos) q.updatePos.run(entry.pos!, key);
          q.update.run(...values, json, key);
        }
      }
      this.cache[kind].clear();
    }
  }
}

interface PosRow {
  pos: number;
  row: string;
}

const STATEMENT_CACHE_LIMIT = 128;

/**
 * Everything the SQLite store does with projections. Prepare it after the migrations ran
 * (the store builds it on first use and drops it when a migration runs).
 */
export class SqliteProjections {
  private readonly kinds: Record<Kind, KindStatements>;
  private readonly q: ReturnType<typeof prepareStatements>;
  private readonly dynamic = new Map<string, Database.Statement<unknown[], PosRow>>();
  private readonly db: Database.Database;
  /** The rebuild in progress (or the settled last one): rebuilds run one after another. */
  private rebuilding: Promise<unknown> = Promise.resolve();

  constructor(db: Database.Database) {
    this.db = db;
    this.kinds = {
      messages: prepareKind(db, SPECS.messages),
      conversations: prepareKind(db, SPECS.conversations),
      contacts: prepareKind(db, SPECS.contacts),
      templates: prepareKind(db, SPECS.templates),
      reactions: prepareKind(db, SPECS.reactions),
    };
    this.q = prepareStatements(db);
  }

  /** A writer for one transaction. */
  writer(): ProjectionWriter {
    return new ProjectionWriter(this.kinds);
  }

  getMessage(id: string): MessageRow | undefined {
    return this.getRow(this.kinds.messages, id);
  }

  getConversation(key: string): ConversationRow | undefined {
    return this.getRow(this.kinds.conversations, key);
  }

  getContact(waId: string): ContactRow | undefined {
    return this.getRow(this.kinds.contacts, waId);
  }

  getTemplate(key: string): TemplateRow | undefined {
    return this.getRow(this.kinds.templates, key);
  }

  listReactions(targetMessageId: string): ReactionRow[] {
    const rows = this.q.reactionsOn.all(targetMessageId).map((r) => JSON.parse(r) as ReactionRow);
    return currentReactions(rows, targetMessageId);
  }

  listMessages(filter: MessageFilter, page: PageRequest): Page<MessageRow> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.conversationKey !== undefined) {
      where.push('conversation_key = ?');
      params.push(filter.conversationKey);
    }
    if (filter.direction !== undefined) {
      where.push('direction = ?');
      params.push(filter.direction);
    }
    inList(where, params, 'status', filter.status);
    return this.page('proj_messages', where, params, page);
  }

  listConversations(filter: ConversationFilter, page: PageRequest): Page<ConversationRow> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.businessNumber !== undefined) {
      where.push('business_number = ?');
      params.push(filter.businessNumber);
    }
    if (filter.contact !== undefined) {
      where.push('contact = ?');
      params.push(filter.contact);
    }
    if (filter.activeSince !== undefined) {
      where.push('last_activity_at >= ?');
      params.push(filter.activeSince);
    }
    if (filter.window !== undefined) {
      where.push(filter.window.open ? 'window_open_until > ?' : '(window_open_until IS NULL OR window_open_until <= ?)');
      params.push(filter.window.at);
    }
    return this.page('proj_conversations', where, params, page);
  }

  listContacts(filter: ContactFilter, page: PageRequest): Page<ContactRow> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.name !== undefined) {
      where.push("name LIKE ? ESCAPE '\\'");
      params.push(`%${filter.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (filter.seenSince !== undefined) {
      where.push('last_seen_at >= ?');
      params.push(filter.seenSince);
    }
    return this.page('proj_contacts', where, params, page);
  }

  listTemplates(filter: TemplateFilter, page: PageRequest): Page<TemplateRow> {
    const where: string[] = [];
    const params: unknown[] = [];
    inList(where, params, 'status', filter.status);
    inList(where, params, 'quality', filter.quality);
    inList(where, params, 'category', filter.category);
    if (filter.name !== undefined) {
      where.push('name = ?');
      params.push(filter.name);
    }
    if (filter.language !== undefined) {
      where.push('language = ?');
      params.push(filter.language);
    }
    return this.page('proj_templates', where, params, page);
  }

  counts(): ProjectionCounts {
    const q = this.q;
    return this.db.transaction((): ProjectionCounts => {
      const byStatus: Record<string, number> = {};
      let inbound = 0;
      let outbound = 0;
      for (const { direction, status, n } of q.messagesByStatus.all()) {
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
      for (const { status, n } of q.templatesByStatus.all()) {
        templates += n;
        const name = status ?? 'unknown';
        templatesByStatus[name] = (templatesByStatus[name] ?? 0) + n;
      }
      const counts: ProjectionCounts = {
        messages: { total: inbound + outbound, inbound, outbound, byStatus },
        conversations: q.conversationCount.get() ?? 0,
        contacts: q.contactCount.get() ?? 0,
        templates: { total: templates, byStatus: templatesByStatus },
        reactions: q.reactionCount.get() ?? 0,
      };
      const marker = q.rebuildMarker.get();
      if (marker) counts.rebuild = marker.started_at > 0 ? { startedAt: marker.started_at, throughSeq: marker.through_seq } : { throughSeq: marker.through_seq };
      return counts;
    }).deferred();
  }

  lastEventSeq(): number {
    return this.q.lastSeq.get() ?? 0;
  }

  /** See `ProjectionStore.rebuildProjections`. One at a time: a second call waits for the first and runs after it. */
  rebuild(opts: RebuildOptions = {}): Promise<RebuildResult> {
    const run = this.rebuilding.then(() => this.rebuildNow(opts));
    this.rebuilding = run.catch(() => undefined);
    return run;
  }

  private async rebuildNow(opts: RebuildOptions): Promise<RebuildResult> {
    const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 2000));
    const q = this.q;
    const started = performance.now();
    this.db.transaction(() => {
      for (const kind of KINDS) this.db.prepare(`DELETE FROM ${SPECS[kind].table}`).run();
      q.startRebuild.run(Date.now());
    }).immediate();

    // Each batch is its own transaction, so a running server keeps ingesting in between.
    // The batch that finds the end also removes the marker: no event can be recorded
    // between the last batch and the projections being whole again.
    const step = this.db.transaction((after: number): { n: number; last: number } => {
      const recs = q.eventsAfter.all(after, batchSize);
      const writer = this.writer();
      for (const rec of recs) writer.apply(rec.seq, parseEventJson(rec.body));
      writer.flush();
      const last = recs.length > 0 ? recs[recs.length - 1]!.seq : after;
      if (recs.length < batchSize) q.endRebuild.run();
      else q.advanceRebuild.run(last);
      return { n: recs.length, last };
    }).immediate;

    let after = 0;
    let events = 0;
    let batches = 0;
    for (;;) {
      const { n, last } = step(after);
      events += n;
      batches++;
      after = last;
      if (n < batchSize) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const rows = {
      messages: q.messageCount.get() ?? 0,
      conversations: q.conversationCount.get() ?? 0,
      contacts: q.contactCount.get() ?? 0,
      templates: q.templateCount.get() ?? 0,
      reactions: q.reactionRowCount.get() ?? 0,
    };
    return { events, batches, ms: performance.now() - started, rows };
  }

  private getRow<T>(statements: KindStatements, key: string): T | undefined {
    const rec = statements.select.get(key);
    return rec === undefined ? undefined : (JSON.parse(rec.row) as T);
  }

  private page<T>(table: string, where: string[], params: unknown[], page: PageRequest): Page<T> {
    const limit = Number.isFinite(page.limit) ? Math.max(1, Math.floor(page.limit)) : 1;
    if (page.after !== undefined) {
      where.push('pos > ?');
      params.push(page.after);
    }
    params.push(limit + 1);
    const sql = `SELECT pos, row FROM ${table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY pos LIMIT ?`;
    let stmt = this.dynamic.get(sql);
    if (stmt === undefined) {
      if (this.dynamic.size >= STATEMENT_CACHE_LIMIT) this.dynamic.clear();
      stmt = this.db.prepare<unknown[], PosRow>(sql);
      this.dynamic.set(sql, stmt);
    }
    const recs = stmt.all(...params);
    const items = recs.slice(0, limit).map((r) => JSON.parse(r.row) as T);
    return recs.length > limit ? { items, next: recs[limit - 1]!.pos } : { items };
  }
}

function inList(where: string[], params: unknown[], column: string, values: string[] | undefined): void {
  if (values === undefined || values.length === 0) return;
  where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
  params.push(...values);
}

function prepareStatements(db: Database.Database) {
  const count = (sql: string) => db.prepare<[], number>(sql).pluck();
  return {
    reactionsOn: db.prepare<[string], string>("SELECT row FROM proj_reactions WHERE target_message_id = ? AND emoji <> ''").pluck(),
    messagesByStatus: db.prepare<[], { direction: string; status: string | null; n: number }>(
      'SELECT direction, status, COUNT(*) AS n FROM proj_messages GROUP BY direction, status',
    ),
    templatesByStatus: db.prepare<[], { status: string | null; n: number }>(
      'SELECT status, COUNT(*) AS n FROM proj_templates GROUP BY status',
    ),
    messageCount: count('SELECT COUNT(*) FROM proj_messages'),
    conversationCount: count('SELECT COUNT(*) FROM proj_conversations'),
    contactCount: count('SELECT COUNT(*) FROM proj_contacts'),
    templateCount: count('SELECT COUNT(*) FROM proj_templates'),
    reactionRowCount: count('SELECT COUNT(*) FROM proj_reactions'),
    reactionCount: count("SELECT COUNT(*) FROM proj_reactions WHERE emoji <> ''"),
    rebuildMarker: db.prepare<[], { started_at: number; through_seq: number }>('SELECT started_at, through_seq FROM proj_rebuild WHERE id = 1'),
    startRebuild: db.prepare<[number]>('INSERT OR REPLACE INTO proj_rebuild (id, started_at, through_seq) VALUES (1, ?, 0)'),
    advanceRebuild: db.prepare<[number]>('UPDATE proj_rebuild SET through_seq = ? WHERE id = 1'),
    endRebuild: db.prepare('DELETE FROM proj_rebuild'),
    eventsAfter: db.prepare<[number, number], { seq: number; body: string }>('SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
    lastSeq: count('SELECT COALESCE(MAX(seq), 0) FROM events'),
  };
}
