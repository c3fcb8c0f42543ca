/**
 * @module store/sqlite/retention
 *
 * Pruning by age on a SQLite store (rules in `retention/policy.ts`). One call is one small
 * transaction on the store's own connection, the store thread when the store has one, so
 * the pruner takes turns with the pipeline and the delivery worker instead of fighting them
 * for the write lock. Each batch reads at most `limit` rows by primary key from the class's
 * cursor (`retention_cursors`) or from the head of an index whose rows leave it when pruned,
 * so its cost does not grow with the history.
 *
 * The journal and the events are walked in id order and a walk stops at the first row that
 * is not past the limit; the journal walk also stops at the first row the pipeline has not
 * settled (still `pending`), which it never touches.
 */
import type Database from 'better-sqlite3';
import { parseJsonText, stringifyJson } from '../../events/json.js';
import type { JsonValue } from '../../events/types.js';
import type { ConversationRow, MessageRow } from '../../projections/index.js';
import {
  CONTENT_EVENT_TYPES,
  contentMessageIds,
  deletedEventTypes,
  redactConversationRow,
  redactEventContent,
  redactMessageRow,
  type PruneBatchResult,
  type PruneRequest,
} from '../../retention/policy.js';

type Obj = { [key: string]: JsonValue };

export class SqliteRetention {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.db = db;
  }

  /** A statement prepared once per connection (preparing costs more than running these). */
  private sql<P extends unknown[] = unknown[], R = unknown>(text: string): Database.Statement<P, R> {
    let stmt = this.statements.get(text);
    if (!stmt) this.statements.set(text, (stmt = this.db.prepare(text)));
    return stmt as unknown as Database.Statement<P, R>;
  }

  /** One batch of `request.class`; with `dryRun`, counts what the whole pass would do and changes nothing. */
  prune(request: PruneRequest, dryRun = false): PruneBatchResult {
    if (dryRun) return this.dryRun(request);
    return this.db.transaction(() => this.batch(request, false)).immediate();
  }

  private dryRun(request: PruneRequest): PruneBatchResult {
    // Walks batch after batch from the stored cursor without writing; a read transaction
    // keeps the walk on one snapshot.
    return this.db.transaction(() => {
      let count = 0;
      let cursor: number | undefined;
      for (;;) {
        const r = this.batch(request, true, cursor);
        count += r.count;
        if (!r.more) break;
        cursor = r.cursor;
      }
      return { count, more: false };
    })();
  }

  private batch(request: PruneRequest, dryRun: boolean, from?: number): PruneBatchResult & { cursor?: number } {
    switch (request.class) {
      case 'rawBodies':
        return this.rawBodies(request, dryRun, from);
      case 'messageContent':
        return this.messageContent(request, dryRun, from);
      case 'statuses':
      case 'accountEvents':
        return this.deleteEvents(request, request.class, dryRun, from);
      case 'deliveries':
        return this.deliveries(request, dryRun, from);
      case 'rejections':
        return this.rejections(request, dryRun, from);
    }
  }

  private cursorOf(cls: string): number {
    return this.sql<[string], number>('SELECT position FROM retention_cursors WHERE class = ?').pluck().get(cls) ?? 0;
  }

  private saveCursor(cls: string, position: number): void {
    this.sql('INSERT INTO retention_cursors (class, position) VALUES (?, ?) ON CONFLICT (class) DO UPDATE SET position = excluded.position')
      .run(cls, position);
  }

  /** Raw bodies of settled journal rows: emptied, headers dropped, `body_pruned_at` set. */
  private rawBodies(request: PruneRequest, dryRun: boolean, from?: number): PruneBatchResult & { cursor?: number } {
    const start = from ?? this.cursorOf('rawBodies');
    const rows = this.sql<[number, number], { id: number; state: string; received_at: number; pruned: number }>(
        'SELECT id, state, received_at, body_pruned_at IS NOT NULL AS pruned FROM journal WHERE id > ? ORDER BY id LIMIT ?',
      )
      .all(start, request.limit);
    let position = start;
    let stopped = false;
    const ids: number[] = [];
    for (const row of rows) {
      if (row.state === 'pending' || row.received_at >= request.cutoff) {
        stopped = true;
        break;
      }
      position = row.id;
      if (row.pruned === 0) ids.push(row.id);
    }
    if (!dryRun && ids.length > 0) {
      this.sql("UPDATE journal SET body = x'', headers = '{}', body_pruned_at = ? WHERE state <> 'pending' AND id IN (SELECT value FROM json_each(?))")
        .run(request.now, JSON.stringify(ids));
    }
    if (!dryRun && position !== start) this.saveCursor('rawBodies', position);
    return { count: ids.length, more: !stopped && rows.length === request.limit, cursor: position };
  }

  /** The next events after the class's cursor that are past the limit, in seq order. */
  private eventsPast(
    cls: string,
    request: PruneRequest,
    from: number | undefined,
    types: readonly string[],
  ): { rows: Array<{ seq: number; id: string; type: string; body: string | null }>; position: number; start: number; more: boolean } {
    const start = from ?? this.cursorOf(cls);
    const rows = this.sql<[string, number, number], { seq: number; id: string; type: string; received_at: number; body: string | null }>(
        `SELECT seq, id, type, received_at, CASE WHEN type IN (SELECT value FROM json_each(?)) THEN body END AS body
           FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
      )
      .all(JSON.stringify(types), start, request.limit);
    const out: Array<{ seq: number; id: string; type: string; body: string | null }> = [];
    let stopped = false;
    for (const row of rows) {
      if (row.received_at >= request.cutoff) {
        stopped = true;
        break;
      }
      out.push(row);
    }
    const position = out.length > 0 ? out[out.length - 1]!.seq : start;
    return { rows: out, position, start, more: !stopped && rows.length === request.limit };
  }

  /** Message content: the event's body, its message and conversation rows, its search documents. */
  private messageContent(request: PruneRequest, dryRun: boolean, from?: number): PruneBatchResult & { cursor?: number } {
    const { rows, position, start, more } = this.eventsPast('messageContent', request, from, CONTENT_EVENT_TYPES);
    let count = 0;
    const messageIds: string[] = [];
    const update = this.sql('UPDATE events SET body = ? WHERE seq = ?');
    for (const row of rows) {
      if (row.body === null) continue;
      const event = parseJsonText(row.body) as Obj;
      const redacted = redactEventContent(event);
      if (redacted === undefined) continue;
      count++;
      if (dryRun) continue;
      update.run(stringifyJson(redacted), row.seq);
      messageIds.push(...contentMessageIds(event));
    }
    this.redactProjections(messageIds);
    if (!dryRun && position !== start) this.saveCursor('messageContent', position);
    // Outbound records: the oldest with text, off the head of their partial index.
    const outbound = dryRun
      ? from === undefined
        ? this.sql<[number], number>('SELECT count(*) FROM outbound_messages WHERE text IS NOT NULL AND recorded_at < ?').pluck().get(request.cutoff)!
        : 0
      : this.redactOutbound(request);
    return { count: count + outbound, more: more || (!dryRun && outbound === request.limit), cursor: position };
  }

  /** Empties the text of up to `limit` outbound records recorded before the cutoff, and drops their search documents. */
  private redactOutbound(request: PruneRequest): number {
    const ids = this.sql<[number, number], string>(
      'SELECT message_id FROM outbound_messages WHERE text IS NOT NULL AND recorded_at < ? ORDER BY recorded_at LIMIT ?',
    )
      .pluck()
      .all(request.cutoff, request.limit);
    if (ids.length === 0) return 0;
    const list = JSON.stringify(ids);
    this.sql('UPDATE outbound_messages SET text = NULL WHERE message_id IN (SELECT value FROM json_each(?))').run(list);
    const docs = this.sql<[string], number>("SELECT id FROM search_docs WHERE kind = 'outbound' AND ref IN (SELECT value FROM json_each(?))").pluck().all(list);
    if (docs.length > 0) {
      const docList = JSON.stringify(docs);
      this.sql('DELETE FROM search_fts WHERE rowid IN (SELECT value FROM json_each(?))').run(docList);
      this.sql('DELETE FROM search_docs WHERE id IN (SELECT value FROM json_each(?))').run(docList);
    }
    return ids.length;
  }

  private redactProjections(messageIds: string[]): void {
    if (messageIds.length === 0) return;
    const list = JSON.stringify(messageIds);
    const conversations = new Set<string>();
    for (const r of this.sql<[string], { pos: number; row: string }>('SELECT pos, row FROM proj_messages WHERE id IN (SELECT value FROM json_each(?))')
      .all(list)) {
      const row = JSON.parse(r.row) as MessageRow;
      if (row.conversationKey !== undefined) conversations.add(row.conversationKey);
      const redacted = redactMessageRow(row);
      if (redacted) this.sql('UPDATE proj_messages SET row = ? WHERE pos = ?').run(JSON.stringify(redacted), r.pos);
    }
    for (const key of conversations) {
      const r = this.sql<[string], { pos: number; row: string }>('SELECT pos, row FROM proj_conversations WHERE key = ?').get(key);
      if (!r) continue;
      const redacted = redactConversationRow(JSON.parse(r.row) as ConversationRow, messageIds);
      if (redacted) this.sql('UPDATE proj_conversations SET row = ? WHERE pos = ?').run(JSON.stringify(redacted), r.pos);
    }
    const docs = this.sql<[string], number>("SELECT id FROM search_docs WHERE kind = 'message' AND ref IN (SELECT value FROM json_each(?))")
      .pluck()
      .all(list);
    if (docs.length > 0) {
      const ids = JSON.stringify(docs);
      this.sql('DELETE FROM search_fts WHERE rowid IN (SELECT value FROM json_each(?))').run(ids);
      this.sql('DELETE FROM search_docs WHERE id IN (SELECT value FROM json_each(?))').run(ids);
    }
  }

  /**
   * Status or account events: deleted with their deliveries and attempts when every delivery
   * succeeded. An event whose delivery is still running stops the walk (it is pruned once it
   * finishes); one with a dead letter is kept, so the dead letter can still be redriven.
   */
  private deleteEvents(request: PruneRequest, cls: 'statuses' | 'accountEvents', dryRun: boolean, from?: number): PruneBatchResult & { cursor?: number } {
    const types = deletedEventTypes(cls);
    const walk = this.eventsPast(cls, request, from, types);
    let position = walk.start;
    let more = walk.more;
    const seqs: number[] = [];
    const deliveries: number[] = [];
    const states = this.sql<[string], { id: number; state: string }>('SELECT id, state FROM deliveries WHERE event_id = ?');
    for (const row of walk.rows) {
      if (row.body !== null) {
        const ds = states.all(row.id);
        if (ds.some((d) => d.state === 'pending' || d.state === 'in_flight')) {
          more = false;
          break;
        }
        if (!ds.some((d) => d.state === 'dead')) {
          seqs.push(row.seq);
          for (const d of ds) deliveries.push(d.id);
        }
      }
      position = row.seq;
    }
    if (!dryRun && seqs.length > 0) {
      const ids = JSON.stringify(deliveries);
      this.sql('DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?))').run(ids);
      this.sql('DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?))').run(ids);
      this.sql('DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?))').run(JSON.stringify(seqs));
    }
    if (!dryRun && position !== walk.start) this.saveCursor(cls, position);
    return { count: seqs.length, more, cursor: position };
  }

  /** Succeeded deliveries completed before the cutoff, with their attempts (oldest first, by index). */
  private deliveries(request: PruneRequest, dryRun: boolean, from?: number): PruneBatchResult & { cursor?: number } {
    // A dry run cannot delete, so it pages by offset through the same index.
    const offset = dryRun ? (from ?? 0) : 0;
    const ids = this.sql<[number, number, number], number>(
        "SELECT id FROM deliveries WHERE state = 'succeeded' AND completed_at < ? ORDER BY completed_at, id LIMIT ? OFFSET ?",
      )
      .pluck()
      .all(request.cutoff, request.limit, offset);
    if (!dryRun && ids.length > 0) {
      const list = JSON.stringify(ids);
      this.sql('DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?))').run(list);
      this.sql('DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?))').run(list);
    }
    return { count: ids.length, more: ids.length === request.limit, cursor: offset + ids.length };
  }

  /** Rejections refused before the cutoff, oldest first. */
  private rejections(request: PruneRequest, dryRun: boolean, from?: number): PruneBatchResult & { cursor?: number } {
    const rows = this.sql<[number, number], { id: number; at: number }>('SELECT id, at FROM rejections WHERE id > ? ORDER BY id LIMIT ?')
      .all(from ?? 0, request.limit);
    const ids: number[] = [];
    let stopped = false;
    for (const row of rows) {
      if (row.at >= request.cutoff) {
        stopped = true;
        break;
      }
      ids.push(row.id);
    }
    if (!dryRun && ids.length > 0) this.sql('DELETE FROM rejections WHERE id IN (SELECT value FROM json_each(?))').run(JSON.stringify(ids));
    return { count: ids.length, more: !stopped && rows.length === request.limit, cursor: ids.at(-1) ?? from ?? 0 };
  }
}
