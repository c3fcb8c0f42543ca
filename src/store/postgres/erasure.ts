/**
 * @module store/postgres/erasure
 *
 * Erasing one person from a PostgreSQL store, and screening what the pipeline records
 * against the tombstones (rules in `store/erasure.ts`). Both run inside a transaction that
 * holds the events lock, so an erase and a recording batch never interleave. The HMAC key
 * lives in the `erasure_key` table (processes sharing the store share no folder). Every
 * process keeps the tombstones in a Set and reloads it when the table's row count differs
 * (another process erased someone): one small query per recording batch.
 *
 * PostgreSQL keeps the old row versions until `VACUUM` reclaims them; the docs say so.
 */
import { parseEventJson } from '../../events/normalize.js';
import {
  allForms,
  isPersonsEvent,
  matcherOf,
  newErasureKey,
  redactJsonText,
  tally,
  tombstoneMatcher,
  tombstoneOf,
  type ErasureReceipt,
} from '../erasure.js';
import type { JournalOutcome } from '../store.js';
import type { Queryable } from './sql.js';

const PROJECTION_TABLES = ['proj_messages', 'proj_conversations', 'proj_contacts', 'proj_reactions', 'proj_consent'];

/** The header an erasure adds to a journal row whose body it rewrote. */
const REDACTED_HEADER = 'x-bluetick-redacted';

export class PostgresErasure {
  private key: string | undefined;
  private tombstones = new Set<string>();

  /** Drops events about erased people; redacts their journal rows. In the recording transaction. */
  async screen(db: Queryable, outcomes: JournalOutcome[]): Promise<JournalOutcome[]> {
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM erasure_tombstones');
    const count = Number(rows[0]!.n);
    if (count === 0) return outcomes;
    if (count !== this.tombstones.size) {
      const all = await db.query<{ hash: string }>('SELECT hash FROM erasure_tombstones');
      this.tombstones = new Set(all.rows.map((r) => r.hash));
    }
    const isErased = tombstoneMatcher(await this.loadKey(db), this.tombstones);
    const out: JournalOutcome[] = [];
    for (const o of outcomes) {
      const kept = o.events.filter((e) => !isPersonsEvent(e, isErased));
      if (kept.length !== o.events.length) await this.redactJournalRow(db, o.journalId, isErased, Date.now());
      out.push(kept.length === o.events.length ? o : { ...o, events: kept });
    }
    return out;
  }

  /** Erases the person known by `ids`, inside the caller's transaction (holding the events lock). */
  async erase(db: Queryable, ids: string[]): Promise<ErasureReceipt> {
    const forms = allForms(ids);
    const receipt: ErasureReceipt = { identifiers: forms, tables: {}, tombstones: 0, walTruncated: true };
    if (forms.length === 0) return receipt;
    const key = await this.loadKey(db);
    const isErased = matcherOf(forms);
    const now = Date.now();
    const { seqs, messageIds } = await this.eraseEvents(db, forms, isErased, receipt);
    const deliveries = (await db.query<{ id: number; dead: boolean }>("SELECT id, state = 'dead' AS dead FROM deliveries WHERE event_seq = ANY($1::bigint[])", [seqs])).rows;
    const deliveryIds = deliveries.map((d) => d.id);
    const attempts = await db.query('DELETE FROM delivery_attempts WHERE delivery_id = ANY($1::bigint[])', [deliveryIds]);
    await db.query('DELETE FROM deliveries WHERE id = ANY($1::bigint[])', [deliveryIds]);
    await db.query('DELETE FROM events WHERE seq = ANY($1::bigint[])', [seqs]);
    tally(receipt, 'delivery_attempts', 'deleted', attempts.rowCount ?? 0);
    tally(receipt, 'deliveries', 'deleted', deliveryIds.length);
    tally(receipt, 'dead_letters', 'deleted', deliveries.filter((d) => d.dead).length);
    let journal = 0;
    for (const id of await this.idsContaining<number>(db, 'journal', 'id', "convert_from(body, 'UTF8')", forms)) {
      if (await this.redactJournalRow(db, id, isErased, now)) journal++;
    }
    tally(receipt, 'journal', 'redacted', journal);
    for (const table of PROJECTION_TABLES) {
      const pos = await this.idsContaining<number>(db, table, 'pos', 'row', forms);
      await db.query(`DELETE FROM ${table} WHERE pos = ANY($1::bigint[])`, [pos]);
      tally(receipt, table, 'deleted', pos.length);
    }
    const outbound = await db.query<{ message_id: string }>('DELETE FROM outbound_messages WHERE recipient = ANY($1::text[]) RETURNING message_id', [forms]);
    tally(receipt, 'outbound_messages', 'deleted', outbound.rowCount ?? 0);
    const refs = [...forms, ...messageIds, ...outbound.rows.map((r) => r.message_id)];
    const search = await db.query(
      `DELETE FROM search_docs WHERE ref = ANY($1::text[])
         OR EXISTS (SELECT 1 FROM unnest($2::text[]) AS f(v) WHERE position(f.v in title) > 0 OR position(f.v in body) > 0)`,
      [refs, forms],
    );
    tally(receipt, 'search_docs', 'deleted', search.rowCount ?? 0);
    const hashes = [...new Set(forms.map((form) => tombstoneOf(key, form)))];
    const inserted = await db.query('INSERT INTO erasure_tombstones (hash, erased_at) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING', [hashes, now]);
    receipt.tombstones = inserted.rowCount ?? 0;
    for (const hash of hashes) this.tombstones.add(hash);
    return receipt;
  }

  private async eraseEvents(db: Queryable, forms: string[], isErased: (id: string) => boolean, receipt: ErasureReceipt): Promise<{ seqs: number[]; messageIds: string[] }> {
    const seqs: number[] = [];
    const messageIds: string[] = [];
    let redacted = 0;
    const quoted = forms.map((f) => JSON.stringify(f));
    const { rows } = await db.query<{ seq: string; body: string; message_id: string | null; from_id: string | null }>(
      `SELECT seq, body, message_id, from_id FROM events
        WHERE from_id = ANY($1::text[]) OR EXISTS (SELECT 1 FROM unnest($2::text[]) AS f(v) WHERE position(f.v in body) > 0)`,
      [forms, quoted],
    );
    for (const row of rows) {
      const seq = Number(row.seq);
      if ((row.from_id !== null && isErased(row.from_id)) || isPersonsEvent(parseEventJson(row.body), isErased)) {
        seqs.push(seq);
        if (row.message_id !== null) messageIds.push(row.message_id);
        continue;
      }
      const body = redactJsonText(row.body, isErased);
      if (body === undefined) continue;
      await db.query('UPDATE events SET body = $1 WHERE seq = $2', [body, seq]);
      redacted++;
    }
    tally(receipt, 'events', 'redacted', redacted);
    tally(receipt, 'events', 'deleted', seqs.length);
    return { seqs, messageIds };
  }

  private async redactJournalRow(db: Queryable, id: number, isErased: (id: string) => boolean, now: number): Promise<boolean> {
    const { rows } = await db.query<{ body: Buffer; headers: string }>('SELECT body, headers FROM journal WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) return false;
    const body = redactJsonText(row.body.toString('utf8'), isErased);
    if (body === undefined) return false;
    const headers = (typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers) as Record<string, string>;
    for (const name of Object.keys(headers)) if (name.toLowerCase().includes('signature')) delete headers[name];
    headers[REDACTED_HEADER] = new Date(now).toISOString();
    await db.query('UPDATE journal SET body = $1, headers = $2, redacted_at = $3 WHERE id = $4', [Buffer.from(body, 'utf8'), JSON.stringify(headers), now, id]);
    return true;
  }

  /** Keys of the rows whose JSON `column` holds any of `forms` as a quoted value. */
  private async idsContaining<T>(db: Queryable, table: string, key: string, column: string, forms: string[]): Promise<T[]> {
    const { rows } = await db.query<{ k: T }>(
      `SELECT ${key} AS k FROM ${table} WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS f(v) WHERE position(f.v in ${column}) > 0)`,
      [forms.map((f) => JSON.stringify(f))],
    );
    return rows.map((r) => (typeof r.k === 'string' && key !== 'message_id' ? (Number(r.k) as T) : r.k));
  }

  private async loadKey(db: Queryable): Promise<string> {
    if (this.key !== undefined) return this.key;
    await db.query('INSERT INTO erasure_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [newErasureKey()]);
    const { rows } = await db.query<{ key: string }>('SELECT key FROM erasure_key WHERE id = 1');
    return (this.key = rows[0]!.key);
  }
}
