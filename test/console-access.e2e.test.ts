/**
 * Roles in the web console, end to end: a real bluetick (real SQLite, a sink that always
 * fails so a dead letter exists) and the console built from source, in Debian's headless
 * Chromium. An admin manages tokens on the Access screen; an operator redrives and sees the
 * audit log but no tokens; a viewer whose token masks text sees no redrive, no replay, no
 * Access screen and no message text. Screenshots at 1280x800 and 390x844 go to
 * test-artifacts/console-access/.
 *
 * Without /usr/bin/chromium the suite is skipped with a message, except under CI.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { waitFor } from './helpers/delivery.js';
import { describeNeeding } from './helpers/services.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console-access');
const ADMIN = 'console-access-admin-token-0123456789';
const BASIC = encodeBasicAuthorization('enablex', 's3cret');
const SECRET_TEXT = 'Please deliver to the back door';
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

const chromiumMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
const run = promisify(execFile);

describeNeeding('Chromium', chromiumMissing, 'roles in the web console', () => {
  let dir: string;
  let running: ServerInternals;
  let sink: Server;
  let browser: Browser;
  const tokens: Record<string, string> = {};
  let eventId = '';

  async function api(token: string, method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${running.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    return res.json();
  }

  /** A fresh browser context signed in with `token`, on the overview. */
  async function signedIn(token: string): Promise<Page> {
    const context = await browser.newContext({ viewport: VIEWPORTS[0], timezoneId: 'UTC', locale: 'en-US' });
    const page = await context.newPage();
    // Generous: the machine is shared, and Chromium competes with other suites for two cores.
    page.setDefaultTimeout(30_000);
    await page.goto(`${running.url}/`);
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    return page;
  }

  async function shoot(page: Page, name: string): Promise<void> {
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await page.evaluate('window.scrollTo(0, 0)');
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${vp.width}x${vp.height}.png`), fullPage: true });
    }
    await page.setViewportSize(VIEWPORTS[0]);
  }

  async function open(page: Page, path: string, heading: string): Promise<void> {
    await page.goto(`${running.url}${path}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-console-access-'));
    await mkdir(ARTIFACTS, { recursive: true });
    const consoleDir = join(dir, 'console');
    await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'console', 'vite.config.ts'), '--outDir', consoleDir, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    // A receiver that is always down: the one delivery ends as a dead letter.
    sink = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(500).end('down'));
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const resolved = resolveConfig({
      written: {
        server: { port: 0, dataDir: dir },
        channels: [{ name: 'enablex', provider: 'enablex', basicAuth: ['enablex:s3cret'] }],
        adminToken: ADMIN,
        sinks: [{ name: 'crm', type: 'http', url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hooks`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', breaker: { failureThreshold: 50 } }],
        routes: [{ name: 'to-crm', sink: 'crm', match: { type: ['message.received'] }, retry: { maxAttempts: 1 } }],
        delivery: { pollMs: 50 },
      },
      cwd: dir,
      env: {},
    });
    expect(resolved.errors).toEqual([]);
    running = await launchServer(resolved.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 50 }, console: { dir: consoleDir } });

    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({
      messages: [{ from: '919812345678', id: 'wamid.ACCESS1', timestamp: String(now), type: 'text', text: { body: SECRET_TEXT } }],
      contacts: [{ profile: { name: 'Anita Rao' }, wa_id: '919812345678' }],
      business_phone: '919876500001',
    });
    const res = await fetch(running.webhookUrls.enablex!, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BASIC }, body });
    expect(res.status).toBe(200);
    // An outbound message whose statuses come before the record of what was sent.
    const statuses = JSON.stringify({
      statuses: [
        { id: 'wamid.OUT1', recipient_id: '919812345678', status: 'sent', timestamp: String(now), type: 'message' },
        { id: 'wamid.OUT1', recipient_id: '919812345678', status: 'delivered', timestamp: String(now + 2), type: 'message' },
        { id: 'wamid.FAIL1', recipient_id: '919812345678', status: 'sent', timestamp: String(now), type: 'message' },
        { id: 'wamid.FAIL1', recipient_id: '919812345678', status: 'failed', timestamp: String(now + 1), type: 'message', errors: [{ code: 131026, title: 'Message undeliverable' }] },
      ],
      business_phone: '919876500001',
    });
    expect((await fetch(running.webhookUrls.enablex!, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BASIC }, body: statuses })).status).toBe(200);
    await waitFor('the outbound message', async () => (await running.store.projections.getMessage('wamid.OUT1'))?.status === 'delivered' || undefined, 20_000);
    await api(ADMIN, 'POST', '/api/outbound', {
      messageId: 'wamid.OUT1',
      templateName: 'order_shipped',
      templateLanguage: 'en',
      text: 'Your order 1234 is on its way',
      bizOpaqueCallbackData: 'order-1234',
      tags: ['december', 'order-1234'],
    });
    const dead = await waitFor('the dead letter', async () => (await running.store.deliveries.list({ state: ['dead'] }, { limit: 1 })).items[0], 20_000);
    eventId = dead.eventId;
    for (const [name, role, maskText] of [
      ['ops', 'operator', false],
      ['auditor', 'viewer', true],
    ] as const) {
      tokens[name] = (await api(ADMIN, 'POST', '/api/tokens', { name, role, maskText })).token;
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await new Promise<void>((r) => (sink ? sink.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('lets an admin see, create and revoke tokens on the Access screen', async () => {
    const page = await signedIn(ADMIN);
    await expect.poll(() => page.locator('.role-badge').textContent()).toBe('admin-token · admin');
    await page.getByRole('link', { name: 'Access' }).click();
    await page.getByRole('heading', { level: 1, name: 'Access' }).waitFor();
    const tokenTable = page.getByRole('table', { name: 'API tokens' });
    await expect.poll(() => tokenTable.textContent()).toContain('auditor');
    expect(await tokenTable.textContent()).toContain('text masked');

    await page.getByLabel('Name').fill('deploy-bot');
    await page.getByLabel('Role').selectOption('sender');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = await page.locator('.token-text').textContent();
    expect(shown).toMatch(/^btk_/);
    expect((await api(shown!, 'GET', '/api/whoami')).role).toBe('sender');
    await expect.poll(() => tokenTable.textContent()).toContain('deploy-bot');
    await shoot(page, 'access-admin');

    await page.getByRole('button', { name: 'Revoke token deploy-bot' }).click();
    await expect.poll(() => tokenTable.locator('tr', { hasText: 'deploy-bot' }).textContent()).toContain('revoked');
    const audit = page.getByRole('table', { name: 'Audit log, newest first' });
    await expect.poll(() => audit.textContent(), { timeout: 20_000, interval: 500 }).toContain('token.revoke');
    await page.context().close();
  });

  it('lets an operator redrive and read the audit log, without token management', async () => {
    const page = await signedIn(tokens.ops!);
    await expect.poll(() => page.locator('.role-badge').textContent()).toBe('ops · operator');
    await open(page, '/deliveries', 'Deliveries');
    await page.getByRole('button', { name: /^Redrive delivery / }).first().click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/redriv|deliver/i);
    expect(await page.getByRole('heading', { name: 'Replay' }).count()).toBe(1);
    await open(page, '/access', 'Access');
    expect(await page.getByRole('table', { name: 'API tokens' }).count()).toBe(0);
    const audit = page.getByRole('table', { name: 'Audit log, newest first' });
    await expect.poll(() => audit.textContent(), { timeout: 20_000 }).toContain('dead-letters.redrive');
    await shoot(page, 'access-operator');
    await page.context().close();
  });

  it('shows what the sending code recorded on the message and in its conversation', async () => {
    const page = await signedIn(ADMIN);
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${running.url}/messages/wamid.OUT1`);
    await page.getByRole('heading', { level: 1, name: 'Message' }).waitFor().catch(async (err: unknown) => {
      throw new Error(`${String(err)}\npage errors: ${problems.join('; ')}\nmain: ${(await page.locator('body').textContent())?.slice(0, 500)}`);
    });
    const main = page.locator('main');
    await expect.poll(() => main.textContent()).toContain('Your order 1234 is on its way');
    const text = (await main.textContent()) ?? '';
    expect(text).toContain('order_shipped (en)');
    expect(text).toContain('order-1234');
    expect(text).toContain('december, order-1234');
    await shoot(page, 'message-outbound');
    const key = (await running.store.projections.getMessage('wamid.OUT1'))!.conversationKey!;
    await page.goto(`${running.url}/conversations/${encodeURIComponent(key)}`);
    const bubble = page.locator('[data-message-id="wamid.OUT1"]');
    await expect.poll(() => bubble.textContent()).toContain('Your order 1234 is on its way');
    expect(await bubble.textContent()).toContain('Template order_shipped (en)');
    await shoot(page, 'conversation-outbound');
    await page.context().close();
  });

  it('searches from the top bar and opens a result', async () => {
    const page = await signedIn(ADMIN);
    const box = page.getByRole('searchbox', { name: 'Search' });
    await box.fill('anita');
    await box.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Search' }).waitFor();
    const results = page.getByRole('table', { name: 'Search results' });
    // Indexed moments after the event was recorded.
    await expect.poll(() => results.locator('tr[data-kind="message"]').count(), { timeout: 20_000 }).toBe(1);
    expect(await results.locator('tr[data-kind="contact"]').count()).toBe(1);
    await shoot(page, 'search-results');
    await box.fill('order_shipped');
    await box.press('Enter');
    await expect.poll(() => results.textContent(), { timeout: 20_000 }).toContain('order_shipped');
    await results.getByRole('link', { name: 'order_shipped' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Message' }).waitFor();
    expect(page.url()).toContain('/messages/wamid.OUT1');
    await page.context().close();
  });

  it("shows a failed message's steps without the ones it will never reach", async () => {
    const page = await signedIn(ADMIN);
    await open(page, '/messages/wamid.FAIL1', 'Message');
    const steps = page.getByRole('list', { name: 'Status steps' });
    await expect.poll(() => steps.locator('[data-step="failed"]').count()).toBe(1);
    expect(await steps.locator('li').evaluateAll((items) => items.map((li) => li.getAttribute('data-step')))).toEqual(['sent', 'failed']);
    expect(await steps.textContent()).not.toContain('not yet');
    expect(await steps.textContent()).toContain('131026');
    await shoot(page, 'message-failed');
    await page.context().close();
  });

  it("answers an unknown page with the console's own not-found screen, and API clients with JSON", async () => {
    const page = await signedIn(ADMIN);
    const res = await page.goto(`${running.url}/no-such-screen`);
    expect(res!.status()).toBe(404);
    await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
    await shoot(page, 'not-found');
    await page.context().close();
    const json = await fetch(`${running.url}/no-such-screen`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(json.headers.get('content-type')).toMatch(/json/);
    const api = await fetch(`${running.url}/api/no-such-route`, { headers: { accept: 'text/html', authorization: `Bearer ${ADMIN}` } });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/json/);
  });

  it('shows a masking viewer no actions, no Access screen and no message text', async () => {
    const page = await signedIn(tokens.auditor!);
    await expect.poll(() => page.locator('.role-badge').textContent()).toBe('auditor · viewer');
    expect(await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Access' }).count()).toBe(0);
    await open(page, '/deliveries', 'Deliveries');
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    expect(await page.getByRole('button', { name: /Redrive|Drop|Probe/ }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Replay' }).count()).toBe(0);
    await shoot(page, 'deliveries-viewer');

    await page.goto(`${running.url}/events/${encodeURIComponent(eventId)}`);
    await expect.poll(() => page.locator('main').textContent()).toContain('wamid.ACCESS1');
    expect(await page.locator('main').textContent()).not.toContain(SECRET_TEXT);
    expect(await page.locator('main').textContent()).toContain('•••');
    await shoot(page, 'event-viewer-masked');
    await page.context().close();
  });
});
