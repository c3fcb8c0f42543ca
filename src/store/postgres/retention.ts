/**
 * @module store/postgres/retention
 *
 * Pruning by age on a PostgreSQL store (rules in `retention/policy.ts`; the SQLite side in
 * `store/sqlite/retention.ts` walks the same way). Runs inside the caller's transaction,
 * which holds the events lock (so a batch and a recording batch never interleave on the
 * same projection rows) and the class's cursor row `FOR UPDATE` (so two processes never
 * prune the same rows). Each batch reads at most `limit` rows by primary key from the
 * cursor, or from the head of an index whose rows leave it when pruned.
 */
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
import type { Queryable } from './sql.js';

type Obj = { [key: string]: JsonValue };
type Step = PruneBatchResult & { cursor: number };
interface EventRow {
  seq: number;
  id: string;
  body: string | null;
}

export class PostgresRetention {
  /** One batch; with `dryRun`, the whole pass counted without writing. In the caller's transaction. */
  async prune(db: Queryable, request: PruneRequest, dryRun: boolean): Promise<PruneBatchResult> {
    if (!dryRun) {
      await db.query('INSERT INTO retention_cursors (class, position) VALUES ($1, 0) ON CONFLICT (class) DO NOTHING', [request.class]);
      await db.query('SELECT position FROM retention_cursors WHERE class = $1 FOR UPDATE', [request.class]);
      const { count, more } = await this.batch(db, request, false);
      return { count, more };
    }
    let count = 0;
    let cursor: number | undefined;
    for (;;) {
      const r = await this.batch(db, request, true, cursor);
      count += r.count;
      if (!r.more) return { count, more: false };
      cursor = r.cursor;
    }
  }

  private batch(db: Queryable, request: PruneRequest, dryRun: boolean, from?: number): Promise<Step> {
    switch (request.class) {
      case 'rawBodies':
        return this.rawBodies(db, request, dryRun, from);
      case 'messageContent':
        return this.messageContent(db, request, dryRun, from);
      case 'statuses':
      case 'accountEvents':
        return this.deleteEvents(db, request, request.class, dryRun, from);
      case 'deliveries':
        return this.deliveries(db, request, dryRun, from);
      case 'rejections':
        return this.rejections(db, request, dryRun, from);
    }
  }

  private async cursorOf(db: Queryable, cls: string): Promise<number> {
    const { rows } = await db.query<{ position: string }>('SELECT position FROM retention_cursors WHERE class = $1', [cls]);
    return rows[0] ? Number(rows[0].position) : 0;
  }

  private async saveCursor(db: Queryable, cls: string, position: number): Promise<void> {
    await db.query('UPDATE retention_cursors SET position = $2 WHERE class = $1', [cls, position]);
  }

  private async rawBodies(db: Queryable, request: PruneRequest, dryRun: boolean, from?: number): Promise<Step> {
    const start = from ?? (await this.cursorOf(db, 'rawBodies'));
    const { rows } = await db.query<{ id: string; state: string; received_at: string; pruned: boolean }>(
      'SELECT id, state, received_at, body_pruned_at IS NOT NULL AS pruned FROM journal WHERE id > $1 ORDER BY id LIMIT $2',
      [start, request.limit],
    );
    let position = start;
    let stopped = false;
    const ids: number[] = [];
    for (const row of rows) {
      if (row.state === 'pending' || Number(row.received_at) >= request.cutoff) {
        stopped = true;
        break;
      }
      position = Number(row.id);
      if (!row.pruned) ids.push(position);
    }
    if (!dryRun && ids.length > 0) {
      await db.query("UPDATE journal SET body = ''::bytea, headers = '{}', body_pruned_at = $1 WHERE state <> 'pending' AND id = ANY($2::bigint[])", [request.now, ids]);
    }
    if (!dryRun && position !== start) await this.saveCursor(db, 'rawBodies', position);
    return { count: ids.length, more: !stopped && rows.length === request.limit, cursor: position };
  }

  private async eventsPast(
    db: Queryable,
    cls: string,
    request: PruneRequest,
    from: number | undefined,
    types: readonly string[],
  ): Promise<{ rows: EventRow[]; start: number; more: boolean }> {
    const start = from ?? (await this.cursorOf(db, cls));
    const { rows } = await db.query<{ seq: string; id: string; received_at: string; body: string | null }>(
      `SELECT seq, id, received_at, CASE WHEN type = ANY($2::text[]) THEN body END AS body
         FROM events WHERE seq > $1 ORDER BY seq LIMIT $3`,
      [start, [...types], request.limit],
    );
    const out: EventRow[] = [];
    let stopped = false;
    for (const row of rows) {
      if (Number(row.received_at) >= request.cutoff) {
        stopped = true;
        break;
      }
      out.push({ seq: Number(row.seq), id: row.id, body: row.body });
    }
    return { rows: out, start, more: !stopped && rows.length === request.limit };
  }

  private async messageContent(db: Queryable, request: PruneRequest, dryRun: boolean, from?: number): Promise<Step> {
    const { rows, start, more } = await this.eventsPast(db, 'messageContent', request, from, CONTENT_EVENT_TYPES);
    let count = 0;
    const messageIds: string[] = [];
    const seqs: number[] = [];
    const bodies: string[] = [];
    for (const row of rows) {
      if (row.body === null) continue;
      const event = parseJsonText(row.body) as Obj;
      const redacted = redactEventContent(event);
      if (redacted === undefined) continue;
      count++;
      seqs.push(row.seq);
      bodies.push(stringifyJson(redacted));
      messageIds.push(...contentMessageIds(event));
    }
    if (!dryRun && seqs.length > 0) {
      // One statement for the batch: the events lock is held for as short a time as it can be.
      await db.query('UPDATE events AS e SET body = v.body FROM unnest($1::bigint[], $2::text[]) AS v(seq, body) WHERE e.seq = v.seq', [seqs, bodies]);
      await this.redactProjections(db, messageIds);
    }
    const position = rows.at(-1)?.seq ?? start;
    if (!dryRun && position !== start) await this.saveCursor(db, 'messageContent', position);
    // Outbound records: the oldest with text, off the head of their partial index.
    let outbound = 0;
    if (dryRun) {
      if (from === undefined) {
        const { rows: n } = await db.query<{ n: string }>('SELECT count(*) AS n FROM outbound_messages WHERE text IS NOT NULL AND recorded_at < $1', [request.cutoff]);
        outbound = Number(n[0]!.n);
      }
    } else {
      const { rows: ids } = await db.query<{ message_id: string }>(
        `UPDATE outbound_messages SET text = NULL WHERE message_id IN (
           SELECT message_id FROM outbound_messages WHERE text IS NOT NULL AND recorded_at < $1 ORDER BY recorded_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING message_id`,
        [request.cutoff, request.limit],
      );
      outbound = ids.length;
      if (outbound > 0) await db.query("DELETE FROM search_docs WHERE kind = 'outbound' AND ref = ANY($1::text[])", [ids.map((r) => r.message_id)]);
    }
    return { count: count + outbound, more: more || (!dryRun && outbound === request.limit), cursor: position };
  }

  private async redactProjections(db: Queryable, messageIds: string[]): Promise<void> {
    if (messageIds.length === 0) return;
    const conversations = new Set<string>();
    const messages = await db.query<{ pos: string; row: string }>('SELECT pos, row FROM proj_messages WHERE id = ANY($1::text[])', [messageIds]);
    const pos: string[] = [];
    const rows: string[] = [];
    for (const r of messages.rows) {
      const row = JSON.parse(r.row) as MessageRow;
      if (row.conversationKey !== undefined) conversations.add(row.conversationKey);
      const redacted = redactMessageRow(row);
      if (redacted) {
        pos.push(r.pos);
        rows.push(JSON.stringify(redacted));
      }
    }
    if (pos.length > 0) {
      await db.query('UPDATE proj_messages AS m SET row = v.row FROM unnest($1::bigint[], $2::text[]) AS v(pos, row) WHERE m.pos = v.pos', [pos, rows]);
    }
    if (conversations.size > 0) {
      const convs = await db.query<{ pos: string; row: string }>('SELECT pos, row FROM proj_conversations WHERE key = ANY($1::text[])', [[...conversations]]);
      for (const r of convs.rows) {
        const redacted = redactConversationRow(JSON.parse(r.row) as ConversationRow, messageIds);
        if (redacted) await db.query('UPDATE proj_conversations SET row = $1 WHERE pos = $2', [JSON.stringify(redacted), r.pos]);
      }
    }
    await db.query("DELETE FROM search_docs WHERE kind = 'message' AND ref = ANY($1::text[])", [messageIds]);
  }

  /** As on SQLite: deleted when every delivery succeeded; a running one stops the walk; a dead letter keeps its event. */
  private async deleteEvents(db: Queryable, request: PruneRequest, cls: 'statuses' | 'accountEvents', dryRun: boolean, from?: number): Promise<Step> {
    const walk = await this.eventsPast(db, cls, request, from, deletedEventTypes(cls));
    let position = walk.start;
    let more = walk.more;
    const candidates = walk.rows.filter((r) => r.body !== null).map((r) => r.id);
    const { rows: ds } = await db.query<{ id: string; event_id: string; state: string }>(
      'SELECT id, event_id, state FROM deliveries WHERE event_id = ANY($1::text[])',
      [candidates],
    );
    const byEvent = new Map<string, Array<{ id: number; state: string }>>();
    for (const d of ds) {
      const list = byEvent.get(d.event_id) ?? [];
      list.push({ id: Number(d.id), state: d.state });
      byEvent.set(d.event_id, list);
    }
    const seqs: number[] = [];
    const deliveries: number[] = [];
    for (const row of walk.rows) {
      if (row.body !== null) {
        const list = byEvent.get(row.id) ?? [];
        if (list.some((d) => d.state === 'pending' || d.state === 'in_flight')) {
          more = false;
          break;
        }
        if (!list.some((d) => d.state === 'dead')) {
          seqs.push(row.seq);
          for (const d of list) deliveries.push(d.id);
        }
      }
      position = row.seq;
    }
    if (!dryRun && seqs.length > 0) {
      await db.query('DELETE FROM delivery_attempts WHERE delivery_id = ANY($1::bigint[])', [deliveries]);
      await db.query('DELETE FROM deliveries WHERE id = ANY($1::bigint[])', [deliveries]);
      await db.query('DELETE FROM events WHERE seq = ANY($1::bigint[])', [seqs]);
    }
    if (!dryRun && position !== walk.start) await this.saveCursor(db, cls, position);
    return { count: seqs.length, more, cursor: position };
  }

  private async deliveries(db: Queryable, request: PruneRequest, dryRun: boolean, from?: number): Promise<Step> {
    const offset = dryRun ? (from ?? 0) : 0;
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM deliveries WHERE state = 'succeeded' AND completed_at < $1 ORDER BY completed_at, id LIMIT $2 OFFSET $3
         ${dryRun ? '' : 'FOR UPDATE SKIP LOCKED'}`,
      [request.cutoff, request.limit, offset],
    );
    const ids = rows.map((r) => Number(r.id));
    if (!dryRun && ids.length > 0) {
      await db.query('DELETE FROM delivery_attempts WHERE delivery_id = ANY($1::bigint[])', [ids]);
      await db.query('DELETE FROM deliveries WHERE id = ANY($1::bigint[])', [ids]);
    }
    return { count: ids.length, more: ids.length === request.limit, cursor: offset + ids.length };
  }

  private async rejections(db: Queryable, request: PruneRequest, dryRun: boolean, from?: number): Promise<Step> {
    const { rows } = await db.query<{ id: string; at: string }>('SELECT id, at FROM rejections WHERE id > $1 ORDER BY id LIMIT $2', [
      from ?? 0,
      request.limit,
    ]);
    const ids: number[] = [];
    let stopped = false;
    for (const row of rows) {
      if (Number(row.at) >= request.cutoff) {
        stopped = true;
        break;
      }
      ids.push(Number(row.id));
    }
    if (!dryRun && ids.length > 0) await db.query('DELETE FROM rejections WHERE id = ANY($1::bigint[])', [ids]);
    return { count: ids.length, more: !stopped && rows.length === request.limit, cursor: ids.at(-1) ?? from ?? 0 };
  }
}
