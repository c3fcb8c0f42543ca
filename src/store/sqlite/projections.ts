/**
 * @module store/sqlite/projections
 *
 * The SQLite side of the projections (`migrations/sqlite/0002_projections.sql`): applying
 * events to the projection tables, reading them, and rebuilding them from the events.
 * The reducers themselves are pure (`src/projections`), and what both backends share (tables,
 * columns, applying an event to cached rows, filters as conditions) is in
 * `store/projection-rows.ts`; this file loads the rows an event touches and writes back what
 * changed, in SQLite's SQL.
 *
 * {@link ProjectionWriter} is the one place rows are written, used both by
 * `SqliteStore.journal.record` (inside its transaction, for each new event) and by
 * {@link SqliteProjections.rebuild} (one writer per batch): both paths run the same code,
 * which is what makes a rebuild equal the incremental result byte for byte.
 */
import type Database from 'better-sqlite3';
import { parseEventJson } from '../../events/normalize.js';
import type { BluetickEvent } from '../../events/types.js';
import {
  currentReactions,
  keysTouched,
  type TouchedKeys,
  type ContactRow,
  type ConversationRow,
  type MessageRow,
  type ReactionRow,
  type TemplateRow,
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
import { whereOf } from './sql.js';
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

interface KindStatements {
  select: Database.Statement<[string], { pos: number; row: string }>;
  /** Every stored row among a JSON array of keys: one statement for a whole batch. */
  selectMany: Database.Statement<[string], { key: string; pos: number; row: string }>;
  insert: Database.Statement<Column[]>;
  /** By the row's position (its rowid), which may move to a smaller one in the same step. */
  update: Database.Statement<Column[]>;
  /**
   * The same when the position stays (nearly always): with the rowid out of the SET list,
   * SQLite rewrites only the indexes over the columns set, not every index of the table.
   */
  updateInPlace: Database.Statement<Column[]>;
}

function prepareKind(db: Database.Database, spec: ProjectionSpec): KindStatements {
  const cols = spec.columns.map(([name]) => name);
  return {
    select: db.prepare(`SELECT pos, row FROM ${spec.table} WHERE ${spec.key} = ?`),
    insert: db.prepare<Column[]>(
      `INSERT INTO ${spec.table} (pos, ${spec.key}, ${cols.join(', ')}, row) VALUES (?, ?, ${cols.map(() => '?').join(', ')}, ?)`,
    ),
    selectMany: db.prepare(
      `SELECT ${spec.key} AS key, pos, row FROM ${spec.table} WHERE ${spec.key} IN (SELECT value FROM json_each(?))`,
    ),
    update: db.prepare<Column[]>(`UPDATE ${spec.table} SET pos = ?, ${cols.map((c) => `${c} = ?`).join(', ')}, row = ? WHERE pos = ?`),
    updateInPlace: db.prepare<Column[]>(`UPDATE ${spec.table} SET ${cols.map((c) => `${c} = ?`).join(', ')}, row = ? WHERE pos = ?`),
  };
}

/**
 * Applies events to the projection tables through a cache of the rows it touched, loading
 * each row on first use; `flush` writes the changed rows. Use one writer per transaction,
 * and call `apply` in `seq` order.
 */
export class ProjectionWriter extends ProjectionCache {
  private readonly statements: Record<Kind, KindStatements>;

  constructor(statements: Record<Kind, KindStatements>) {
    super();
    this.statements = statements;
  }

  protected override entry(kind: Kind, key: string): CachedRow {
    return this.cache[kind].get(key) ?? this.remember(kind, key, this.statements[kind].select.get(key));
  }

  /**
   * Loads every row `events` touch that is not cached yet, one statement per kind (instead
   * of one per row on first use). Returns each event's touched keys, for {@link apply}.
   */
  preload(events: readonly BluetickEvent[]): TouchedKeys[] {
    const touched = events.map(keysTouched);
    for (const kind of KINDS) {
      const cached = this.cache[kind];
      const wanted = new Set<string>();
      for (const keys of touched) for (const key of keys[kind]) if (!cached.has(key)) wanted.add(key);
      if (wanted.size === 0) continue;
      for (const r of this.statements[kind].selectMany.all(JSON.stringify([...wanted]))) {
        this.remember(kind, r.key, r);
        wanted.delete(r.key);
      }
      for (const key of wanted) this.remember(kind, key, undefined);
    }
    return touched;
  }

  /** Applies one event recorded with `seq` to the rows it touches (`keys`: from {@link preload}). */
  apply(seq: number, event: BluetickEvent, keys: TouchedKeys = keysTouched(event)): void {
    this.applyTouched(seq, event, keys);
  }

  /** Writes every changed row and forgets the cache. */
  flush(): void {
    for (const kind of KINDS) {
      const spec = PROJECTIONS[kind];
      const q = this.statements[kind];
      for (const [key, entry] of this.cache[kind]) {
        if (!entry.dirty) continue;
        const values = spec.values(entry.row as never);
        const json = JSON.stringify(entry.row);
        if (entry.storedPos === undefined) {
          q.insert.run(entry.pos!, key, ...values, json);
        } else if (entry.pos === entry.storedPos) {
          q.updateInPlace.run(...values, json, entry.storedPos);
        } else {
          q.update.run(entry.pos!, ...values, json, entry.storedPos);
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
      messages: prepareKind(db, PROJECTIONS.messages),
      conversations: prepareKind(db, PROJECTIONS.conversations),
      contacts: prepareKind(db, PROJECTIONS.contacts),
      templates: prepareKind(db, PROJECTIONS.templates),
      reactions: prepareKind(db, PROJECTIONS.reactions),
      // Account state: consent and health.
      consent: prepareKind(db, PROJECTIONS.consent),
      phoneNumbers: prepareKind(db, PROJECTIONS.phoneNumbers),
      businessAccounts: prepareKind(db, PROJECTIONS.businessAccounts),
      flows: prepareKind(db, PROJECTIONS.flows),
    };
    this.q = prepareStatements(db);
  }

  /** A writer for one transaction. */
  writer(): ProjectionWriter {
    return new ProjectionWriter(this.kinds);
  }

  async getMessage(id: string): Promise<MessageRow | undefined> {
    return this.getRow(this.kinds.messages, id);
  }

  async getConversation(key: string): Promise<ConversationRow | undefined> {
    return this.getRow(this.kinds.conversations, key);
  }

  async getContact(waId: string): Promise<ContactRow | undefined> {
    return this.getRow(this.kinds.contacts, waId);
  }

  async getTemplate(key: string): Promise<TemplateRow | undefined> {
    return this.getRow(this.kinds.templates, key);
  }

  async listReactions(targetMessageId: string): Promise<ReactionRow[]> {
    const rows = this.q.reactionsOn.all(targetMessageId).map((r) => JSON.parse(r) as ReactionRow);
    return currentReactions(rows, targetMessageId);
  }

  async listMessages(filter: MessageFilter, page: PageRequest): Promise<Page<MessageRow>> {
    return this.page('messages', messageConditions(filter), page);
  }

  async listConversations(filter: ConversationFilter, page: PageRequest): Promise<Page<ConversationRow>> {
    return this.page('conversations', conversationConditions(filter), page);
  }

  async listContacts(filter: ContactFilter, page: PageRequest): Promise<Page<ContactRow>> {
    return this.page('contacts', contactConditions(filter), page);
  }

  async listTemplates(filter: TemplateFilter, page: PageRequest): Promise<Page<TemplateRow>> {
    return this.page('templates', templateConditions(filter), page);
  }

  async listConsent(filter: ConsentFilter, page: PageRequest): Promise<Page<ConsentRow>> {
    return this.page('consent', consentConditions(filter), page);
  }

  async listHealth(kind: HealthKind, page: PageRequest): Promise<Page<HealthRow>> {
    return this.page(kind, [], page);
  }

  async getHealth(kind: HealthKind, key: string): Promise<HealthRow | undefined> {
    return this.getRow(this.kinds[kind], key);
  }

  async counts(): Promise<ProjectionCounts> {
    const q = this.q;
    return this.db
      .transaction(
        (): ProjectionCounts =>
          countsOf(
            q.messagesByStatus.all(),
            q.templatesByStatus.all(),
            {
              conversations: q.conversationCount.get() ?? 0,
              contacts: q.contactCount.get() ?? 0,
              reactions: q.reactionCount.get() ?? 0,
            },
            q.rebuildMarker.get(),
          ),
      )
      .deferred();
  }

  async lastEventSeq(): Promise<number> {
    return this.q.lastSeq.get() ?? 0;
  }

  /** See `ProjectionStore.projections.rebuild`. One at a time: a second call waits for the first and runs after it. */
  rebuild(opts: RebuildOptions = {}): Promise<RebuildResult> {
    const run = this.rebuilding.then(() => this.rebuildNow(opts));
    this.rebuilding = run.catch(() => undefined);
    return run;
  }

  private async rebuildNow(opts: RebuildOptions): Promise<RebuildResult> {
    const batchSize = rebuildBatchSize(opts);
    const q = this.q;
    const started = performance.now();
    this.db.transaction(() => {
      for (const kind of KINDS) this.db.prepare(`DELETE FROM ${PROJECTIONS[kind].table}`).run();
      q.startRebuild.run(Date.now());
    }).immediate();

    // Each batch is its own transaction, so a running server keeps ingesting in between.
    // The batch that finds the end also removes the marker: no event can be recorded
    // between the last batch and the projections being whole again.
    const step = this.db.transaction((after: number): { n: number; last: number } => {
      const recs = q.eventsAfter.all(after, batchSize);
      const writer = this.writer();
      const events = recs.map((rec) => parseEventJson(rec.body));
      const touched = writer.preload(events);
      for (let i = 0; i < recs.length; i++) writer.apply(recs[i]!.seq, events[i]!, touched[i]);
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

  private page<T>(kind: Kind, conditions: readonly Condition[], page: PageRequest): Page<T> {
    const limit = Number.isFinite(page.limit) ? Math.max(1, Math.floor(page.limit)) : 1;
    const { where, params } = whereOf(conditions);
    if (page.after !== undefined) {
      where.push('pos > ?');
      params.push(page.after);
    }
    params.push(limit + 1);
    const table = PROJECTIONS[kind].table;
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
