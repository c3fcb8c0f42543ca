/**
 * The REST API over real HTTP, against a real SQLite store filled through the real ingest
 * path: signed POSTs to /webhooks/..., then the pipeline drains, then /api answers. Every
 * JSON answer is also parsed with the response schema the OpenAPI document is generated
 * from, so the document cannot drift from what the routes return.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as schemas from '../src/api/schemas.js';
import { resolveConfig, type Config } from '../src/config/resolve.js';
import type { WrittenConfigInput } from '../src/config/schema.js';
import { parseJsonText, stringifyJson } from '../src/events/json.js';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import {
  PHONE_ID,
  inboundBody,
  numberChangeBody,
  reactionBody,
  statusBody,
  templateQualityBody,
  templateStatusBody,
} from './helpers/meta-bodies.js';

const TOKEN = 'test-admin-token-0123456789';
const APP_SECRET = 'meta-app-secret';
const BASIC = encodeBasicAuthorization('enx', 'enx-pass');

const NOW = Date.now();
const MIN = 60_000;
const HOUR = 60 * MIN;

const A = '15550000001';
const B = '15550000002';
const C = '15550000003';
const D = '15550000004';
const BIG_TEMPLATE_ID = '9007199254740993123';

function buildConfig(dataDir: string, written: WrittenConfigInput = {}): Config {
  const result = resolveConfig({
    written: {
      channels: [
        { name: 'meta', provider: 'meta', meta: { appSecrets: [APP_SECRET] } },
        { name: 'enablex', provider: 'enablex', basicAuth: ['enx:enx-pass'] },
      ],
      ...written,
      // These suites send wrong tokens on purpose; the backoff has its own tests (security.test.ts).
      server: { port: 0, dataDir, limits: { authFailures: 0 }, ...written.server },
    },
    cwd: dataDir,
    env: {},
  });
  expect(result.errors).toEqual([]);
  return result.config!;
}

async function start(dataDir: string, written: WrittenConfigInput = { adminToken: TOKEN }, closeGraceMs = 2_000): Promise<ServerInternals> {
  return launchServer(buildConfig(dataDir, written), {
    logger: silentLogger(),
    processMetrics: false,
    pipeline: { pollMs: 20 },
    stream: { pollMs: 25, heartbeatMs: 100 },
    closeGraceMs,
  });
}

async function post(running: ServerInternals, body: string | Buffer, channel: 'meta' | 'enablex' = 'meta', headers: Record<string, string> = {}): Promise<number> {
  const auth: Record<string, string> = channel === 'meta' ? { 'x-hub-signature-256': signMeta(body, APP_SECRET) } : { authorization: BASIC };
  const res = await fetch(`${running.url}/webhooks/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth, ...headers },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function ingest(running: ServerInternals, ...bodies: string[]): Promise<void> {
  for (const body of bodies) expect(await post(running, body)).toBe(200);
  await running.pipeline.drain();
}

interface Answer {
  status: number;
  headers: Headers;
  // Parsed with exact big integers.
  body: any;
}

async function get(running: ServerInternals, path: string, opts: { token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const res = await fetch(`${running.url}${path}`, {
    headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...opts.headers },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : parseJsonText(text) };
}

/** GET that must answer 200 with a body of the given schema (strict where the schema is). */
async function ok<S extends z.ZodType>(running: ServerInternals, path: string, schema: S): Promise<any> {
  const res = await get(running, path);
  expect(res.status, `${path}: ${stringifyJson(res.body)}`).toBe(200);
  const parsed = schema.safeParse(res.body);
  expect(parsed.success ? [] : parsed.error.issues, `${path} matches its documented schema`).toEqual([]);
  return res.body;
}

/** Follows `next` until the end. */
async function readAll(running: ServerInternals, path: string, schema: z.ZodType, limit = 2): Promise<any[]> {
  const items: any[] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await ok(running, `${path}${sep}limit=${limit}${after !== undefined ? `&after=${after}` : ''}`, schema);
    items.push(...page.items);
    if (page.next === undefined) return items;
    after = page.next;
  }
  throw new Error('pagination did not end');
}

/** The scenario most tests read: every kind of notification, some late, duplicated or out of order. */
async function fill(running: ServerInternals): Promise<void> {
  await ingest(
    running,
    inboundBody([{ id: 'wamid.in.A1', from: A, name: 'Asha', text: 'hello', at: NOW - 30 * MIN }]),
    inboundBody([{ id: 'wamid.in.B1', from: B, name: 'Bo', text: 'old question', at: NOW - 48 * HOUR }]),
    // Outbound to A: read arrives first, then sent, then delivered, then read again (redelivery).
    statusBody([{ id: 'wamid.out.A1', status: 'read', to: A, at: NOW - 10 * MIN }]),
    statusBody([{ id: 'wamid.out.A1', status: 'sent', to: A, at: NOW - 20 * MIN }]),
    statusBody([{ id: 'wamid.out.A1', status: 'delivered', to: A, at: NOW - 15 * MIN }]),
    statusBody([{ id: 'wamid.out.A1', status: 'read', to: A, at: NOW - 10 * MIN }]),
    // Outbound to B: sent then failed.
    statusBody([
      { id: 'wamid.out.B1', status: 'sent', to: B, at: NOW - 47 * HOUR },
      { id: 'wamid.out.B1', status: 'failed', to: B, at: NOW - 47 * HOUR, errors: [131047] },
    ]),
    // Outbound to C: read with delivered and sent skipped.
    statusBody([{ id: 'wamid.out.C1', status: 'read', to: C, at: NOW - 5 * MIN }]),
    inboundBody([{ id: 'wamid.in.C1', from: C, name: 'Cy', text: 'hi there', at: NOW - 6 * MIN }]),
    reactionBody({ id: 'wamid.re.A1', from: A, name: 'Asha', target: 'wamid.out.A1', emoji: '👍', at: NOW - 9 * MIN }),
    reactionBody({ id: 'wamid.re.C1', from: C, name: 'Cy', target: 'wamid.out.A1', emoji: '❤️', at: NOW - 8 * MIN }),
    reactionBody({ id: 'wamid.re.C2', from: C, name: 'Cy', target: 'wamid.out.A1', emoji: '', at: NOW - 7 * MIN }),
    numberChangeBody({ id: 'wamid.sys.C', from: C, to: D, at: NOW - 4 * MIN }),
    // Template events out of order: PAUSED (later) arrives before APPROVED.
    templateStatusBody({ templateId: BIG_TEMPLATE_ID, name: 'order_update', language: 'en_US', event: 'PAUSED', reason: 'quality', at: NOW - 1 * HOUR }),
    templateStatusBody({ templateId: BIG_TEMPLATE_ID, name: 'order_update', language: 'en_US', event: 'APPROVED', at: NOW - 3 * HOUR }),
    templateQualityBody({ templateId: BIG_TEMPLATE_ID, name: 'order_update', language: 'en_US', previous: 'GREEN', score: 'YELLOW', at: NOW - 2 * HOUR }),
    templateStatusBody({ templateId: '1111', name: 'welcome', language: 'pt_BR', event: 'REJECTED', reason: 'INVALID_FORMAT', at: NOW - 2 * HOUR }),
  );
  // A text from EnableX, and a body that is not JSON (nor UTF-8).
  expect(
    await post(
      running,
      JSON.stringify({
        messages: [{ from: '919999999999', id: 'enx-msg-1', timestamp: String(Math.floor(NOW / 1000) - 60), type: 'text', text: { body: 'namaste' } }],
        contacts: [{ profile: { name: 'Ravi' }, wa_id: '919999999999' }],
        business_phone: '918888888888',
      }),
      'enablex',
    ),
  ).toBe(200);
  expect(await post(running, Buffer.from([0x6e, 0x6f, 0x74, 0x20, 0xff, 0xfe]), 'enablex')).toBe(200);
  // Refused: wrong signature.
  const refused = await fetch(`${running.url}/webhooks/meta`, { method: 'POST', headers: { 'x-hub-signature-256': 'sha256=00' }, body: '{}' });
  expect(refused.status).toBe(401);
  await running.pipeline.drain();
}

describe('REST API over HTTP', () => {
  let dir: string;
  let running: ServerInternals;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-api-'));
    running = await start(dir);
    await fill(running);
    // The rejection log is written in the background; write what it holds now.
    await running.rejections.flush();
  });

  afterAll(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('auth', () => {
    it('answers 401 with a Bearer challenge without the token or with a wrong one', async () => {
      for (const token of [null, 'wrong', `${TOKEN}x`, '']) {
        const res = await get(running, '/api/stats', { token });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="bluetick"');
        expect(schemas.errorSchema.safeParse(res.body).success).toBe(true);
      }
      const basic = await get(running, '/api/stats', { token: null, headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` } });
      expect(basic.status).toBe(401);
    });

    it('guards every route, the stream and the OpenAPI document included', async () => {
      for (const path of ['/api/events', '/api/stream', '/api/openapi.json', '/api/messages/x', '/api/conversations', '/api/templates/x']) {
        expect((await get(running, path, { token: null })).status, path).toBe(401);
      }
    });

    it('does not guard the operational routes', async () => {
      expect((await get(running, '/healthz', { token: null })).status).toBe(200);
    });
  });

  describe('events', () => {
    it('lists events in seq order and pages with a cursor, neither skipping nor repeating', async () => {
      const all = await readAll(running, '/api/events', schemas.eventPageSchema, 3);
      const seqs = all.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      const counts = await running.store.counts();
      expect(all).toHaveLength(counts.events);
      const first = await ok(running, '/api/events?limit=1', schemas.eventPageSchema);
      expect(first.next).toBe(String(first.items[0].seq));
    });

    it('filters by type, channel, phone number, sender, message id and receive time', async () => {
      const statuses = await readAll(running, '/api/events?type=message.status', schemas.eventPageSchema, 100);
      expect(statuses.length).toBe(6);
      expect(statuses.every((e) => e.event.type === 'message.status')).toBe(true);

      const both = await readAll(running, '/api/events?type=template.status&type=template.quality', schemas.eventPageSchema, 100);
      expect(both.map((e) => e.event.type).sort()).toEqual(['template.quality', 'template.status', 'template.status', 'template.status']);
      const comma = await readAll(running, '/api/events?type=template.status,template.quality', schemas.eventPageSchema, 100);
      expect(comma).toEqual(both);

      const enx = await readAll(running, '/api/events?channel=enablex', schemas.eventPageSchema, 100);
      expect(enx.map((e) => e.event.messageId)).toEqual(['enx-msg-1']);

      const byPhone = await readAll(running, `/api/events?phoneNumberId=${PHONE_ID}`, schemas.eventPageSchema, 100);
      expect(byPhone.length).toBeGreaterThan(5);
      expect(byPhone.every((e) => e.event.phoneNumberId === PHONE_ID)).toBe(true);

      const fromA = await readAll(running, `/api/events?from=${A}`, schemas.eventPageSchema, 100);
      expect(fromA.map((e) => e.event.messageId)).toEqual(['wamid.in.A1', 'wamid.re.A1']);

      const aboutOut = await readAll(running, '/api/events?messageId=wamid.out.A1', schemas.eventPageSchema, 100);
      expect(aboutOut.map((e) => e.event.status)).toEqual(['read', 'sent', 'delivered']);

      const future = new Date(Date.now() + HOUR).toISOString();
      expect((await ok(running, `/api/events?since=${encodeURIComponent(future)}`, schemas.eventPageSchema)).items).toEqual([]);
      const untilNow = await readAll(running, `/api/events?until=${Date.now() + 1}`, schemas.eventPageSchema, 100);
      expect(untilNow.length).toBe((await running.store.counts()).events);
    });

    it('keeps template ids beyond 2^53 digit for digit', async () => {
      const page = await ok(running, '/api/events?type=template.quality', schemas.eventPageSchema);
      expect(page.items[0].event.templateId).toBe(BIG_TEMPLATE_ID);
      expect(page.items[0].event.data.message_template_id).toBe(BigInt(BIG_TEMPLATE_ID));
    });

    it('answers one event with its journal row (raw body as text and base64, headers) and its duplicate count', async () => {
      const page = await ok(running, '/api/events?messageId=wamid.out.A1&type=message.status', schemas.eventPageSchema);
      const read = page.items.find((e: any) => e.event.status === 'read');
      const detail = await ok(running, `/api/events/${read.event.id}`, schemas.eventDetailSchema);
      expect(detail.duplicates).toBe(1);
      expect(detail.event).toEqual(read.event);
      expect(detail.journal.id).toBe(read.journalId);
      expect(detail.journal.channel).toBe('meta');
      expect(detail.journal.verifiedBy).toBe('meta-signature');
      expect(detail.journal.headers['content-type']).toBe('application/json');
      const text = detail.journal.body.text as string;
      expect(JSON.parse(text).entry[0].changes[0].value.statuses[0].id).toBe('wamid.out.A1');
      expect(Buffer.from(detail.journal.body.base64, 'base64').toString('utf8')).toBe(text);
      expect(detail.journal.body.size).toBe(Buffer.byteLength(text));

      expect((await get(running, '/api/events/evt_nope')).status).toBe(404);
    });

    it('answers a journal row with its events, and a non-UTF-8 body as base64 only', async () => {
      const quarantined = await ok(running, '/api/quarantine', schemas.journalPageSchema);
      expect(quarantined.items).toHaveLength(1);
      const row = quarantined.items[0];
      expect(row).toMatchObject({ state: 'quarantined', channel: 'enablex', size: 6 });
      expect(row.cause).toMatch(/UTF-8/);
      const detail = await ok(running, `/api/journal/${row.id}`, schemas.journalDetailSchema);
      expect(detail.body.text).toBeUndefined();
      expect(Buffer.from(detail.body.base64, 'base64')).toEqual(Buffer.from([0x6e, 0x6f, 0x74, 0x20, 0xff, 0xfe]));
      expect(detail.events).toEqual([]);

      const statusEvent = (await ok(running, '/api/events?type=message.status&limit=1', schemas.eventPageSchema)).items[0];
      const withEvents = await ok(running, `/api/journal/${statusEvent.journalId}`, schemas.journalDetailSchema);
      expect(withEvents.events.map((e: any) => e.event.id)).toContain(statusEvent.event.id);
      expect((await get(running, '/api/journal/999999')).status).toBe(404);
      expect((await ok(running, '/api/quarantine?state=failed', schemas.journalPageSchema)).items).toEqual([]);
    });
  });

  describe('messages', () => {
    it('keeps the highest status and every step time whatever the arrival order, with the timeline and reactions', async () => {
      const m = await ok(running, '/api/messages/wamid.out.A1', schemas.messageDetailSchema);
      expect(m.status).toBe('read');
      expect(m.direction).toBe('outbound');
      expect(m.steps.sent.at).toBe(new Date(Math.floor((NOW - 20 * MIN) / 1000) * 1000).toISOString());
      expect(m.steps.delivered.implied).toBeUndefined();
      expect(m.timeline.map((t: any) => t.status)).toEqual(['sent', 'delivered', 'read']);
      expect(m.conversationKey).toBe(`${PHONE_ID}:${A}`);
      // C's heart was removed; A's thumbs-up stays.
      expect(m.reactions.map((r: any) => [r.from, r.emoji])).toEqual([[A, '👍']]);
    });

    it('implies skipped steps and records failures with their codes', async () => {
      const c = await ok(running, '/api/messages/wamid.out.C1', schemas.messageDetailSchema);
      expect(c.status).toBe('read');
      expect(c.steps.delivered).toMatchObject({ implied: true });
      expect(c.steps.sent).toMatchObject({ implied: true });
      const b = await ok(running, '/api/messages/wamid.out.B1', schemas.messageDetailSchema);
      expect(b.status).toBe('failed');
      expect(b.failure.errorCodes).toEqual([131047]);
      const inbound = await ok(running, '/api/messages/wamid.in.A1', schemas.messageDetailSchema);
      expect(inbound).toMatchObject({ direction: 'inbound', inbound: { text: 'hello', contactName: 'Asha' }, reactions: [] });
    });

    it('finds ids that need URL encoding and answers 404 for unknown ones', async () => {
      expect((await get(running, `/api/messages/${encodeURIComponent('wamid.none/with+odd=chars')}`)).status).toBe(404);
      expect((await get(running, '/api/messages/wamid.unknown')).body).toMatchObject({ error: 'Not Found' });
    });

    it('lists messages with direction and status filters', async () => {
      const failed = await readAll(running, '/api/messages?status=failed', schemas.messagePageSchema);
      expect(failed.map((m) => m.id)).toEqual(['wamid.out.B1']);
      const inbound = await readAll(running, '/api/messages?direction=inbound', schemas.messagePageSchema);
      expect(inbound.map((m) => m.id).sort()).toEqual(['enx-msg-1', 'wamid.in.A1', 'wamid.in.B1', 'wamid.in.C1', 'wamid.sys.C']);
    });
  });

  describe('conversations', () => {
    it('lists conversations with the window judged now', async () => {
      const all = await readAll(running, '/api/conversations', schemas.conversationPageSchema);
      const byContact = Object.fromEntries(all.map((c) => [c.contact, c]));
      expect(byContact[A]).toMatchObject({ isWindowOpen: true, key: `${PHONE_ID}:${A}`, counts: { inbound: 1, outbound: 1 } });
      expect(byContact[B]).toMatchObject({ isWindowOpen: false, counts: { inbound: 1, outbound: 1 } });
      expect(Date.parse(byContact[A].windowOpenUntil)).toBe(Math.floor((NOW - 30 * MIN) / 1000) * 1000 + 24 * HOUR);

      const open = await readAll(running, '/api/conversations?windowOpen=true', schemas.conversationPageSchema);
      expect(open.every((c) => c.isWindowOpen)).toBe(true);
      expect(open.map((c) => c.contact)).toContain(A);
      const closed = await readAll(running, '/api/conversations?windowOpen=false', schemas.conversationPageSchema);
      expect(closed.map((c) => c.contact)).toEqual([B]);
      expect(open.length + closed.length).toBe(all.length);

      expect((await readAll(running, `/api/conversations?contact=${C}`, schemas.conversationPageSchema)).map((c) => c.contact)).toEqual([C]);
      expect((await readAll(running, '/api/conversations?businessNumber=918888888888', schemas.conversationPageSchema))).toHaveLength(1);
      const recent = await readAll(running, `/api/conversations?activeSince=${NOW - HOUR}`, schemas.conversationPageSchema);
      expect(recent.map((c) => c.contact).sort()).toEqual([A, C, '919999999999']);
    });

    it("answers one conversation and its messages", async () => {
      const key = encodeURIComponent(`${PHONE_ID}:${A}`);
      const conv = await ok(running, `/api/conversations/${key}`, schemas.conversationSchema);
      expect(conv.lastInbound.messageId).toBe('wamid.in.A1');
      const messages = await readAll(running, `/api/conversations/${key}/messages`, schemas.messagePageSchema, 1);
      expect(messages.map((m) => m.id).sort()).toEqual(['wamid.in.A1', 'wamid.out.A1']);
      const out = await readAll(running, `/api/conversations/${key}/messages?direction=outbound`, schemas.messagePageSchema);
      expect(out.map((m) => m.id)).toEqual(['wamid.out.A1']);
      expect((await get(running, '/api/conversations/nope')).status).toBe(404);
    });
  });

  describe('contacts and templates', () => {
    it('lists contacts with the latest profile name and links a changed number', async () => {
      const all = await readAll(running, '/api/contacts', schemas.contactPageSchema);
      const byId = Object.fromEntries(all.map((c) => [c.waId, c]));
      expect(byId[A].profile.name).toBe('Asha');
      expect(byId[C].newWaId).toBe(D);
      expect(byId[D].previousWaIds).toEqual([C]);
      expect((await readAll(running, '/api/contacts?name=ash', schemas.contactPageSchema)).map((c) => c.waId)).toEqual([A]);
      const recent = await readAll(running, `/api/contacts?seenSince=${encodeURIComponent(new Date(NOW - HOUR).toISOString())}`, schemas.contactPageSchema);
      expect(recent.map((c) => c.waId)).not.toContain(B);
      expect((await ok(running, `/api/contacts/${D}`, schemas.contactDetailSchema)).waId).toBe(D);
    });

    it('keeps the latest template status by time, with the full history', async () => {
      const all = await readAll(running, '/api/templates', schemas.templatePageSchema);
      expect(all).toHaveLength(2);
      const paused = await readAll(running, '/api/templates?status=PAUSED', schemas.templatePageSchema);
      expect(paused.map((t) => t.key)).toEqual([BIG_TEMPLATE_ID]);
      expect(paused[0]).toMatchObject({ status: 'PAUSED', quality: 'YELLOW', name: 'order_update', language: 'en_US' });
      const rejected = await readAll(running, '/api/templates?status=REJECTED,DISABLED', schemas.templatePageSchema);
      expect(rejected.map((t) => [t.key, t.reason])).toEqual([['1111', 'INVALID_FORMAT']]);
      expect(await readAll(running, '/api/templates?quality=YELLOW&language=en_US', schemas.templatePageSchema)).toHaveLength(1);

      const one = await ok(running, `/api/templates/${BIG_TEMPLATE_ID}`, schemas.templateSchema);
      expect(one.history.map((h: any) => h.status)).toEqual(['APPROVED', 'YELLOW', 'PAUSED']);
      expect((await get(running, '/api/templates/nope')).status).toBe(404);
    });
  });

  describe('rejections, stats', () => {
    it('lists refused requests with their cause, filtered', async () => {
      const all = await ok(running, '/api/rejections', schemas.rejectionPageSchema);
      expect(all.items[0]).toMatchObject({ cause: 'unauthorized', channel: 'meta', method: 'POST', path: '/webhooks/meta' });
      expect(all.items[0].remoteAddress).toMatch(/127\.0\.0\.1|::1/);
      expect((await ok(running, '/api/rejections?cause=payload-too-large', schemas.rejectionPageSchema)).items).toEqual([]);
      expect((await ok(running, '/api/rejections?channel=meta&cause=unauthorized', schemas.rejectionPageSchema)).items).toHaveLength(1);
    });

    it('answers counts per type and status, ack latency and pipeline lag', async () => {
      const stats = await ok(running, '/api/stats', schemas.statsSchema);
      expect(stats.events.byType['message.status']).toBe(6);
      expect(stats.messages.byStatus).toMatchObject({ read: 2, failed: 1 });
      expect(stats.templates.byStatus).toEqual({ PAUSED: 1, REJECTED: 1 });
      expect(stats.journal.quarantined).toBe(1);
      expect(stats.ackLatency.count).toBeGreaterThanOrEqual(19);
      expect(stats.ackLatency.p50Ms).toBeGreaterThan(0);
      expect(stats.ackLatency.p99Ms).toBeGreaterThanOrEqual(stats.ackLatency.p50Ms);
      expect(stats.pipeline).toEqual({ pending: 0, lagSeconds: 0 });
      expect(stats.projections).toEqual({ complete: true });
      expect(stats.rejections).toBe(1);
    });
  });

  describe('bad parameters', () => {
    const cases: Array<[string, string]> = [
      ['/api/events?limit=0', 'limit'],
      ['/api/events?limit=1001', 'limit'],
      ['/api/events?limit=ten', 'limit'],
      ['/api/events?after=abc', 'after'],
      ['/api/events?type=message.sent', 'type'],
      ['/api/events?since=yesterday', 'since'],
      ['/api/events?until=2025-13-45T00:00:00Z', 'until'],
      ['/api/events?colour=blue', 'colour'],
      ['/api/conversations?windowOpen=maybe', 'windowOpen'],
      ['/api/messages?direction=sideways', 'direction'],
      ['/api/messages?status=seen', 'status'],
      ['/api/rejections?cause=boredom', 'cause'],
      ['/api/quarantine?state=processed', 'state'],
      ['/api/journal/abc', 'id'],
      ['/api/stats?verbose=1', 'verbose'],
      ['/api/stream?type=nope', 'type'],
    ];
    it.each(cases)('%s -> 400 naming %s', async (path, parameter) => {
      const res = await get(running, path);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'Bad Request', parameter });
      expect(res.body.message.startsWith(`${parameter}: `)).toBe(true);
      expect(schemas.errorSchema.safeParse(res.body).success).toBe(true);
    });

    it('refuses a Last-Event-ID that is not an event seq, naming the header', async () => {
      const res = await get(running, '/api/stream', { headers: { 'last-event-id': 'abc' } });
      expect(res.status).toBe(400);
      expect(res.body.parameter).toBe('Last-Event-ID');
    });
  });

  describe('OpenAPI', () => {
    it('serves a valid OpenAPI 3.1 document covering every route, whose references all resolve', async () => {
      const res = await get(running, '/api/openapi.json');
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
      expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      const paths = Object.keys(doc.paths);
      for (const p of [
        '/api/events',
        '/api/events/{id}',
        '/api/journal/{id}',
        '/api/messages',
        '/api/messages/{id}',
        '/api/conversations',
        '/api/conversations/{key}',
        '/api/conversations/{key}/messages',
        '/api/contacts',
        '/api/contacts/{id}',
        '/api/templates',
        '/api/templates/{key}',
        '/api/rejections',
        '/api/quarantine',
        '/api/stats',
        '/api/stream',
        '/api/openapi.json',
        '/api/dead-letters/drop',
      ]) {
        expect(paths, p).toContain(p);
      }
      const operationIds = new Set<string>();
      const operations = Object.entries<any>(doc.paths).flatMap(([path, item]) => {
        const ops = ['get', 'post', 'delete'].filter((m) => item[m] !== undefined).map((m) => [path, item[m]] as [string, any]);
        expect(ops.length, path).toBeGreaterThan(0);
        return ops;
      });
      for (const [path, op] of operations) {
        expect(typeof op.operationId).toBe('string');
        expect(operationIds.has(op.operationId)).toBe(false);
        operationIds.add(op.operationId);
        expect(Object.keys(op.responses).some((code) => /^2\d\d$/.test(code)), path).toBe(true);
        for (const code of Object.keys(op.responses)) expect(op.responses[code].description, `${path} ${code}`).toEqual(expect.any(String));
        const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const pathParams = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
        expect(pathParams.sort()).toEqual(templated.sort());
        for (const p of op.parameters ?? []) {
          expect(['path', 'query', 'header']).toContain(p.in);
          expect(typeof p.name).toBe('string');
          expect(typeof p.schema).toBe('object');
          if (p.in === 'path') expect(p.required).toBe(true);
        }
      }
      // Every $ref points at an existing component.
      const refs: string[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            if (k === '$ref') refs.push(x as string);
            else walk(x);
          }
        }
      };
      walk(doc);
      expect(refs.length).toBeGreaterThan(10);
      for (const ref of refs) {
        expect(ref).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
        expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
      }
      const limit = doc.paths['/api/events'].get.parameters.find((p: any) => p.name === 'limit');
      expect(limit).toMatchObject({ in: 'query', required: false });
      expect(limit.description).toMatch(/Page size/);
    });
  });
});

describe('REST API: access without a configured admin token', () => {
  let dir: string;
  let running: ServerInternals;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-api-open-'));
    running = await start(dir, {});
  });

  afterEach(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a token at the first start, keeps it 0600 in the data folder, and answers loopback clients only with it', async () => {
    const generated = running.adminToken;
    expect(generated.source).toBe('generated');
    expect(generated.token).toMatch(/^btk_[A-Za-z0-9_-]{43}$/);
    expect((await stat(join(dir, 'admin-token'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, 'admin-token'), 'utf8')).trim()).toBe(generated.token);
    // Loopback without the token, with or without a proxy header: refused.
    const local = await get(running, '/api/stats', { token: null });
    expect(local.status).toBe(401);
    expect(local.body.message).toMatch(/admin-token/);
    expect((await get(running, '/api/stats', { token: null, headers: { 'x-forwarded-for': '203.0.113.7' } })).status).toBe(401);
    expect((await get(running, '/api/stats', { token: generated.token })).status).toBe(200);
    // A restart reads the same token back.
    await running.close();
    running = await start(dir, {});
    expect(running.adminToken).toMatchObject({ source: 'file', token: generated.token });
    expect((await get(running, '/api/stats', { token: generated.token })).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------
// Paging while events arrive, and the live stream.

interface SseMessage {
  id?: string;
  data?: string;
}

/** A raw SSE connection: collects messages until `close()`. */
function openStream(running: ServerInternals, path: string, headers: Record<string, string> = {}) {
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  let status = 0;
  let waiters: Array<() => void> = [];
  const notify = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const url = new URL(path, running.url);
  let response: IncomingMessage | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const req = httpRequest(
      { hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream', ...headers }, agent: false },
      (res) => {
        response = res;
        status = res.statusCode ?? 0;
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const msg: SseMessage = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) comments.push(line);
              else if (line.startsWith('id: ')) msg.id = line.slice(4);
              else if (line.startsWith('data: ')) msg.data = line.slice(6);
            }
            if (msg.data !== undefined) messages.push(msg);
          }
          notify();
        });
        res.on('end', notify);
        resolve();
      },
    );
    req.on('error', reject);
    req.end();
  });
  return {
    messages,
    comments,
    get status() {
      return status;
    },
    ready,
    ended: () => response?.readableEnded === true || response?.destroyed === true,
    /** Resolves once the server has ended the response (or the connection closed). */
    closed: ready.then(() => new Promise<void>((resolve) => (response!.readableEnded || response!.destroyed ? resolve() : response!.once('close', resolve)))),
    /** Waits, on the stream's own data, until `check` holds (the test's timeout bounds it). */
    async until(check: () => boolean): Promise<void> {
      while (!check()) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    /** Waits, on the stream's own data, until `n` messages arrived (the test's timeout bounds it). */
    async waitFor(n: number): Promise<void> {
      while (messages.length < n) {
        if (response?.readableEnded === true) throw new Error(`the stream ended after ${messages.length} of ${n} messages`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    close(): void {
      response?.destroy();
    },
  };
}

describe('REST API: live data', () => {
  let dir: string;
  let running: ServerInternals;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-api-live-'));
    running = await start(dir);
  });

  afterEach(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  const inbound = (from: string): string => inboundBody([{ id: `wamid.live.${++n}`, from, text: `m${n}`, at: Date.now() - MIN }]);

  it('pages events and conversations without skipping or repeating rows while new events arrive', async () => {
    for (let i = 0; i < 10; i++) await post(running, inbound(`1555100${i % 4}`));
    await running.pipeline.drain();

    const seenEvents: number[] = [];
    const seenConversations: string[] = [];
    let afterEvents: string | undefined;
    let afterConversations: string | undefined;
    let moreEvents = true;
    let moreConversations = true;
    for (let round = 0; (moreEvents || moreConversations) && round < 100; round++) {
      if (moreEvents) {
        const ev = await ok(running, `/api/events?limit=3${afterEvents ? `&after=${afterEvents}` : ''}`, schemas.eventPageSchema);
        seenEvents.push(...ev.items.map((e: any) => e.seq));
        afterEvents = ev.next;
        moreEvents = ev.next !== undefined;
      }
      if (moreConversations) {
        const cv = await ok(running, `/api/conversations?limit=1${afterConversations ? `&after=${afterConversations}` : ''}`, schemas.conversationPageSchema);
        seenConversations.push(...cv.items.map((c: any) => c.key));
        afterConversations = cv.next;
        moreConversations = cv.next !== undefined;
      }
      // New events arrive between pages: a new conversation, and an update to the first one
      // (which must not move it to a later page).
      if (round < 4) {
        await post(running, inbound(`1555200${round}`));
        await post(running, inbound('15551000'));
        await running.pipeline.drain();
      }
    }
    expect(new Set(seenEvents).size).toBe(seenEvents.length);
    const allEvents = (await running.store.events.list({}, { limit: 1000 })).items.map((e) => e.seq);
    expect(seenEvents).toEqual(allEvents);
    expect(allEvents).toHaveLength(18);
    expect(new Set(seenConversations).size).toBe(seenConversations.length);
    const allConversations = (await running.store.projections.listConversations({}, { limit: 1000 })).items.map((c) => c.key);
    expect(seenConversations).toEqual(allConversations);
    expect(allConversations).toHaveLength(8);
  });

  it('streams new events as they are recorded and resumes after a dropped connection with no gap and no duplicate', async () => {
    await ingest(running, inbound('15553000'));
    const first = openStream(running, '/api/stream');
    await first.ready;
    expect(first.status).toBe(200);
    for (let i = 0; i < 3; i++) await post(running, inbound('15553001'));
    await first.waitFor(3);
    first.close();
    const lastId = first.messages[first.messages.length - 1]!.id!;

    // Events recorded while no one listens.
    for (let i = 0; i < 4; i++) await post(running, inbound('15553002'));
    await running.pipeline.drain();

    const second = openStream(running, '/api/stream', { 'last-event-id': lastId });
    await second.ready;
    await post(running, inbound('15553003'));
    await second.waitFor(5);
    second.close();

    const all = (await running.store.events.list({}, { limit: 1000 })).items;
    const streamed = [...first.messages, ...second.messages].map((m) => Number(m.id));
    // The event recorded before the first connection is not streamed (it starts "now").
    expect(streamed).toEqual(all.slice(1).map((e) => e.seq));
    const payload = parseJsonText(second.messages[0]!.data!) as any;
    expect(schemas.storedEventSchema.safeParse(payload).success).toBe(true);
    expect(payload.seq).toBe(Number(second.messages[0]!.id));
  });

  it('filters the stream by type and channel, resumes from ?after=, and sends heartbeats', async () => {
    await ingest(
      running,
      inbound('15554000'),
      statusBody([{ id: 'wamid.s1', status: 'sent', to: '15554000', at: Date.now() }]),
      inbound('15554001'),
    );
    const stream = openStream(running, '/api/stream?type=message.status&channel=meta&after=0');
    await stream.ready;
    await stream.waitFor(1);
    await post(running, inbound('15554002'));
    await post(running, statusBody([{ id: 'wamid.s1', status: 'delivered', to: '15554000', at: Date.now() }]));
    await stream.waitFor(2);
    // The received message between the two statuses was filtered out, not merely late: the
    // stream is in seq order, so it would have come before 'delivered'.
    await stream.until(() => stream.comments.some((c) => c.includes('keep-alive')));
    stream.close();
    const types = stream.messages.map((m) => (parseJsonText(m.data!) as any).event.status);
    expect(types).toEqual(['sent', 'delivered']);
  });

  it('ends open streams when the server closes, without waiting for the grace period', async () => {
    // A grace period of an hour: if an open stream held the close for it, the test's timeout
    // would end the test long before. No stopwatch needed.
    const ownDir = await mkdtemp(join(tmpdir(), 'bluetick-api-close-'));
    const own = await start(ownDir, { adminToken: TOKEN }, 3_600_000);
    try {
      const stream = openStream(own, '/api/stream');
      await stream.ready;
      await Promise.all([own.close(), stream.closed]);
      expect(stream.ended()).toBe(true);
    } finally {
      await rm(ownDir, { recursive: true, force: true });
    }
  });
});
