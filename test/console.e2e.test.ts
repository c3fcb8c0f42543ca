/**
 * The web console end to end: a real bluetick (real SQLite, admin token set, an HTTP sink
 * that can be told to fail) and the console built from source, driven in Debian's headless
 * Chromium through playwright-core. Screenshots of every main screen at 1280x800 and
 * 390x844 go to test-artifacts/console/.
 *
 * Without /usr/bin/chromium the suite is skipped with a message, except under CI
 * (`process.env.CI`), where that is a failure.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { describeNeeding } from './helpers/services.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const TOKEN = 'console-e2e-admin-token';
const BASIC = encodeBasicAuthorization('enablex', 's3cret');
const BUSINESS = '919876500001';
const CUSTOMER = '919812345678';
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

const chromiumMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;

const run = promisify(execFile);

/** A sink receiver that fails with 500 while `failing` is set. */
interface Receiver {
  url: string;
  failing: boolean;
  received: Array<{ webhookId: string; status: number; body: string }>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', failing: false, received: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const status = receiver.failing ? 500 : 200;
      receiver.received.push({ webhookId: String(req.headers['webhook-id']), status, body: Buffer.concat(parts).toString('utf8') });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'receiver is down');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return receiver;
}

const seconds = (ms: number): string => String(Math.floor(ms / 1000));

function textMessage(id: string, text: string, at: number): string {
  return JSON.stringify({
    messages: [{ from: CUSTOMER, id, timestamp: seconds(at), type: 'text', text: { body: text } }],
    contacts: [{ profile: { name: 'Anita Rao' }, wa_id: CUSTOMER }],
    business_phone: BUSINESS,
  });
}

function imageMessage(id: string, caption: string, at: number): string {
  return JSON.stringify({
    messages: [{ from: CUSTOMER, id, timestamp: seconds(at), type: 'image', image: { caption, mime_type: 'image/jpeg', id: 'media-1' } }],
    contacts: [{ profile: { name: 'Anita Rao' }, wa_id: CUSTOMER }],
    business_phone: BUSINESS,
  });
}

function reaction(id: string, target: string, emoji: string, at: number): string {
  return JSON.stringify({
    messages: [{ from: CUSTOMER, id, timestamp: seconds(at), type: 'reaction', reaction: { message_id: target, emoji } }],
    contacts: [{ profile: { name: 'Anita Rao' }, wa_id: CUSTOMER }],
    business_phone: BUSINESS,
  });
}

function status(id: string, value: string, at: number, errors?: Array<{ code: number; title: string }>): string {
  return JSON.stringify({
    statuses: [{ id, recipient_id: CUSTOMER, status: value, timestamp: seconds(at), type: 'message', ...(errors ? { errors } : {}) }],
    business_phone: BUSINESS,
  });
}

function template(name: string, id: number, event: string, reason: string | null): string {
  return JSON.stringify({
    statuses: [{ template_name: name, template_id: id, template_language: 'en', event, reason }],
    business_phone: BUSINESS,
  });
}

async function post(url: string, body: string, authorization = BASIC): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
  await res.arrayBuffer();
  return res.status;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The message of `GET /api/messages/{id}` (the message itself, with its reactions). */
function messageOf(body: unknown): { status?: string; timeline: unknown[] } {
  const b = body as { message?: { status?: string; timeline: unknown[] }; status?: string; timeline: unknown[] };
  return b.message ?? b;
}

/** UTC `YYYY-MM-DD HH:MM:SS`, as the console shows times (the browser runs in UTC here). */
function shown(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

// Generous: the machine is shared, and Chromium competes with the other suites for two cores.
describeNeeding('Chromium', chromiumMissing, 'web console in headless Chromium', () => {
  let dir: string;
  let consoleDir: string;
  let running: ServerInternals;
  let receiver: Receiver;
  /** Behind a sink whose breaker opens at the first failure and would then wait ten minutes. */
  let pager: Receiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let webhook: string;
  const errors: string[] = [];

  async function shoot(name: string): Promise<void> {
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await page.evaluate('window.scrollTo(0, 0)');
      // Let the layout settle at the new width.
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${vp.width}x${vp.height}.png`), fullPage: true });
    }
    await page.setViewportSize(VIEWPORTS[0]);
  }

  async function open(path: string, heading: string): Promise<void> {
    await page.goto(`${base}${path}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: 15_000 });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-console-'));
    consoleDir = join(dir, 'console');
    await mkdir(ARTIFACTS, { recursive: true });

    // The console as this source tree builds it (what `npm run build` puts in dist/console).
    const started = Date.now();
    await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'console', 'vite.config.ts'), '--outDir', consoleDir, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: ROOT,
      // As `npm run build` runs it: vitest sets NODE_ENV=test, which would give a development bundle.
      env: { ...process.env, NODE_ENV: 'production' },
    });
    const assets = await readdir(join(consoleDir, 'assets'));
    let raw = 0;
    let gzip = 0;
    for (const name of assets) {
      const bytes = await readFile(join(consoleDir, 'assets', name));
      raw += bytes.length;
      gzip += gzipSync(bytes, { level: 9 }).length;
    }
    console.info(`console bundle: ${assets.join(', ')}: ${(raw / 1024).toFixed(1)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzip (built in ${Date.now() - started} ms)`);

    receiver = await startReceiver();
    pager = await startReceiver();
    const resolved = resolveConfig({
      written: {
        server: { port: 0, dataDir: dir },
        channels: [{ name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret'] }],
        adminToken: TOKEN,
        sinks: [
          { name: 'crm', type: 'http', url: receiver.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', timeoutMs: 2_000, breaker: { failureThreshold: 50 } },
          {
            name: 'pager',
            type: 'http',
            url: pager.url,
            secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
            timeoutMs: 2_000,
            breaker: { failureThreshold: 1, cooldownMs: 600_000, maxCooldownMs: 600_000 },
          },
        ],
        routes: [
          { name: 'to-crm', sink: 'crm', match: { type: ['message.received'] }, retry: { maxAttempts: 2, baseMs: 20, capMs: 50 } },
          { name: 'to-pager', sink: 'pager', match: { type: ['message.received'], kind: ['image'] }, retry: { maxAttempts: 5, baseMs: 20, capMs: 50 } },
        ],
        delivery: { pollMs: 50 },
      },
      cwd: dir,
      env: {},
    });
    expect(resolved.errors).toEqual([]);
    running = await launchServer(resolved.config!, {
      logger: silentLogger(),
      processMetrics: false,
      pipeline: { pollMs: 50 },
      stream: { pollMs: 100 },
      console: { dir: consoleDir },
    });
    base = running.url;
    webhook = running.webhookUrls.enablex!;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    context = await browser.newContext({ viewport: VIEWPORTS[0], timezoneId: 'UTC', locale: 'en-US' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await running?.close();
    await receiver?.close();
    await pager?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves the console with caching headers, an SPA fallback and no way out of its folder', async () => {
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${base}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const again = await fetch(`${base}/`, { headers: { 'if-none-match': index.headers.get('etag')! } });
    expect(again.status).toBe(304);
    for (const path of ['/live', '/events/abc', '/conversations/1:2', '/deliveries']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toBe(html);
    }
    for (const path of ['/assets/..%2F..%2Fpackage.json', '/assets/%2e%2e/index.html', '/assets/.hidden.js', '/assets/missing.js', '/api/nope', '/nope']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).not.toBe(200);
    }
  });

  it('refuses a wrong token with a clear message, then signs in with the right one', async () => {
    const started = Date.now();
    await page.goto(`${base}/`);
    await page.getByLabel('Admin token').waitFor();
    // Page code runs in the browser: written as strings, as this project's types are Node's, not the DOM's.
    const timing = (await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return { domContentLoaded: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd) };
    })()`)) as { domContentLoaded: number; load: number };
    console.info(`console first load: DOMContentLoaded ${timing.domContentLoaded} ms, load ${timing.load} ms, sign-in form shown after ${Date.now() - started} ms`);
    await shoot('login');

    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('refused');
    await expect(page.getByLabel('Admin token').getAttribute('aria-invalid')).resolves.toBe('true');
    await shoot('login-refused');

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('bluetick.adminToken')")).toBe(TOKEN);
    // A second load with a warm browser: the hashed assets come from the cache, index.html revalidates (304).
    const reloaded = Date.now();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const warm = (await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return { domContentLoaded: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd) };
    })()`)) as { domContentLoaded: number; load: number };
    console.info(`console warm load: DOMContentLoaded ${warm.domContentLoaded} ms, load ${warm.load} ms, overview shown after ${Date.now() - reloaded} ms`);
    // The only errors so far are the browser's own lines for the two 401 answers of sign-in.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    errors.length = 0;
  });

  it('shows a notification in the live feed as it arrives, and its raw body in the inspector', async () => {
    await open('/live', 'Live feed');
    await page.getByText('Live', { exact: true }).waitFor();
    const body = textMessage('wamid.live-1', 'Is my order on its way?', Date.now() - 5_000);
    const sent = Date.now();
    expect(await post(webhook, body)).toBe(200);
    const row = page.locator('tr', { hasText: 'Is my order on its way?' });
    await row.waitFor();
    // Reported, not asserted: how fast depends on the machine (speed targets live in the benchmarks).
    console.info(`live feed: the POSTed notification appeared after ${Date.now() - sent} ms`);
    await expect(row.textContent()).resolves.toContain('message.received');

    // Filters: a phone number that does not match hides it, kind "text" shows it.
    await page.getByLabel('Phone number').fill('4477');
    await page.getByText('No event matches these filters yet.').waitFor();
    await page.getByLabel('Phone number').fill('98123');
    await page.getByLabel('Kind').fill('text');
    await row.waitFor();
    await page.getByLabel('Phone number').fill('');
    await page.getByLabel('Kind').fill('');

    // Pause holds new events back; resume shows them.
    await page.getByRole('button', { name: 'Pause' }).click();
    expect(await post(webhook, textMessage('wamid.live-2', 'Second message while paused', Date.now() - 4_000))).toBe(200);
    await page.getByRole('button', { name: /Resume \(1 new\)/ }).waitFor();
    expect(await page.locator('tr', { hasText: 'Second message while paused' }).count()).toBe(0);
    await page.getByRole('button', { name: /Resume/ }).click();
    await page.locator('tr', { hasText: 'Second message while paused' }).waitFor();
    await shoot('live-feed');

    await row.getByRole('link').click();
    await page.getByRole('heading', { level: 1, name: 'Event' }).waitFor();
    const raw = page.getByTestId('raw-body');
    await raw.waitFor();
    expect(await raw.textContent()).toBe(body);
    await page.getByText('HTTP Basic auth', { exact: false }).first().waitFor();
    await page.getByRole('cell', { name: 'this event' }).waitFor();
    const headers = await page.getByRole('table', { name: /Request headers/ }).textContent();
    expect(headers).not.toContain(BASIC.slice('Basic '.length));
    await shoot('inspector');
  });

  it('shows the status steps of a message with the right ticks, times and gaps', async () => {
    const sentAt = Date.now() - 120_000;
    const id = 'wamid.timeline-1';
    // Out of order, with a duplicate: the lattice must still read sent -> delivered -> read.
    for (const [value, at] of [
      ['read', sentAt + 65_000],
      ['sent', sentAt],
      ['delivered', sentAt + 5_000],
      ['read', sentAt + 65_000],
    ] as const) {
      expect(await post(webhook, status(id, value, at))).toBe(200);
    }
    expect(await post(webhook, reaction('wamid.reaction-1', id, '👍', sentAt + 70_000))).toBe(200);
    await waitFor('the read status to be projected', async () => {
      const res = await fetch(`${base}/api/messages/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const json = res.ok ? messageOf(await res.json()) : undefined;
      return json?.status === 'read' && json.timeline.length >= 3 ? true : undefined;
    });

    await open(`/messages/${id}`, 'Message');
    await expect.poll(() => page.getByTestId('current-status').locator('[data-status]').getAttribute('data-status')).toBe('read');
    const steps = page.getByRole('list', { name: 'Status steps' });
    for (const name of ['sent', 'delivered', 'read']) {
      await expect(steps.locator(`[data-step="${name}"]`).getAttribute('data-reached')).resolves.toBe('true');
    }
    await expect(steps.locator('[data-step="sent"]').textContent()).resolves.toContain(shown(sentAt));
    await expect(steps.locator('[data-step="delivered"]').textContent()).resolves.toContain(shown(sentAt + 5_000));
    await expect(steps.locator('[data-step="delivered"]').textContent()).resolves.toContain('+5.0 s after sent');
    await expect(steps.locator('[data-step="read"]').textContent()).resolves.toContain(shown(sentAt + 65_000));
    await expect(steps.locator('[data-step="read"]').textContent()).resolves.toContain('+1 min after delivered');
    // Blue double ticks for read, grey for delivered, one grey for sent.
    await expect(steps.locator('[data-step="read"] svg').getAttribute('class')).resolves.toBe('tick-blue');
    await expect(steps.locator('[data-step="delivered"] svg').getAttribute('class')).resolves.toBe('tick-grey');
    expect(await steps.locator('[data-step="sent"] svg path').count()).toBe(1);
    await page.getByRole('list', { name: 'Reactions' }).getByText('👍').waitFor();
    await shoot('message-timeline');

    // A failed message shows its error code and title.
    const failedId = 'wamid.failed-1';
    expect(await post(webhook, status(failedId, 'sent', sentAt))).toBe(200);
    expect(
      await post(webhook, status(failedId, 'failed', sentAt + 2_000, [{ code: 131049, title: 'This message was not delivered to maintain healthy ecosystem engagement.' }])),
    ).toBe(200);
    await waitFor('the failure to be projected', async () => {
      const res = await fetch(`${base}/api/messages/${failedId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return res.ok && messageOf(await res.json()).status === 'failed' ? true : undefined;
    });
    await open(`/messages/${failedId}`, 'Message');
    const failure = page.getByTestId('failure');
    await failure.getByText('131049').waitFor();
    await failure.getByText('maintain healthy ecosystem engagement', { exact: false }).waitFor();
  });

  it('lists conversations and reads one like a chat', async () => {
    expect(await post(webhook, imageMessage('wamid.image-1', 'Photo of the parcel', Date.now() - 3_000))).toBe(200);
    await waitFor('the image message', async () => {
      const res = await fetch(`${base}/api/messages/wamid.image-1`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return res.ok ? true : undefined;
    });
    await open('/conversations', 'Conversations');
    const item = page.getByRole('link', { name: /Anita Rao/ });
    await item.waitFor();
    await expect(item.textContent()).resolves.toMatch(/left/);
    await shoot('conversations');
    await item.click();
    const chat = page.getByRole('region', { name: /Conversation with Anita Rao/ });
    await chat.getByText('Is my order on its way?').waitFor();
    await chat.locator('.media-card[data-kind="image"]').getByText('image/jpeg').waitFor();
    await chat.getByText('Photo of the parcel').waitFor();
    // The outbound message read by the customer, with blue ticks and the customer's reaction.
    const outbound = chat.locator('[data-message-id="wamid.timeline-1"]');
    await outbound.locator('.tick-blue').waitFor();
    await outbound.getByText('👍').waitFor();
    await chat.getByText(/24 h window: .* left/).waitFor();
    await shoot('conversation-chat');
  });

  it('shows templates coloured by health with paused ones first', async () => {
    expect(await post(webhook, template('order_update', 774192038551001, 'APPROVED', null))).toBe(200);
    expect(await post(webhook, template('festive_offer_v2', 774192038551263, 'APPROVED', null))).toBe(200);
    expect(await post(webhook, template('festive_offer_v2', 774192038551263, 'PAUSED', 'LOW_QUALITY'))).toBe(200);
    expect(await post(webhook, template('otp_login', 774192038551777, 'REJECTED', 'INVALID_FORMAT'))).toBe(200);
    await waitFor('three templates', async () => {
      const res = await fetch(`${base}/api/templates`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return res.ok && ((await res.json()) as { items: unknown[] }).items.length >= 3 ? true : undefined;
    });
    await open('/templates', 'Templates');
    const attention = page.getByRole('region', { name: 'Paused or disabled' });
    await attention.getByText('festive_offer_v2').waitFor();
    await expect(attention.locator('article').first().getAttribute('class')).resolves.toContain('attention');
    await page.getByText('order_update').waitFor();
    await shoot('templates');
  });

  it('redrives a dead letter from the UI and the delivery then succeeds', async () => {
    receiver.failing = true;
    expect(await post(webhook, textMessage('wamid.dead-1', 'This one will need a redrive', Date.now() - 2_000))).toBe(200);
    const dead = await waitFor('a dead letter', async () => {
      const res = await fetch(`${base}/api/dead-letters`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (!res.ok) return undefined;
      const items = ((await res.json()) as { items: Array<{ id: number; eventId: string }> }).items;
      return items.length > 0 ? items : undefined;
    }, 30_000);
    await open('/deliveries', 'Deliveries');
    await page.locator('[data-sink="crm"]').waitFor();
    const row = page.locator(`tr[data-delivery-id="${dead[0]!.id}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: 'Attempts' }).click();
    await page.getByRole('table', { name: `Attempts of delivery ${dead[0]!.id}` }).getByText('500').first().waitFor();
    await shoot('deliveries-dead-letter');

    receiver.failing = false;
    const before = receiver.received.filter((r) => r.status === 200).length;
    for (const d of dead) {
      await page.getByRole('button', { name: `Redrive delivery ${d.id}` }).click();
      await page.locator(`li[data-delivery-id="${d.id}"][data-state="succeeded"]`).waitFor({ timeout: 20_000 });
    }
    expect(receiver.received.filter((r) => r.status === 200).length).toBeGreaterThan(before);

    // Replay: the dry run lists the events first; nothing is sent until confirmed.
    await page.getByLabel('Route').fill('to-crm');
    await page.getByLabel('Type').selectOption('message.received');
    const sentBefore = receiver.received.length;
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    const preview = page.getByRole('region', { name: 'Dry run result' });
    await preview.getByRole('table').waitFor();
    expect(receiver.received.length).toBe(sentBefore);
    await shoot('deliveries-replay');
    await preview.getByRole('button', { name: /^Replay \d+ events?$/ }).click();
    await page.getByText(/Replay queued \d+ deliver/).waitFor();
    await waitFor('the replayed deliveries', () => (receiver.received.length > sentBefore ? true : undefined));
  });

  it('ends a paused sink\'s wait with "Probe now", and the probe delivers', async () => {
    pager.failing = true;
    expect(await post(webhook, imageMessage('wamid.probe-1', 'Photo of the parcel', Date.now() - 1_000))).toBe(200);
    const sinkState = async () => {
      const res = await fetch(`${base}/api/sinks`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const items = ((await res.json()) as { items: Array<{ name: string; breaker?: { state: string } }> }).items;
      return items.find((s) => s.name === 'pager')?.breaker?.state;
    };
    await waitFor('the pager breaker to open', async () => ((await sinkState()) === 'open' ? true : undefined), 30_000);
    await open('/deliveries', 'Deliveries');
    const card = page.locator('[data-sink="pager"]');
    await card.getByText('breaker open').waitFor();
    // The crm sink's breaker is closed: no probe button there.
    await expect(page.locator('[data-sink="crm"]').getByRole('button', { name: /Probe/ }).count()).resolves.toBe(0);
    await shoot('deliveries-sink-paused');

    pager.failing = false;
    const ok = () => pager.received.filter((r) => r.status === 200 && r.body.includes('wamid.probe-1')).length;
    expect(ok()).toBe(0);
    await card.getByRole('button', { name: 'Probe pager now' }).click();
    await card.getByRole('status').getByText(/next delivery goes now/).waitFor();
    // Without the button the next probe was ten minutes away.
    await waitFor('the probe delivery', () => (ok() > 0 ? true : undefined));
    await card.getByText('breaker closed').waitFor({ timeout: 20_000 });
    await expect(card.getByRole('button', { name: /Probe/ }).count()).resolves.toBe(0);
    // The answer stays once the breaker closed and the button went: a quick probe can close
    // it before the list refreshes, and the operator still sees what the click did.
    await expect(card.getByRole('status').textContent()).resolves.toMatch(/next delivery goes now/);
  });

  it('shows why requests were refused and what was quarantined', async () => {
    expect(await post(webhook, textMessage('wamid.x', 'wrong password', Date.now()), encodeBasicAuthorization('enablex', 'wrong'))).toBe(401);
    expect(await post(webhook, 'this is not json')).toBe(200);
    await open('/rejections', 'Rejections and quarantine');
    await page.getByRole('table', { name: /Refused requests/ }).getByText('unauthorized').first().waitFor();
    await page.getByRole('list', { name: 'Rejections by cause' }).getByText('Wrong or missing credentials').waitFor();
    // The quarantine list refreshes on its own once the pipeline has set the POST aside.
    const quarantined = page.getByRole('list', { name: /Quarantined POSTs/ }).getByText('this is not json', { exact: true });
    await quarantined.waitFor({ timeout: 30_000 });
    await page.getByRole('list', { name: /Quarantined POSTs/ }).getByText('not valid JSON', { exact: false }).first().waitFor();
    await shoot('rejections');
  });

  it('shows the overview with counts, the chart and the funnel', async () => {
    await open('/', 'Overview');
    const byType = page.getByRole('list', { name: 'Events by type' });
    await byType.getByText('message.status').waitFor();
    const funnel = page.getByRole('list', { name: /Outbound messages by the furthest status/ });
    await funnel.waitFor();
    const bars = (list: typeof byType) =>
      list.locator('li.bar-row').evaluateAll((items) =>
        items.map((li) => [li.querySelector('.bar-label')!.textContent!.trim(), li.querySelector('.bar-value')!.textContent!.trim()]),
      );
    // The bars say what the API says (both read again until they agree: the page polls).
    await expect
      .poll(async () => {
        const res = await fetch(`${base}/api/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const stats = (await res.json()) as { events: { byType: Record<string, number> } };
        const expected = Object.entries(stats.events.byType).map(([name, n]) => [name, String(n)]).sort();
        return JSON.stringify([...(await bars(byType))].sort()) === JSON.stringify(expected);
      }, { timeout: 20_000 })
      .toBe(true);
    // The funnel follows the lattice: every read message was delivered, every delivered one sent.
    const steps = await bars(funnel);
    expect(steps.map(([name]) => name)).toEqual(['Sent', 'Delivered', 'Read', 'Failed']);
    const count = (i: number): number => Number(/^[\d,]+/.exec(steps[i]![1]!)![0].replace(/,/g, ''));
    expect(count(0)).toBeGreaterThanOrEqual(count(1));
    expect(count(1)).toBeGreaterThanOrEqual(count(2));
    expect(count(2)).toBeGreaterThan(0);
    // A second sample gives the chart a line: wait for it rather than for a fixed time.
    const line = page.locator('svg.chart path.series-rate').first();
    await expect.poll(() => line.getAttribute('d'), { timeout: 20_000 }).toMatch(/^M[\d.,\s-]+L/);
    // Disk use: the journal's row count as /api/storage gives it (one measurement a minute, so
    // possibly from before this file's POSTs), with a size, and the disk's free space.
    const journalRow = page.getByTestId('storage-panel').locator('tr[data-class="journal"]');
    await journalRow.waitFor();
    const storage = (await (await fetch(`${base}/api/storage`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      classes: Array<{ name: string; rows?: number }>;
    };
    const journalRows = storage.classes.find((c) => c.name === 'journal')!.rows!;
    expect(await journalRow.locator('td[data-label="Rows"]').textContent()).toBe(journalRows.toLocaleString('en-US'));
    expect(await journalRow.locator('td[data-label="Size"]').textContent()).toMatch(/^\d+(\.\d)? (B|KiB|MiB|GiB)$/);
    // How long each class is kept: raw bodies by the default rule, message content redacted after its own.
    expect(await journalRow.locator('td[data-label="Kept"]').textContent()).toBe('30d');
    expect(await page.getByTestId('storage-panel').locator('tr[data-class="messages"] td[data-label="Kept"]').textContent()).toBe('90d, then redacted');
    await expect.poll(() => page.getByTestId('disk-free').textContent()).toMatch(/^Disk free: \S+ \S+ of /);
    await shoot('overview');
  });

  it('is usable from the keyboard: skip link, navigation and focus on the new heading', async () => {
    await open('/', 'Overview');
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await expect(skip.evaluate((el) => el === el.ownerDocument.activeElement)).resolves.toBe(true);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Templates' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Templates' }).waitFor();
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('page-title');
    // Every form control on the screens visited has a label.
    for (const path of ['/live', '/deliveries', '/messages']) {
      await page.goto(`${base}${path}`);
      await page.locator('h1').waitFor();
      const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
        .filter((e) => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
        .map((e) => e.outerHTML)`);
      expect(unlabelled, path).toEqual([]);
    }
  });

  it('asks for the generated token when none is configured, loopback included, and signs in with the one kept in the data folder', async () => {
    const openDir = await mkdtemp(join(tmpdir(), 'bluetick-console-open-'));
    const resolved = resolveConfig({
      written: { server: { port: 0, dataDir: openDir }, channels: [{ name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret'] }] },
      cwd: openDir,
      env: {},
    });
    expect(resolved.errors).toEqual([]);
    const open = await launchServer(resolved.config!, { logger: silentLogger(), processMetrics: false, console: { dir: consoleDir } });
    const second = await context.newPage();
    const secondErrors: string[] = [];
    second.on('console', (msg) => {
      if (msg.type() === 'error') secondErrors.push(msg.text());
    });
    try {
      await second.goto(`${open.url}/`);
      await second.getByLabel('Admin token').waitFor();
      expect(await second.getByText('admin-token').count()).toBeGreaterThan(0);
      const kept = (await readFile(join(openDir, 'admin-token'), 'utf8')).trim();
      expect(kept).toBe(open.adminToken.token);
      await second.getByLabel('Admin token').fill(kept);
      await second.getByRole('button', { name: 'Sign in' }).click();
      await second.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      // The browser's own line for the probe's 401 is the only error.
      expect(secondErrors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await second.close();
      await open.close();
      await rm(openDir, { recursive: true, force: true });
    }
  });

  it('logged no console errors while the tests ran', () => {
    expect(errors).toEqual([]);
  });
}, { timeout: 90_000 });
