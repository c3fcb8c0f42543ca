/**
 * Contract v2 end to end over real HTTP and a real SQLite store: Meta's other webhook
 * fields arrive typed, routes take them by name, family or `*`, `message.standby` reaches
 * only a route that names it, and the API and the event stream filter by the new types.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventTypePattern } from '../src/dispatch/match.js';
import { parseJsonText } from '../src/events/json.js';
import type { ServerInternals } from '../src/server.js';
import { http, startReceiver, waitFor, type Receiver } from './helpers/delivery.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const TOKEN = 'contract-v2-admin-token-0123456789';
const FIXTURES = fileURLToPath(new URL('./fixtures/meta/', import.meta.url));
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}.json`, 'utf8');

let server: TempServer;
let running: ServerInternals;
let rx: Receiver;

const ROUTES: Array<{ name: string; sink: string; match?: { type: EventTypePattern[] } }> = [
  { name: 'all', sink: 'rx' },
  { name: 'star', sink: 'rx', match: { type: ['*'] } },
  { name: 'messages', sink: 'rx', match: { type: ['message.*'] } },
  { name: 'standby', sink: 'rx', match: { type: ['message.standby'] } },
  { name: 'account', sink: 'rx', match: { type: ['account.*'] } },
];

async function api(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : parseJsonText(text) };
}

/** The first `data:` line of the event stream at `path`, parsed. */
function firstStreamed(path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, running.url);
    const req = httpRequest(
      { hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' }, agent: false },
      (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          const line = buffer.split('\n').find((l) => l.startsWith('data: '));
          if (line !== undefined) {
            resolve(parseJsonText(line.slice('data: '.length)));
            req.destroy();
          }
        });
      },
    );
    req.on('error', (error) => (error.message.includes('aborted') || (error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)));
    req.end();
  });
}

async function typesDeliveredTo(route: string): Promise<string[]> {
  const { items } = await running.store.deliveries.list({ route }, { limit: 100 });
  return items.map((d) => d.eventType).sort();
}

beforeAll(async () => {
  rx = await startReceiver();
  server = await startTempServer('bluetick-v2-', {
    adminToken: TOKEN,
    channels: [{ name: 'main' }],
    sinks: [{ name: 'rx', type: 'http', url: rx.url, secret: `whsec_${Buffer.from('contract-v2-secret-0123456789abcdef').toString('base64')}` }],
    routes: ROUTES,
    delivery: { pollMs: 20 },
  });
  running = server.running;
  for (const name of ['standby', 'account-alerts', 'text', 'empty-changes']) {
    const res = await http(running.webhookUrls.main!, { body: fixture(name), headers: { 'content-type': 'application/json' } });
    expect(res.status, name).toBe(200);
  }
  await running.pipeline.drain();
  // 2 standby copies, 1 alert, 1 text; the empty batch adds none. Routes: all 2, star 2, messages 1, standby 2, account 1.
  await waitFor('the deliveries of every route to finish', async () => {
    const { items } = await running.store.deliveries.list({ state: ['succeeded'] }, { limit: 1000 });
    return items.length >= 8;
  });
});

afterAll(async () => {
  await server?.close();
  await rx?.close();
});

describe('contract v2 over HTTP', () => {
  it('never delivers message.standby to a catch-all, `*` or `message.*` route, only to the route that names it', async () => {
    expect(await typesDeliveredTo('all')).toEqual(['account.alert', 'message.received']);
    expect(await typesDeliveredTo('star')).toEqual(['account.alert', 'message.received']);
    expect(await typesDeliveredTo('messages')).toEqual(['message.received']);
    expect(await typesDeliveredTo('standby')).toEqual(['message.standby', 'message.standby']);
    expect(await typesDeliveredTo('account')).toEqual(['account.alert']);
    const posted = rx.requests.map((r) => (parseJsonText(r.body) as { type: string }).type);
    expect(posted.filter((t) => t === 'message.standby')).toHaveLength(2);
  });

  it('lists events by the new types, and refuses a type that does not exist', async () => {
    const alerts = await api('/api/events?type=account.alert');
    expect(alerts.status).toBe(200);
    expect(alerts.body.items.map((i: any) => i.event)).toMatchObject([{ type: 'account.alert', field: 'account_alerts', kind: 'OBA_APPROVED', status: 'ACTIVE' }]);
    const standby = await api('/api/events?type=message.standby,message.received');
    expect(standby.body.items.map((i: any) => i.event.type).sort()).toEqual(['message.received', 'message.standby', 'message.standby']);
    expect((await api('/api/events?type=account.nope')).status).toBe(400);
  });

  it('streams only the named new type', async () => {
    const first = await firstStreamed('/api/stream?type=account.alert&after=0');
    expect(first.event).toMatchObject({ type: 'account.alert', kind: 'OBA_APPROVED' });
  });
});
