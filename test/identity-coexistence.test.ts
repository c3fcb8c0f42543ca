/**
 * Identity, coexistence and windows end to end: Meta bodies over real HTTP into a real
 * SQLite store, read back through `/api`, with a catch-all route that must get neither the
 * standby copy nor the history thread, and a rebuild that must give the same tables.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonText } from '../src/events/json.js';
import type { ServerInternals } from '../src/server.js';
import { http, startReceiver, waitFor, type Receiver } from './helpers/delivery.js';
import { dumpProjections } from './helpers/scenario.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const TOKEN = 'identity-coexistence-admin-token-0123';
const PHONE_ID = '106540352242922';
const DISPLAY = '15550783881';
const P1 = '16315550199';
const P2 = '16315558899';
const U1 = 'US.70021948813327650041';
const U2 = 'US.80031958823337660052';
const U3 = 'US.90041968833347670063';
const C = '16315551181';
const ALEX = 'US.13491208655302741918';
/** 2026-06-01T09:00:00Z in unix seconds, and minutes after it. */
const T0 = 1_780_304_400;
const ts = (minute: number): string => String(T0 + minute * 60);

let server: TempServer;
let running: ServerInternals;
let rx: Receiver;

function envelope(field: string, value: Record<string, unknown>): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', time: T0, changes: [{ field, value: { messaging_product: 'whatsapp', metadata: { display_phone_number: DISPLAY, phone_number_id: PHONE_ID }, ...value } }] }],
  });
}

function message(id: string, minute: number, from: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...from, id: `wamid.${id}`, timestamp: ts(minute), type: 'text', text: { body: `text ${id}` }, ...extra };
}

const BODIES = [
  // A phone user with a BSUID, then the BSUID changes, then the number changes (new BSUID).
  envelope('messages', { contacts: [{ wa_id: P1, user_id: U1, profile: { name: 'Dana' } }], messages: [message('d1', 1, { from: P1 })] }),
  envelope('user_id_update', {
    contacts: [{ wa_id: P1, user_id: U2, profile: { name: 'Dana' } }],
    user_id_update: [{ wa_id: P1, detail: 'User changed business-scoped user id', user_id: { previous: U1, current: U2 }, timestamp: ts(10) }],
  }),
  envelope('messages', {
    messages: [
      {
        from: P1,
        id: 'wamid.d2',
        timestamp: ts(20),
        type: 'system',
        system: { body: 'Dana changed from 16315550199 to 16315558899', wa_id: P2, type: 'user_changed_number', previous_user_id: U2, user_id: U3 },
      },
    ],
  }),
  envelope('messages', { contacts: [{ wa_id: P2, user_id: U3, profile: { name: 'Dana R.' } }], messages: [message('d3', 30, { from: P2 })] }),
  // A username-only user: no phone number at all.
  envelope('messages', { contacts: [{ user_id: ALEX, profile: { name: 'Alex', username: 'alex.rides' } }], messages: [message('a1', 5, { from_user_id: ALEX })] }),
  // A customer from an ad, answered from the Business app, then handed over.
  envelope('messages', {
    contacts: [{ wa_id: C, profile: { name: 'Kerry' } }],
    messages: [
      message('k1', 1, { from: C }, { referral: { source_url: 'https://fb.me/ad', source_id: '120206853', source_type: 'ad', ctwa_clid: 'ARAkLkA8rmlFeiCktEJQ' } }),
      message('k2', 2, { from: C }),
    ],
  }),
  envelope('smb_message_echoes', { message_echoes: [{ from: DISPLAY, to: C, id: 'wamid.k3', timestamp: ts(3), type: 'text', text: { body: 'On our way' } }] }),
  envelope('messaging_handovers', { type: 'control_passed', from: C, timestamp: ts(4), control_passed: { previous_owner_role: 'primary', new_owner_role: 'secondary' } }),
  envelope('standby', { messages: [message('k4', 5, { from: C })] }),
  envelope('history', {
    history: [{ metadata: { phase: 0, chunk_order: 1, progress: 100 }, threads: [{ id: '16505551234', messages: [message('h1', -600, { from: '16505551234' }), { from: DISPLAY, to: '16505551234', id: 'wamid.h2', timestamp: ts(-590), type: 'text', text: { body: 'Thanks!' } }] }] }],
  }),
];

async function api(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : parseJsonText(text) };
}

beforeAll(async () => {
  rx = await startReceiver();
  server = await startTempServer('bluetick-identity-', {
    adminToken: TOKEN,
    channels: [{ name: 'main' }],
    sinks: [{ name: 'rx', type: 'http', url: rx.url, secret: `whsec_${Buffer.from('identity-coexistence-secret-0123456').toString('base64')}` }],
    routes: [
      { name: 'all', sink: 'rx' },
      { name: 'history', sink: 'rx', match: { type: ['history.sync'] } },
    ],
    delivery: { pollMs: 20 },
  });
  running = server.running;
  for (const body of BODIES) {
    const res = await http(running.webhookUrls.main!, { body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
  }
  await running.pipeline.drain();
});

afterAll(async () => {
  await server?.close();
  await rx?.close();
});

describe('identity, coexistence and windows over HTTP', () => {
  it('finds the whole user from any identifier, with the merge history', async () => {
    for (const id of [P1, `+${P2}`, U1, U2, U3]) {
      const res = await api(`/api/contacts/${encodeURIComponent(id)}`);
      expect(res.status, id).toBe(200);
      expect(res.body.identity.current).toEqual({ waId: P2, userId: U3 });
      expect(res.body.identity.waIds).toEqual([P1, P2]);
      expect(res.body.identity.userIds).toEqual([U1, U2, U3]);
      expect(res.body.identity.merges.map((m: any) => `${m.kind} ${m.from} ${m.to}`)).toEqual([
        `alias ${P1} ${U1}`,
        `alias ${P1} ${U2}`,
        `userId ${U1} ${U2}`,
        `number ${P1} ${P2}`,
        `alias ${P2} ${U3}`,
        `userId ${U2} ${U3}`,
      ]);
    }
    const alex = await api('/api/contacts/alex.rides');
    expect(alex.status).toBe(200);
    expect(alex.body).toMatchObject({ waId: '@alex.rides', idKind: 'username', identity: { current: { userId: ALEX, username: 'alex.rides' }, waIds: [] } });
    expect((await api('/api/contacts/US.00000000000000000000')).status).toBe(404);
    const conversations = await api(`/api/conversations?contact=${ALEX}`);
    expect(conversations.body.items.map((c: any) => c.key)).toEqual([`${PHONE_ID}:${ALEX}`]);
  });

  it('shows the echo as an outbound message that answered the customer, the owner, and the ad windows', async () => {
    const { body: conversation } = await api(`/api/conversations/${encodeURIComponent(`${PHONE_ID}:${C}`)}`);
    expect(conversation.counts).toEqual({ inbound: 2, outbound: 1, unreadInbound: 0 });
    expect(conversation.lastOutbound.messageId).toBe('wamid.k3');
    expect(conversation.owner).toMatchObject({ kind: 'control_passed', role: 'secondary' });
    expect(conversation.ctwaClid).toBe('ARAkLkA8rmlFeiCktEJQ');
    expect(conversation.windowOpenUntil).toBe(new Date((T0 + 2 * 60 + 24 * 3600) * 1000).toISOString());
    expect(conversation.freeEntryWindowOpenUntil).toBe(new Date((T0 + 60 + 72 * 3600) * 1000).toISOString());
    const { body: echo } = await api('/api/messages/wamid.k3');
    expect(echo).toMatchObject({ direction: 'outbound', outbound: { source: 'echo', text: 'On our way', to: C } });
    const { body: fromAd } = await api('/api/messages/wamid.k1');
    expect(fromAd.inbound.ctwaClid).toBe('ARAkLkA8rmlFeiCktEJQ');
    // The standby copy is no message of the thread.
    expect((await api('/api/messages/wamid.k4')).status).toBe(404);
  });

  it('fills the timeline from a history thread', async () => {
    const { body } = await api(`/api/conversations/${encodeURIComponent(`${PHONE_ID}:16505551234`)}/messages`);
    expect(body.items.map((m: any) => [m.id, m.direction])).toEqual([
      ['wamid.h1', 'inbound'],
      ['wamid.h2', 'outbound'],
    ]);
  });

  it('delivers neither the standby copy nor the history thread to the catch-all route', async () => {
    await waitFor('every delivery to finish', async () => {
      const { items } = await running.store.deliveries.list({ state: ['succeeded'] }, { limit: 1000 });
      const { items: all } = await running.store.deliveries.list({}, { limit: 1000 });
      return items.length === all.length && all.length > 0;
    });
    const types = async (route: string) => (await running.store.deliveries.list({ route }, { limit: 100 })).items.map((d) => d.eventType);
    const toAll = await types('all');
    expect(toAll).not.toContain('message.standby');
    expect(toAll).not.toContain('history.sync');
    expect(toAll).toContain('message.echo');
    expect(await types('history')).toEqual(['history.sync']);
  });

  it('rebuilds the same tables, byte for byte', async () => {
    const file = join(server.dir, 'bluetick.db');
    const incremental = dumpProjections(file);
    await running.store.projections.rebuild({ batchSize: 3 });
    expect(dumpProjections(file)).toBe(incremental);
  });
});
