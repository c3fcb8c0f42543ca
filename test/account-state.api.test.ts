/**
 * Consent and account health over real HTTP: Meta's management-field bodies (the golden
 * fixtures) posted signed to a real server on a SQLite store, then `/api/consent`,
 * `/api/contacts/{waId}`, `/api/health` and `/api/health/{entity}/{key}` read back what
 * the projections made of them. Every answer is parsed with its response schema.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as schemas from '../src/api/schemas.js';
import { parseJsonText } from '../src/events/json.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { inboundBody } from './helpers/meta-bodies.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const SECRET = 'account-state-app-secret';
const USER = '16315551181';

const FIXTURES = [
  'user-preferences',
  'account-update',
  'account-alerts',
  'account-review-update',
  'business-capability-update',
  'security',
  'phone-number-quality-update',
  'phone-number-limit-update',
  'phone-number-name-update',
  'flows-endpoint-error-rate',
  'template-components-update',
];

let server: TempServer;

async function post(body: string | Buffer): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.port}/webhooks/main`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(body, SECRET) },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: server.auth });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return schema.parse(parseJsonText(text));
}

async function status(path: string): Promise<{ status: number; body: { message?: string } }> {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: server.auth });
  return { status: res.status, body: (await res.json()) as { message?: string } };
}

beforeAll(async () => {
  server = await startTempServer('bluetick-account-state-', { channels: [{ name: 'main', provider: 'meta', meta: { appSecrets: [SECRET] } }] });
  // The user writes first, so a contact row exists to carry the consent.
  expect(await post(inboundBody([{ id: 'wamid.IN1', from: USER, name: 'Kerry Fisher', text: 'hi', at: Date.UTC(2024, 4, 31) }]))).toBe(200);
  for (const name of FIXTURES) expect(await post(readFileSync(new URL(`./fixtures/meta/${name}.json`, import.meta.url)))).toBe(200);
  await server.running.pipeline.drain();
});

afterAll(async () => {
  await server?.close();
});

describe('GET /api/consent', () => {
  it('lists the latest choice per user and category, with filters', async () => {
    const page = await get('/api/consent', schemas.consentPageSchema);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      contact: USER,
      category: 'marketing_messages',
      state: 'resume',
      optedOut: false,
      changedAt: '2024-06-01T01:25:00.000Z',
    });
    expect(page.items[0]!.history.map((h) => h.status)).toEqual(['stop', 'resume']);
    expect((await get('/api/consent?state=stop', schemas.consentPageSchema)).items).toEqual([]);
    expect((await get(`/api/consent?state=resume&category=marketing_messages&contact=${USER}`, schemas.consentPageSchema)).items).toHaveLength(1);
    expect((await get('/api/consent?contact=15550000000', schemas.consentPageSchema)).items).toEqual([]);
  });

  it('refuses an unknown filter by name', async () => {
    const res = await status('/api/consent?opted=1');
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^opted: unknown parameter/);
  });

  it('is part of the contact view', async () => {
    const contact = await get(`/api/contacts/${USER}`, schemas.contactDetailSchema);
    expect(contact.consent?.map((c) => [c.category, c.state])).toEqual([['marketing_messages', 'resume']]);
  });
});

describe('GET /api/health', () => {
  it('shows phone numbers, business accounts and Flows with a timeline, newest first', async () => {
    const health = await get('/api/health', schemas.healthSchema);
    expect(health.phoneNumbers.map((p) => p.key)).toEqual(['15550783881']);
    expect(health.phoneNumbers[0]).toMatchObject({
      quality: { value: 'FLAGGED' },
      messagingLimit: { value: 'TIER_10K', detail: 'UPGRADE' },
      displayName: { value: 'REJECTED', detail: 'Lucky Shrub Garden Supplies', reason: 'NAME_FORMAT_UNACCEPTABLE' },
    });
    expect(health.businessAccounts[0]).toMatchObject({
      businessAccountId: '102290129340398',
      status: { value: 'VERIFIED_ACCOUNT' },
      review: { value: 'APPROVED' },
      alerts: { OBA_APPROVED: { value: 'ACTIVE', detail: 'INFORMATIONAL' } },
      capabilities: { limits: { max_phone_numbers_per_waba: 25 } },
      security: { value: 'PIN_CHANGED' },
    });
    expect(health.flows.map((f) => [f.key, f.status?.value])).toEqual([
      ['2873019564410292', 'PUBLISHED'],
      ['1172387227285717', undefined],
    ]);
    expect(health.flows[1]!.health.ENDPOINT_ERROR_RATE).toMatchObject({ value: 'ACTIVATED', detail: '14.7' });
    const times = health.timeline.map((c) => c.at);
    expect(times).toEqual([...times].sort().reverse());
    expect(new Set(health.timeline.map((c) => c.entity))).toEqual(new Set(['phone-number', 'business-account', 'flow', 'template']));
    expect(health.timeline.find((c) => c.entity === 'template')).toMatchObject({ type: 'template.components', detail: 'order_confirmation (en_US)' });
  });

  it('answers one entity with its history, 404 for an unknown one, 400 for a bad kind', async () => {
    const phone = await get('/api/health/phone-numbers/15550783881', schemas.phoneNumberHealthSchema);
    expect(phone.history.map((h) => h.status)).toEqual(['FLAGGED', 'REJECTED', 'UPGRADE']);
    const flow = await get('/api/health/flows/1172387227285717', schemas.flowHealthSchema);
    expect(flow.history).toHaveLength(1);
    const waba = await get('/api/health/business-accounts/102290129340398', schemas.businessAccountHealthSchema);
    expect(waba.history.length).toBeGreaterThanOrEqual(5);
    expect((await status('/api/health/flows/404')).status).toBe(404);
    const bad = await status('/api/health/robots/1');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^entity: /);
  });

  it('shows template components in the template', async () => {
    const template = await get('/api/templates/1203443834149263', schemas.templateSchema);
    expect(template.components).toEqual({
      body: 'Hi {{1}}, your order {{2}} is confirmed.',
      footer: 'Reply STOP to opt out',
      buttons: ['URL: Track order'],
    });
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`http://127.0.0.1:${server.port}/api/openapi.json`, { headers: server.auth })).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/consent', '/api/health', '/api/health/{entity}/{key}']));
  });
});
