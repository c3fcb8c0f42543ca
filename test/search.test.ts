/**
 * Search over real HTTP, on a real SQLite store (FTS5) and on the real PostgreSQL (full-text
 * search): contact names and numbers, message ids and text, template names and outbound
 * records are found by word prefix, every word must match, newest first, and the index
 * follows events recorded after the server started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonText } from '../src/events/json.js';
import { http, waitFor } from './helpers/delivery.js';
import { inboundBody, statusBody, templateStatusBody } from './helpers/meta-bodies.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const ADMIN = 'search-test-admin-token-0123456789';

function searchSuite(store: () => { url?: string }) {
  let server: TempServer;

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.running.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : parseJsonText(text) };
  }

  async function post(body: string): Promise<void> {
    expect((await http(server.running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } })).status).toBe(200);
  }

  const found = async (q: string, extra = ''): Promise<string[]> => {
    const res = await call('GET', `/api/search?q=${encodeURIComponent(q)}${extra}`);
    expect(res.status, q).toBe(200);
    return res.body.items.map((i: { kind: string; ref: string }) => `${i.kind}:${i.ref}`);
  };

  beforeAll(async () => {
    const url = store().url;
    server = await startTempServer('bluetick-search-', { adminToken: ADMIN, channels: [{ name: 'main' }], ...(url !== undefined ? { store: { url } } : {}) });
    const t = Date.now() - 60_000;
    await post(inboundBody([{ id: 'wamid.SRCH1', from: '919812345678', name: 'Anita Rao', text: 'Where is my parcel?', at: t }]));
    await post(inboundBody([{ id: 'wamid.SRCH2', from: '447700900123', name: 'Anil Kumar', text: 'Thanks, parcel arrived', at: t + 1_000 }]));
    await post(statusBody([{ id: 'wamid.OUTSRCH', status: 'delivered', to: '919812345678', at: t + 2_000 }]));
    await post(templateStatusBody({ templateId: '991', name: 'order_shipped', language: 'en', event: 'APPROVED', at: t + 3_000 }));
    expect((await call('POST', '/api/outbound', { messageId: 'wamid.OUTSRCH', text: 'Your invoice is ready', tags: ['billing'] })).status).toBe(200);
    // The indexer follows the pipeline: wait until the last event is searchable.
    await waitFor('the template indexed', async () => ((await found('order_shipped')).length > 0 ? true : undefined));
  });

  afterAll(async () => {
    await server?.close();
  });

  it('finds contacts by name and number, and their messages', async () => {
    expect(await found('anita')).toEqual(['contact:919812345678', 'message:wamid.SRCH1']);
    expect(await found('98123')).toEqual([]);
    expect(await found('9198123')).toContain('contact:919812345678');
    expect(await found('ani')).toEqual(expect.arrayContaining(['contact:447700900123', 'contact:919812345678']));
  });

  it('finds messages by text and id, every word having to match', async () => {
    expect((await found('parcel')).sort()).toEqual(['message:wamid.SRCH1', 'message:wamid.SRCH2']);
    expect(await found('parcel arrived')).toEqual(['message:wamid.SRCH2']);
    expect(await found('parcel nowhere')).toEqual([]);
    expect(await found('wamid.SRCH2')).toEqual(['message:wamid.SRCH2']);
    // Newest first.
    const res = await call('GET', '/api/search?q=parcel');
    expect(res.body.items.map((i: { ref: string }) => i.ref)).toEqual(['wamid.SRCH2', 'wamid.SRCH1']);
    expect(res.body.items[0]).toMatchObject({ title: 'Anil Kumar', path: '/api/messages/wamid.SRCH2' });
  });

  it('finds templates by name and outbound records by what was sent', async () => {
    expect(await found('order shipped')).toEqual(['template:991']);
    expect(await found('invoice')).toEqual(['outbound:wamid.OUTSRCH']);
    expect(await found('billing', '&kind=outbound,template')).toEqual(['outbound:wamid.OUTSRCH']);
    expect(await found('wamid.OUTSRCH', '&kind=message')).toEqual(['message:wamid.OUTSRCH']);
  });

  it('keeps a status update from erasing a message and follows new events', async () => {
    await post(statusBody([{ id: 'wamid.SRCH1', status: 'read', to: '919812345678', at: Date.now() }]));
    await post(inboundBody([{ id: 'wamid.SRCH3', from: '919812345678', name: 'Anita Rao', text: 'Found the parcel, thank you', at: Date.now() }]));
    await waitFor('the new message indexed', async () => ((await found('found thank')).length > 0 ? true : undefined));
    expect(await found('where parcel')).toEqual(['message:wamid.SRCH1']);
    // The same name again moves the contact up (newest first); a new name replaces the old one.
    expect(await found('ani', '&kind=contact')).toEqual(['contact:919812345678', 'contact:447700900123']);
    await post(inboundBody([{ id: 'wamid.SRCH4', from: '447700900123', name: 'Anil Sharma', text: 'Renamed myself', at: Date.now() + 1_000 }]));
    await waitFor('the renamed contact indexed', async () => ((await found('sharma', '&kind=contact')).length > 0 ? true : undefined));
    expect(await found('kumar', '&kind=contact')).toEqual([]);
    expect(await found('ani', '&kind=contact')).toEqual(['contact:447700900123', 'contact:919812345678']);
  });

  it('refuses a query without letters or digits, naming q', async () => {
    const res = await call('GET', '/api/search?q=...');
    expect(res.status).toBe(400);
    expect(res.body.parameter).toBe('q');
    expect((await call('GET', '/api/search')).body.parameter).toBe('q');
  });
}

describe('search on SQLite (FTS5)', () => {
  searchSuite(() => ({}));
});

const schema = schemaName('search');
describePostgres('search on PostgreSQL (full-text search)', () => {
  afterAll(async () => {
    await dropSchema(schema);
  });
  searchSuite(() => ({ url: urlFor(schema) }));
});
