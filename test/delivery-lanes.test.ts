/**
 * A lane's next delivery is found at the same cost however many wait behind it. Every
 * outcome recorded asks of its lane (route, ordering key) whether it is busy, whether
 * something in it is runnable, and which delivery runs next; on a busy conversation with
 * thousands queued, a query that reads the lane's backlog to answer makes each delivery
 * dearer than the last (quadratic over the backlog). These tests read the query plans on
 * both stores: SQLite's must probe the lane index without sorting, and PostgreSQL's,
 * executed against a lane of a few thousand deliveries, must touch a handful of rows.
 * Timing is left to `bench/delivery-store.js` (one lane, two backlogs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../src/events/types.js';
import { BUSY_LANES_SQL, PROMOTE_LANES_SQL, RUNNABLE_LANES_SQL } from '../src/store/postgres/deliveries.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { LANE_SQL } from '../src/store/sqlite/deliveries.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { describePostgres, dropSchema, schemaName, TEST_POSTGRES_URL, urlFor } from './helpers/postgres.js';

const BACKLOG = 3_000;
const FROM = '16505550000';
const LANE = ['all', `conversation:1065:${FROM}`] as const;

/** `n` inbound messages from one contact, recorded in journal rows of 500: one lane of `n` deliveries. */
async function queueOneLane(store: Store, n: number): Promise<void> {
  await store.deliveries.setRoutes([{ name: 'all', sink: 'rx' }]);
  for (let first = 0; first < n; first += 500) {
    const [journalId] = await store.journal.append([{ channel: 'main', receivedAt: Date.now(), headers: {}, body: Buffer.from('{}'), verifiedBy: 'none' }]);
    await store.journal.claim(10);
    const events: BluetickEvent[] = [];
    for (let i = first; i < Math.min(n, first + 500); i++) {
      events.push({
        id: `evt_${i}`,
        type: 'message.received',
        provider: 'meta',
        channel: 'main',
        phoneNumberId: '1065',
        receivedAt: new Date().toISOString(),
        kind: 'text',
        text: `message ${i}`,
        from: FROM,
        data: { id: i },
      } as BluetickEvent);
    }
    await store.journal.record([{ journalId: journalId!, state: 'processed', events }]);
  }
}

describe('SQLite lane queries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bluetick-lanes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('probe the lane index for the head, with no sort and no scan', async () => {
    const file = join(dir, 'bluetick.db');
    const store = new SqliteStore(file);
    await store.migrate();
    await queueOneLane(store, BACKLOG);
    await store.close();

    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) FROM deliveries WHERE state = 'pending' AND blocked = 1").pluck().get()).toBe(BACKLOG - 1);
      for (const [name, sql] of Object.entries(LANE_SQL)) {
        const args = name === 'promote' ? [Date.now(), JSON.stringify([LANE])] : [...LANE];
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .all(...args)
          .map((r) => (r as { detail: string }).detail);
        const lanes = plan.filter((d) => /deliveries_lane_idx \(route=\? AND ordering_key=\?/.test(d));
        expect(lanes, `${name}: ${plan.join(' | ')}`).toHaveLength(1);
        expect(plan.filter((d) => /TEMP B-TREE|^SCAN (deliveries|d)\b/.test(d)), `${name}: ${plan.join(' | ')}`).toEqual([]);
      }
    } finally {
      db.close();
    }
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

/** Rows each node that reads `deliveries` produced, over all its loops. */
function deliveriesRowsRead(node: PlanNode, out: Array<{ node: string; rows: number }> = []): Array<{ node: string; rows: number }> {
  if (node['Relation Name'] === 'deliveries') out.push({ node: node['Node Type'], rows: node['Actual Rows'] * node['Actual Loops'] });
  for (const child of node.Plans ?? []) deliveriesRowsRead(child, out);
  return out;
}

describePostgres('PostgreSQL lane queries', () => {
  const schema = schemaName('lanes');
  afterAll(() => dropSchema(schema));

  it('read a handful of rows of a lane with thousands waiting', async () => {
    const store = await openPostgresStore(urlFor(schema), { poolSize: 2 });
    try {
      await queueOneLane(store, BACKLOG);
    } finally {
      await store.close();
    }
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      await client.query('ANALYZE deliveries');
      const lanes = [[LANE[0]], [LANE[1]]];
      const cases: Array<[string, string, unknown[]]> = [
        ['promote', PROMOTE_LANES_SQL, [...lanes, Date.now()]],
        ['busy', BUSY_LANES_SQL, lanes],
        ['runnable', RUNNABLE_LANES_SQL, lanes],
      ];
      for (const [name, sql, values] of cases) {
        // EXPLAIN ANALYZE runs the statement: the UPDATE is rolled back.
        await client.query('BEGIN');
        const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, values);
        await client.query('ROLLBACK');
        const read = deliveriesRowsRead(rows[0]!['QUERY PLAN'][0]!.Plan);
        expect(read.length, name).toBeGreaterThan(0);
        for (const r of read) expect(r.rows, `${name}: ${JSON.stringify(read)}`).toBeLessThanOrEqual(2);
      }
      const { rows: head } = await client.query<{ n: string }>("SELECT count(*) AS n FROM deliveries WHERE NOT blocked AND state = 'pending'");
      expect(Number(head[0]!.n)).toBe(1);
    } finally {
      await client.end();
    }
  });
});
