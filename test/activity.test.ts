/**
 * `GET /api/activity` over real HTTP, on a real SQLite store and on the real PostgreSQL: the
 * last hour of per-minute counts is read back from the store (events by type, the acked
 * POSTs they came from, their successful deliveries to a real HTTP receiver), every minute is
 * present, and a bad `minutes` is refused naming the parameter. `GET /api/labels` serves the
 * configured name per phone number, and a Meta conversation carries its display number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonText } from '../src/events/json.js';
import { http, newSecret, startReceiver, waitFor, type Receiver } from './helpers/delivery.js';
import { resolveConfig } from '../src/config/resolve.js';
import { DISPLAY_PHONE, PHONE_ID, inboundBody, statusBody } from './helpers/meta-bodies.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const ADMIN = 'activity-test-admin-token-0123456789';

interface Minute {
  at: string;
  events: number;
  byType: Record<string, number>;
  acks: number;
  delivered: number;
}

function activitySuite(store: () => { url?: string }) {
  let server: TempServer;
  let rx: Receiver;

  async function get(path: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`${server.running.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return { status: res.status, body: parseJsonText(await res.text()) };
  }

  async function post(body: string): Promise<void> {
    expect((await http(server.running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } })).status).toBe(200);
  }

  const totals = (minutes: Minute[]) =>
    minutes.reduce(
      (sum, m) => ({
        events: sum.events + m.events,
        acks: sum.acks + m.acks,
        delivered: sum.delivered + m.delivered,
        message: sum.message + (m.byType['message.received'] ?? 0),
        status: sum.status + (m.byType['message.status'] ?? 0),
      }),
      { events: 0, acks: 0, delivered: 0, message: 0, status: 0 },
    );

  beforeAll(async () => {
    rx = await startReceiver();
    const url = store().url;
    server = await startTempServer('bluetick-activity-', {
      adminToken: ADMIN,
      channels: [{ name: 'main' }],
      sinks: [{ name: 'rx', type: 'http', url: rx.url, secret: newSecret() }],
      routes: [{ name: 'messages', sink: 'rx', match: { type: ['message.received'] } }],
      labels: { [PHONE_ID]: 'Sales India' },
      ...(url !== undefined ? { store: { url } } : {}),
    });
    const t = Date.now();
    // Two POSTs: one with two inbound messages, one with a status update.
    await post(
      inboundBody([
        { id: 'wamid.ACT1', from: '919812345678', name: 'Anita Rao', text: 'one', at: t },
        { id: 'wamid.ACT2', from: '919812345678', name: 'Anita Rao', text: 'two', at: t },
      ]),
    );
    await post(statusBody([{ id: 'wamid.ACTOUT', status: 'delivered', to: '919812345678', at: t }]));
    await waitFor('both messages delivered', async () => {
      const sum = totals((await get('/api/activity')).body.minutes);
      return sum.events === 3 && sum.delivered === 2 ? true : undefined;
    });
  });

  afterAll(async () => {
    await server?.close();
    await rx?.close();
  });

  it('counts the hour per minute: events by type, acks and deliveries', async () => {
    const res = await get('/api/activity');
    expect(res.status).toBe(200);
    const minutes: Minute[] = res.body.minutes;
    expect(minutes).toHaveLength(60);
    // Consecutive minutes, ending with the current one.
    for (let i = 1; i < minutes.length; i++) expect(Date.parse(minutes[i]!.at) - Date.parse(minutes[i - 1]!.at)).toBe(60_000);
    expect(Date.parse(res.body.from)).toBe(Date.parse(minutes[0]!.at));
    expect(Date.parse(res.body.at) - Date.parse(minutes[59]!.at)).toBeLessThan(60_000);
    expect(totals(minutes)).toEqual({ events: 3, acks: 2, delivered: 2, message: 2, status: 1 });
  });

  it('serves the labels and gives a Meta conversation its display number', async () => {
    expect((await get('/api/labels')).body).toEqual({ labels: { [PHONE_ID]: 'Sales India' } });
    const conversation = (await get(`/api/conversations/${encodeURIComponent(`${PHONE_ID}:919812345678`)}`)).body;
    expect(conversation.conversation ?? conversation).toMatchObject({ businessNumber: PHONE_ID, displayNumber: DISPLAY_PHONE });
  });

  it('narrows the window with minutes and refuses a bad one, naming it', async () => {
    const res = await get('/api/activity?minutes=5');
    expect(res.status).toBe(200);
    expect(res.body.minutes).toHaveLength(5);
    for (const bad of ['0', '61', 'x']) {
      const refused = await get(`/api/activity?minutes=${bad}`);
      expect(refused.status, bad).toBe(400);
      expect(refused.body.parameter).toBe('minutes');
    }
  });
}

describe('labels in the config', () => {
  it('refuses a key that is not a number and an empty label, naming the path', () => {
    const result = resolveConfig({ written: { labels: { 'sales-line': 'Sales', [PHONE_ID]: ' ' } }, cwd: '/tmp', env: {} });
    expect(result.config).toBeUndefined();
    const text = result.errors.map((e) => JSON.stringify(e)).join('\n');
    expect(text).toMatch(/labels/);
    expect(text).toMatch(/labels\.sales-line.*phone-number id or display number \(digits\)/);
    expect(text).toMatch(/non-empty label/);
  });
});

describe('activity on SQLite', () => {
  activitySuite(() => ({}));
});

const schema = schemaName('activity');
describePostgres('activity on PostgreSQL', () => {
  afterAll(async () => {
    await dropSchema(schema);
  });
  activitySuite(() => ({ url: urlFor(schema) }));
});
