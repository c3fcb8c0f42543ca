/**
 * Erasing one person, over real HTTP into a real SQLite store and the real PostgreSQL: a
 * batch holding two people loses only the erased person's items; afterwards the SQLite
 * database file and its WAL hold neither their number nor their message texts, the other
 * person's data is intact, a viewer may not erase, a redelivered old body adds nothing back,
 * and `bluetick erase` prints the receipt.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runErase } from '../src/cli/commands/erase.js';
import { parseJsonText } from '../src/events/json.js';
import { http, waitFor } from './helpers/delivery.js';
import { adminQuery, describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const ADMIN = 'erasure-test-admin-token-0123456789';
const PHONE_ID = '106540352242922';
const DISPLAY = '15550783881';
/** The person to erase, with a BSUID and a username linked to the number. */
const ERIN = '16315550144';
const ERIN_BSUID = 'US.71021948813327650077';
const ERIN_TEXTS = ['quokkaphrase violetmoon', 'zebrafinch secondnote'];
/** Another person in the same batch, who keeps everything. */
const OTTO = '16315550233';
const OTTO_TEXT = 'otterkeeps marigold';
const T0 = 1_780_304_400;

function envelope(value: Record<string, unknown>): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', time: T0, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: DISPLAY, phone_number_id: PHONE_ID }, ...value } }] }],
  });
}

function text(id: string, from: string, body: string, minute: number, extra: Record<string, string> = {}): Record<string, unknown> {
  return { from, id: `wamid.${id}`, timestamp: String(T0 + minute * 60), type: 'text', text: { body }, ...extra };
}

/** One batch with both people; one with Erin alone; a status of a message the business sent Erin. */
const SHARED = envelope({
  contacts: [
    { wa_id: ERIN, user_id: ERIN_BSUID, profile: { name: 'Erin Quill' } },
    { wa_id: OTTO, profile: { name: 'Otto Brandt' } },
  ],
  messages: [text('e1', ERIN, ERIN_TEXTS[0]!, 1, { from_user_id: ERIN_BSUID }), text('o1', OTTO, OTTO_TEXT, 2)],
});
const ERIN_ONLY = envelope({ contacts: [{ wa_id: ERIN, user_id: ERIN_BSUID, profile: { name: 'Erin Quill' } }], messages: [text('e2', ERIN, ERIN_TEXTS[1]!, 3)] });
const STATUS = envelope({
  statuses: [{ id: 'wamid.out1', status: 'delivered', timestamp: String(T0 + 240), recipient_id: ERIN, recipient_user_id: ERIN_BSUID }],
});

interface Answer {
  status: number;
  body: any;
}

function erasureSuite(store: () => { url?: string; schema?: string }) {
  let server: TempServer;
  let viewer = '';

  async function call(token: string, method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.running.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : parseJsonText(text) };
  }

  async function post(body: string): Promise<void> {
    const res = await http(server.running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
  }

  /** Every place the store could hold a needle: the SQLite files' bytes (store, inbox and their WALs), or every PostgreSQL table as text. */
  async function occurrences(needle: string): Promise<string[]> {
    const { schema } = store();
    if (schema === undefined) {
      const db = join(server.dir, 'bluetick.db');
      const hits = [db, `${db}-wal`].filter((f) => existsSync(f) && readFileSync(f).includes(Buffer.from(needle, 'utf8')));
      return hits;
    }
    const tables = await adminQuery<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'", [schema]);
    const found: string[] = [];
    for (const { table_name } of tables) {
      const [row] = await adminQuery<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}"."${table_name}" t WHERE position($1 in t::text) > 0 OR position(convert_to($1, 'UTF8') in convert_to(t::text, 'UTF8')) > 0 OR position(encode(convert_to($1, 'UTF8'), 'hex') in t::text) > 0`,
        [needle],
      );
      if (Number(row!.n) > 0) found.push(table_name);
    }
    return found;
  }

  beforeAll(async () => {
    const { url } = store();
    server = await startTempServer('bluetick-erasure-', { adminToken: ADMIN, channels: [{ name: 'main' }], ...(url !== undefined ? { store: { url } } : {}) });
    const created = await call(ADMIN, 'POST', '/api/tokens', { name: 'watcher', role: 'viewer' });
    expect(created.status).toBe(201);
    viewer = created.body.token;
    for (const body of [SHARED, ERIN_ONLY, STATUS]) await post(body);
    await server.running.pipeline.drain();
    expect((await call(ADMIN, 'POST', '/api/outbound', { messageId: 'wamid.out1', to: ERIN, text: 'a reply to erin: pelicanword' })).status).toBeLessThan(300);
    // The search index follows the events in the background: wait until it has Erin's words.
    await waitFor('the search index to hold both people', async () => {
      const erin = await call(ADMIN, 'GET', '/api/search?q=quokkaphrase');
      const otto = await call(ADMIN, 'GET', '/api/search?q=otterkeeps');
      return erin.body?.items?.length > 0 && otto.body?.items?.length > 0;
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('refuses a viewer and keeps everything', async () => {
    const res = await call(viewer, 'DELETE', `/api/contacts/${ERIN}`);
    expect(res.status).toBe(403);
    expect((await call(ADMIN, 'GET', `/api/contacts/${ERIN}`)).status).toBe(200);
    // What the erase must remove is there to begin with (the search below can find it).
    for (const needle of [ERIN, ERIN_TEXTS[0]!, 'pelicanword']) expect((await occurrences(needle)).length, needle).toBeGreaterThan(0);
  });

  it('erases the person everywhere from their BSUID, keeping the other person in the same batch', async () => {
    const res = await call(ADMIN, 'DELETE', `/api/contacts/${encodeURIComponent(ERIN_BSUID)}`);
    expect(res.status).toBe(200);
    expect(res.body.identifiers).toEqual(expect.arrayContaining([ERIN, ERIN_BSUID]));
    expect(res.body.tables.events.deleted).toBe(3);
    expect(res.body.tables.journal.redacted).toBe(3);
    expect(res.body.tables.proj_contacts.deleted).toBeGreaterThanOrEqual(2);
    expect(res.body.tables.outbound_messages.deleted).toBe(1);
    expect(res.body.tables.search_docs.deleted).toBeGreaterThan(0);
    expect(res.body.tombstones).toBeGreaterThanOrEqual(2);

    for (const needle of [ERIN, ERIN_BSUID, 'Erin Quill', 'pelicanword', ...ERIN_TEXTS]) expect(await occurrences(needle), needle).toEqual([]);
    for (const needle of [OTTO, OTTO_TEXT, 'Otto Brandt']) expect((await occurrences(needle)).length, needle).toBeGreaterThan(0);

    expect((await call(ADMIN, 'GET', `/api/contacts/${ERIN}`)).status).toBe(404);
    expect((await call(ADMIN, 'GET', `/api/contacts/${OTTO}`)).body.profile?.name ?? 'Otto Brandt').toBe('Otto Brandt');
    expect(JSON.stringify((await call(ADMIN, 'GET', '/api/messages/wamid.o1')).body)).toContain(OTTO_TEXT);
    expect((await call(ADMIN, 'GET', '/api/search?q=quokkaphrase')).body.items).toEqual([]);
    expect((await call(ADMIN, 'GET', '/api/search?q=otterkeeps')).body.items.length).toBe(1);
    // The shared journal row keeps Otto's items and is marked as rewritten.
    const journal = (await server.running.store.journal.list({}, { limit: 10 })).items;
    const shared = journal.find((j) => j.body.includes(Buffer.from(OTTO_TEXT)))!;
    expect(shared.headers['x-bluetick-redacted']).toBeDefined();
    const body = parseJsonText(shared.body.toString('utf8')) as any;
    expect(body.entry[0].changes[0].value.messages.map((m: any) => m.id)).toEqual(['wamid.o1']);
    expect(body.entry[0].changes[0].value.contacts.map((c: any) => c.wa_id)).toEqual([OTTO]);
    // The audit log records the erasure without the identifier.
    const audit = (await call(ADMIN, 'GET', '/api/audit?action=contact.erase')).body.items;
    expect(audit).toHaveLength(1);
    expect(audit[0].target).toBeUndefined();
  });

  it('adds nothing back when an old body about the person is delivered again', async () => {
    const before = (await server.running.store.events.list({}, { limit: 100 })).items.map((e) => e.event.id);
    for (const body of [SHARED, ERIN_ONLY, STATUS]) await post(body);
    await server.running.pipeline.drain();
    const after = (await server.running.store.events.list({}, { limit: 100 })).items.map((e) => e.event.id);
    expect(after).toEqual(before);
    expect((await call(ADMIN, 'GET', `/api/contacts/${ERIN}`)).status).toBe(404);
    expect((await call(ADMIN, 'GET', `/api/contacts/${encodeURIComponent(ERIN_BSUID)}`)).status).toBe(404);
    // The new journal rows were rewritten as they were processed.
    const journal = (await server.running.store.journal.list({}, { limit: 100 })).items;
    for (const row of journal) expect(row.body.includes(Buffer.from(ERIN)), `journal ${row.id}`).toBe(false);
  });

  it('erases from the command line and prints the receipt', async () => {
    await post(envelope({ contacts: [{ wa_id: OTTO, profile: { name: 'Otto Brandt' } }], messages: [text('o2', OTTO, 'second otter', 9)] }));
    await server.running.pipeline.drain();
    let printed = '';
    const stdout = new Writable({ write: (chunk, _enc, done) => ((printed += String(chunk)), done()) });
    const code = await runErase({ url: server.running.url, token: ADMIN, contact: `+${OTTO}`, json: true }, { stdout, env: {} });
    expect(code).toBe(0);
    const receipt = JSON.parse(printed);
    expect(receipt.identifiers).toContain(OTTO);
    expect(receipt.tables.events.deleted).toBe(2);
    for (const needle of [OTTO, OTTO_TEXT]) expect(await occurrences(needle), needle).toEqual([]);
    printed = '';
    await runErase({ url: server.running.url, token: ADMIN, contact: 'nobody-known' }, { stdout, env: {} });
    expect(printed).toContain('nothing stored about them');
  });
}

describe('erasing a person on SQLite', () => {
  erasureSuite(() => ({}));
});

describePostgres('erasing a person on PostgreSQL', () => {
  const schema = schemaName('erasure');
  afterAll(() => dropSchema(schema));
  erasureSuite(() => ({ url: urlFor(schema), schema }));
});
