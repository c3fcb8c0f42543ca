/**
 * Outbound context over real HTTP, on a real SQLite store and on the real PostgreSQL: what
 * the sending code recorded (`POST /api/outbound`) shows on the message and in its
 * conversation whether the message's statuses came before or after the record, a second
 * record fills in without erasing, bad input is refused by name, and `bluetick.track()`
 * records the same from the library.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBluetick } from '../src/bluetick.js';
import { parseJsonText } from '../src/events/json.js';
import { silentLogger } from '../src/log.js';
import { http, waitFor } from './helpers/delivery.js';
import { statusBody } from './helpers/meta-bodies.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { startTempServer, type TempServer } from './helpers/server.js';
import { internalsOf } from '../src/server.js';

const ADMIN = 'outbound-test-admin-token-0123456789';
const CUSTOMER = '919812345678';

function outboundSuite(store: () => { url?: string }) {
  let server: TempServer;
  let sender = '';

  async function call(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.running.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : parseJsonText(text) };
  }

  async function statuses(id: string, ...steps: string[]): Promise<void> {
    const t = Date.now();
    const body = statusBody(steps.map((status, i) => ({ id, status, to: CUSTOMER, at: t + i * 1000 })));
    expect((await http(server.running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } })).status).toBe(200);
    await waitFor(`${id} ${steps.at(-1)}`, async () => {
      const m = await server.running.store.projections.getMessage(id);
      return m?.status === steps.at(-1) ? m : undefined;
    });
  }

  beforeAll(async () => {
    const url = store().url;
    server = await startTempServer('bluetick-outbound-', { adminToken: ADMIN, channels: [{ name: 'main' }], ...(url !== undefined ? { store: { url } } : {}) });
    sender = (await call(ADMIN, 'POST', '/api/tokens', { name: 'crm', role: 'sender' })).body.token;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('matches a record that arrives after the statuses', async () => {
    await statuses('wamid.BEFORE', 'sent', 'delivered');
    const res = await call(sender, 'POST', '/api/outbound', {
      messageId: 'wamid.BEFORE',
      to: CUSTOMER,
      templateName: 'order_shipped',
      templateLanguage: 'en',
      text: 'Your order 1234 has shipped',
      bizOpaqueCallbackData: 'order-1234',
      tags: ['campaign-dec', 'order-1234'],
      sentAt: '2026-12-03T06:00:00Z',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ recorded: 1, inserted: 1, updated: 0 });
    const message = await call(ADMIN, 'GET', '/api/messages/wamid.BEFORE');
    expect(message.body.status).toBe('delivered');
    expect(message.body.tracked).toEqual({
      messageId: 'wamid.BEFORE',
      to: CUSTOMER,
      templateName: 'order_shipped',
      templateLanguage: 'en',
      text: 'Your order 1234 has shipped',
      bizOpaqueCallbackData: 'order-1234',
      tags: ['campaign-dec', 'order-1234'],
      sentAt: '2026-12-03T06:00:00.000Z',
      recordedAt: expect.any(String),
      recordedBy: 'crm',
    });
  });

  it('matches a record that arrives before the statuses, in the message and its conversation', async () => {
    const res = await call(sender, 'POST', '/api/outbound', { items: [{ messageId: 'wamid.AFTER', text: 'Hello there', tags: ['welcome'] }] });
    expect(res.body).toEqual({ recorded: 1, inserted: 1, updated: 0 });
    expect((await call(ADMIN, 'GET', '/api/outbound/wamid.AFTER')).body).toMatchObject({ messageId: 'wamid.AFTER', text: 'Hello there' });
    await statuses('wamid.AFTER', 'sent', 'delivered', 'read');
    const message = await call(ADMIN, 'GET', '/api/messages/wamid.AFTER');
    expect(message.body).toMatchObject({ status: 'read', tracked: { text: 'Hello there', tags: ['welcome'] } });

    const key = message.body.conversationKey as string;
    expect(key).toBeDefined();
    const inConversation = await call(ADMIN, 'GET', `/api/conversations/${encodeURIComponent(key)}/messages`);
    const byId = new Map<string, any>(inConversation.body.items.map((m: any) => [m.id, m]));
    expect(byId.get('wamid.AFTER').tracked.text).toBe('Hello there');
    expect(byId.get('wamid.BEFORE').tracked.templateName).toBe('order_shipped');
    const listed = await call(ADMIN, 'GET', '/api/messages?direction=outbound');
    expect(listed.body.items.filter((m: any) => m.tracked !== undefined).map((m: any) => m.id).sort()).toEqual(['wamid.AFTER', 'wamid.BEFORE']);
  });

  it('fills in a second record without erasing the first one', async () => {
    const res = await call(sender, 'POST', '/api/outbound', { messageId: 'wamid.BEFORE', tags: ['resent'] });
    expect(res.body).toEqual({ recorded: 1, inserted: 0, updated: 1 });
    const outbound = (await call(ADMIN, 'GET', '/api/messages/wamid.BEFORE')).body.tracked;
    expect(outbound).toMatchObject({ templateName: 'order_shipped', text: 'Your order 1234 has shipped', tags: ['resent'] });
  });

  it('refuses bad records by name and stores nothing of them', async () => {
    const missing = await call(sender, 'POST', '/api/outbound', { text: 'no id' });
    expect(missing.status).toBe(400);
    expect(missing.body.parameter).toBe('messageId');
    const both = await call(sender, 'POST', '/api/outbound', { text: 'x', items: [{ messageId: 'wamid.BAD' }] });
    expect(both.body).toMatchObject({ parameter: 'text', message: 'text: send one record, or items, not both' });
    const tooManyTags = await call(sender, 'POST', '/api/outbound', { messageId: 'wamid.BAD', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) });
    expect(tooManyTags.status).toBe(400);
    expect(tooManyTags.body).toMatchObject({ parameter: 'tags', message: 'tags: expected at most 20 tags' });
    const unknownKey = await call(sender, 'POST', '/api/outbound', { messageId: 'wamid.BAD', colour: 'red' });
    expect(unknownKey.status).toBe(400);
    expect((await call(ADMIN, 'GET', '/api/outbound/wamid.BAD')).status).toBe(404);
    // A viewer may read the record but not write one.
    const viewer = (await call(ADMIN, 'POST', '/api/tokens', { name: 'reader', role: 'viewer' })).body.token;
    expect((await call(viewer, 'POST', '/api/outbound', { messageId: 'wamid.X' })).status).toBe(403);
    expect((await call(viewer, 'GET', '/api/outbound/wamid.AFTER')).status).toBe(200);
  });
}

describe('outbound context on SQLite', () => {
  outboundSuite(() => ({}));

  it('records from the library with bluetick.track()', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bluetick-track-'));
    const app = createBluetick({
      config: { server: { port: 0, dataDir: dir }, channels: [{ name: 'main' }] },
      env: {},
      server: { logger: silentLogger(), processMetrics: false },
    });
    try {
      await expect(app.track({ messageId: 'wamid.EARLY' })).rejects.toThrow(/start\(\) the app first/);
      const running = await app.start();
      await expect(app.track({ messageId: '' })).rejects.toThrow(/needs the messageId/);
      expect(await app.track([{ messageId: 'wamid.LIB', templateName: 'welcome', tags: ['lib'] }])).toEqual({ inserted: 1, updated: 0 });
      expect(await internalsOf(running).store.outbound.get(['wamid.LIB'])).toEqual([
        { messageId: 'wamid.LIB', templateName: 'welcome', tags: ['lib'], recordedAt: expect.any(Number), recordedBy: 'library' },
      ]);
    } finally {
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const schema = schemaName('outbound');
describePostgres('outbound context on PostgreSQL', () => {
  afterAll(async () => {
    await dropSchema(schema);
  });
  outboundSuite(() => ({ url: urlFor(schema) }));
});
