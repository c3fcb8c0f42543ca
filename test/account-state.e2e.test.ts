/**
 * The console's "Account health" and "Consent" screens end to end: a real bluetick (SQLite,
 * admin token) fed Meta's management-field bodies (the golden fixtures, signed), the console
 * built from source, driven in Debian's headless Chromium through playwright-core.
 * Screenshots at 1280x800 go to test-artifacts/account-state/.
 *
 * Without /usr/bin/chromium the suite is skipped with a message, except under CI.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { signMeta } from '../src/ingest/verify-meta.js';
import { silentLogger } from '../src/log.js';
import { launchServer, type ServerInternals } from '../src/server.js';
import { accountStateBatches } from './store.account-state.contract.js';
import { describeNeeding } from './helpers/services.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'account-state');
const TOKEN = 'account-state-e2e-admin-token';
const SECRET = 'account-state-e2e-secret';
const chromiumMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
const run = promisify(execFile);

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

/** A second user who stopped marketing messages and did not resume. */
const STOP_ONLY = JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      time: 1717210000,
      changes: [
        {
          field: 'user_preferences',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
            contacts: [{ profile: { name: 'Ravi Menon' }, wa_id: '16315550042' }],
            user_preferences: [{ wa_id: '16315550042', detail: 'User requested to stop marketing messages', category: 'marketing_messages', value: 'stop', timestamp: 1717209000 }],
          },
        },
      ],
    },
  ],
});

describeNeeding('Chromium', chromiumMissing, 'account health and consent in the console', () => {
  let dir: string;
  let running: ServerInternals;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  async function post(body: string | Buffer): Promise<void> {
    const res = await fetch(running.webhookUrls.meta!, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMeta(body, SECRET) }, body });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
  }

  async function shoot(name: string): Promise<void> {
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(ARTIFACTS, `${name}-1280x800.png`), fullPage: true });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-account-e2e-'));
    const consoleDir = join(dir, 'console');
    await mkdir(ARTIFACTS, { recursive: true });
    await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'console', 'vite.config.ts'), '--outDir', consoleDir, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    const resolved = resolveConfig({
      written: { server: { port: 0, dataDir: dir }, channels: [{ name: 'meta', provider: 'meta', meta: { appSecrets: [SECRET] } }], adminToken: TOKEN },
      cwd: dir,
      env: {},
    });
    expect(resolved.errors).toEqual([]);
    running = await launchServer(resolved.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 50 }, console: { dir: consoleDir } });
    for (const name of FIXTURES) await post(readFileSync(new URL(`./fixtures/meta/${name}.json`, import.meta.url)));
    await post(STOP_ONLY);
    await running.pipeline.drain();
    expect(accountStateBatches().length).toBe(FIXTURES.length);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC', locale: 'en-US' });
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
    // The browser's own line for the 401 of the first, token-less probe.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    errors.length = 0;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('shows account health: each entity now, and a timeline of changes', async () => {
    await page.getByRole('link', { name: 'Account health' }).click();
    await page.getByRole('heading', { level: 1, name: 'Account health' }).waitFor();
    const phone = page.getByRole('article', { name: /Phone number 15550783881/ });
    await expect.poll(() => phone.textContent()).toContain('TIER_10K');
    expect(await phone.textContent()).toContain('FLAGGED');
    expect(await phone.textContent()).toContain('REJECTED');
    const account = page.getByRole('article', { name: 'Business account 102290129340398' });
    for (const text of ['VERIFIED_ACCOUNT', 'APPROVED', 'PIN_CHANGED', 'OBA_APPROVED']) expect(await account.textContent()).toContain(text);
    expect(await page.getByRole('article', { name: 'Flow 1172387227285717' }).textContent()).toContain('ACTIVATED');
    const timeline = page.getByRole('table', { name: 'Timeline of account health changes' });
    const rows = timeline.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(10);
    expect(await rows.first().textContent()).toContain('2024-06-01 00:56:40');
    await shoot('account-health');
  });

  it('shows consent per contact and filters it by choice', async () => {
    await page.getByRole('link', { name: 'Consent' }).click();
    await page.getByRole('heading', { level: 1, name: 'Consent' }).waitFor();
    const table = page.getByRole('table', { name: 'Consent per contact and category' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    expect(await table.locator('tr[data-opted-out="true"]').textContent()).toContain('opted out');
    expect(await table.locator('tr[data-opted-out="false"]').textContent()).toContain('resumed');
    await shoot('consent');
    await page.getByLabel('Choice').selectOption('stop');
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    expect(await table.textContent()).toContain('opted out');
    await shoot('consent-stopped');
    expect(errors).toEqual([]);
  });
});
