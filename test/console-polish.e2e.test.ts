/**
 * The console's overview charts and deliveries screen end to end: a real bluetick (SQLite,
 * admin token, an HTTP sink whose receiver refuses some bodies) fed signed Meta bodies, the
 * console built from source, driven in Debian's headless Chromium through playwright-core.
 * The traffic chart is drawn from `GET /api/activity` at the first load (no browser-side
 * samples yet), the dead-letter table keeps its Redrive and Drop buttons inside the page
 * at 1280 px, pending and blocked deliveries are listed with why each waits, and a Meta
 * conversation is titled with the configured label and the display number, and the live feed
 * shows a location's place and coordinates and a shared contact's names. Screenshots at 1280x800 and 390x844 go to test-artifacts/console-polish/.
 *
 * Without /usr/bin/chromium the suite is skipped with a message, except under CI.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { waitFor } from './helpers/delivery.js';
import { DISPLAY_PHONE, PHONE_ID, inboundBody, statusBody } from './helpers/meta-bodies.js';
import { describeNeeding } from './helpers/services.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console-polish');
const TOKEN = 'console-polish-e2e-admin-token';
const SECRET = 'console-polish-e2e-secret';
const CUSTOMER = '919812345678';
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;
const chromiumMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
const run = promisify(execFile);

/** Answers 200, or 500 with a long error for bodies that contain "REFUSE". */
async function startReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const refuse = Buffer.concat(parts).toString('utf8').includes('REFUSE');
      if (!refuse) return void res.writeHead(200).end('ok');
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`upstream order service unavailable: ${'connection reset by peer while writing the order row; '.repeat(4)}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describeNeeding('Chromium', chromiumMissing, 'console overview charts and deliveries screen', () => {
  let dir: string;
  let running: ServerInternals;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  async function post(body: string): Promise<void> {
    const res = await fetch(running.webhookUrls.meta!, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(body, SECRET) }, body });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
  }

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  }

  async function shoot(name: string): Promise<void> {
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${vp.width}x${vp.height}.png`), fullPage: true });
    }
    await page.setViewportSize(VIEWPORTS[0]);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-polish-e2e-'));
    const consoleDir = join(dir, 'console');
    await mkdir(ARTIFACTS, { recursive: true });
    await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'console', 'vite.config.ts'), '--outDir', consoleDir, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    receiver = await startReceiver();
    const resolved = resolveConfig({
      written: {
        server: { port: 0, dataDir: dir },
        channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } }],
        adminToken: TOKEN,
        sinks: [
          { name: 'orders-primary-webhook', type: 'http', url: receiver.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', breaker: { failureThreshold: 50 } },
          // Nothing listens there: the first failure opens the breaker for ten minutes.
          { name: 'pager', type: 'http', url: 'http://127.0.0.1:9/down', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', breaker: { failureThreshold: 1, cooldownMs: 600_000, maxCooldownMs: 600_000 } },
        ],
        routes: [
          { name: 'inbound-to-orders-service', sink: 'orders-primary-webhook', match: { type: ['message.received'] }, onDeadLetter: 'hold', retry: { maxAttempts: 1 } },
          { name: 'statuses-to-pager', sink: 'pager', match: { type: ['message.status'] }, retry: { maxAttempts: 5, baseMs: 600_000, capMs: 600_000 } },
        ],
        delivery: { pollMs: 50 },
        labels: { [PHONE_ID]: 'Sales India' },
      },
      cwd: dir,
      env: {},
    });
    expect(resolved.errors).toEqual([]);
    running = await launchServer(resolved.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 50 }, console: { dir: consoleDir } });

    const t = Date.now();
    await post(inboundBody([{ id: 'wamid.POL1', from: CUSTOMER, name: 'Anita Rao', text: 'Where is my parcel?', at: t }]));
    await post(inboundBody([{ id: 'wamid.POL2', from: CUSTOMER, name: 'Anita Rao', text: 'Second question', at: t }]));
    await post(statusBody([{ id: 'wamid.POLOUT', status: 'delivered', to: CUSTOMER, at: t }]));
    for (const n of [3, 4]) await post(inboundBody([{ id: `wamid.POL${n}`, from: `9198000000${n}0`, name: `Customer ${n}`, text: `please REFUSE ${n}`, at: t }]));
    await running.pipeline.drain();
    // Deliveries settle after the pipeline: two succeed, two go dead at their only attempt.
    await waitFor('two dead letters', async () => ((await api<{ items: unknown[] }>('/api/dead-letters')).items.length === 2 ? true : undefined), 20_000);
    // Customer 3 writes again: held behind that customer's dead letter.
    await post(inboundBody([{ id: 'wamid.POL5', from: '919800000030', name: 'Customer 3', text: 'any news?', at: t }]));
    await running.pipeline.drain();
    await waitFor('the pager sink paused', async () => {
      const sinks = await api<{ items: Array<{ name: string; breaker?: { state: string } }> }>('/api/sinks');
      return sinks.items.find((x) => x.name === 'pager')?.breaker?.state === 'open' ? true : undefined;
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const context = await browser.newContext({ viewport: VIEWPORTS[0], timezoneId: 'UTC', locale: 'en-US' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    await page.goto(`${running.url}/`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    errors.length = 0;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await receiver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('draws the last hour of traffic from the store at the first load', async () => {
    // A fresh tab: no samples of its own, so what the chart shows came from /api/activity.
    expect(await page.evaluate("(JSON.parse(sessionStorage.getItem('bluetick.statsSamples') || '[]')).length")).toBeLessThanOrEqual(1);
    const chart = page.getByRole('img', { name: /POSTs, events and successful deliveries per minute/ });
    await chart.waitFor();
    // This run's traffic: 6 POSTs, 6 events, 2 of them delivered (2 refused, 1 held, 1 to a sink that is down).
    expect(await page.getByTestId('traffic-total').textContent()).toBe('6 POSTs · 6 events · 2 delivered');
    expect(await chart.locator('path.series-rate').getAttribute('d')).toMatch(/^M/);
    await shoot('overview');
    expect(errors).toEqual([]);
  });

  it('titles a Meta conversation with its label and display number, never the phone-number id', async () => {
    await page.goto(`${running.url}/conversations/${encodeURIComponent(`${PHONE_ID}:${CUSTOMER}`)}`);
    await page.getByRole('heading', { level: 1, name: 'Conversations' }).waitFor();
    const title = page.getByTestId('business-title');
    await expect.poll(() => title.textContent()).toBe(`Sales India · +${DISPLAY_PHONE}`);
    expect(await page.getByRole('region', { name: /Conversation with/ }).textContent()).not.toContain(`+${PHONE_ID}`);
    await shoot('conversation');
    expect(errors).toEqual([]);
  });

  it('lists pending and blocked deliveries with why each one waits', async () => {
    await page.getByRole('link', { name: 'Deliveries' }).click();
    await page.getByRole('heading', { level: 1, name: 'Deliveries' }).waitFor();
    const table = page.getByRole('table', { name: 'Pending and blocked deliveries' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    const held = table.locator('tr[data-waiting="held"]');
    expect(await held.textContent()).toContain('inbound-to-orders-service');
    expect(await held.getByText('held').getAttribute('title')).toMatch(/^Held by dead letter #\d+ of its conversation/);
    await expect.poll(() => table.locator('tr[data-waiting="sink paused"]').count()).toBe(1);
    expect(await table.locator('tr[data-waiting="sink paused"]').textContent()).toContain('statuses-to-pager → pager');
    // Whole at 1280 px: nothing to scroll sideways for.
    expect(await table.locator('xpath=..').evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  });

  it('keeps every dead letter action inside the page at 1280 px', async () => {
    const table = page.getByRole('table', { name: 'Dead letters' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    const wrap = table.locator('xpath=..');
    for (const name of [/Redrive delivery/, /Drop delivery/]) {
      const buttons = page.getByRole('button', { name });
      expect(await buttons.count()).toBe(2);
      for (const button of await buttons.all()) {
        const box = (await button.boundingBox())!;
        const area = (await wrap.boundingBox())!;
        // Whole inside the table's scroll box and the viewport: nothing to scroll to reach it.
        expect(box.x + box.width).toBeLessThanOrEqual(area.x + area.width);
        expect(box.x + box.width).toBeLessThanOrEqual(1280);
      }
    }
    expect(await wrap.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    // Stacked on a phone, the buttons wrap inside the screen.
    await page.setViewportSize(VIEWPORTS[1]);
    for (const button of await page.getByRole('button', { name: /Drop delivery|Redrive delivery/ }).all()) {
      const box = (await button.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(VIEWPORTS[1].width);
    }
    await page.setViewportSize(VIEWPORTS[0]);
    await shoot('deliveries');
    expect(errors).toEqual([]);
  });

  it('shows location and shared-contact details in the live feed', async () => {
    for (const name of ['location', 'contacts']) await post(readFileSync(new URL(`./fixtures/meta/${name}.json`, import.meta.url), 'utf8'));
    await running.pipeline.drain();
    await page.getByRole('link', { name: 'Live feed' }).click();
    await page.getByRole('heading', { level: 1, name: 'Live feed' }).waitFor();
    await page.getByText('Kerry Fisher: Location: Main office, 1 Hacker Way, Menlo Park, CA 94025 (37.48331, -122.14898)').waitFor();
    await page.getByText(/: Shared contact: Sam Ortiz$/).waitFor();
    await shoot('live-feed');
    expect(errors).toEqual([]);
  });
});
