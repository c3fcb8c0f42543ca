/**
 * The console shows coexistence: a customer who came from a click-to-WhatsApp ad, the
 * business's answer from the WhatsApp Business app (an echo) as an outbound bubble with its
 * text, the 72-hour ad entry window and the thread's owner after a handover. Real bluetick
 * (real SQLite), the console built from source, Debian's headless Chromium through
 * playwright-core. Screenshots at 1280x800 and 390x844 go to test-artifacts/console/.
 *
 * Without /usr/bin/chromium the suite is skipped with a message, except under CI.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { silentLogger } from '../src/log.js';
import { startServer, type RunningServer } from '../src/server.js';
import { describeNeeding } from './helpers/services.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const TOKEN = 'console-coexistence-admin-token';
const PHONE_ID = '106540352242922';
const DISPLAY = '15550783881';
const CUSTOMER = '16315551181';
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

const chromiumMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
const run = promisify(execFile);

function envelope(field: string, value: Record<string, unknown>): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', changes: [{ field, value: { messaging_product: 'whatsapp', metadata: { display_phone_number: DISPLAY, phone_number_id: PHONE_ID }, ...value } }] }],
  });
}

describeNeeding('Chromium', chromiumMissing, 'console: an echo in its conversation', () => {
  let dir: string;
  let running: RunningServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'bluetick-console-echo-'));
    const consoleDir = join(dir, 'console');
    // The console as this source tree builds it (what `npm run build` puts in dist/console).
    await run(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'console', 'vite.config.ts'), '--outDir', consoleDir, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    const resolved = resolveConfig({ written: { server: { port: 0, dataDir: dir }, adminToken: TOKEN, channels: [{ name: 'main' }] }, cwd: dir, env: {} });
    expect(resolved.errors).toEqual([]);
    running = await startServer(resolved.config!, { logger: silentLogger(), processMetrics: false, pipeline: { pollMs: 50 }, console: { dir: consoleDir } });

    const now = Math.floor(Date.now() / 1000);
    const bodies = [
      envelope('messages', {
        contacts: [{ wa_id: CUSTOMER, profile: { name: 'Kerry Fisher' } }],
        messages: [
          {
            from: CUSTOMER,
            id: 'wamid.ad-1',
            timestamp: String(now - 600),
            type: 'text',
            text: { body: 'Hi! I saw your ad for the tasting menu' },
            referral: { source_url: 'https://fb.me/ad', source_id: '120206853', source_type: 'ad', headline: 'Tasting menu', ctwa_clid: 'ARAkLkA8rmlFeiCktEJQ' },
          },
        ],
      }),
      envelope('smb_message_echoes', {
        message_echoes: [{ from: DISPLAY, to: CUSTOMER, id: 'wamid.echo-1', timestamp: String(now - 300), type: 'text', text: { body: 'Welcome! Tables are free from 7 pm.' } }],
      }),
      envelope('messaging_handovers', { type: 'control_passed', from: CUSTOMER, timestamp: String(now - 200), control_passed: { previous_owner_role: 'primary', new_owner_role: 'secondary' } }),
    ];
    for (const body of bodies) {
      const res = await fetch(running.webhookUrls.main!, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await running.pipeline.drain();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const context = await browser.newContext({ viewport: VIEWPORTS[0], timezoneId: 'UTC', locale: 'en-US' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    // Sign in the way the console keeps its session.
    await page.goto(`${running.url}/`);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // The sign-in page's own probe is answered 401 before the token is given: not an error of this test.
    errors.length = 0;
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('shows the echo as the business answer in the conversation, with the ad window and the owner', async () => {
    await page.goto(`${running.url}/conversations/${encodeURIComponent(`${PHONE_ID}:${CUSTOMER}`)}`);
    const chat = page.getByRole('region', { name: /Conversation with Kerry Fisher/ });
    await chat.getByText('Hi! I saw your ad for the tasting menu').waitFor();
    const echo = chat.locator('[data-message-id="wamid.echo-1"]');
    await echo.getByText('Welcome! Tables are free from 7 pm.').waitFor();
    await echo.getByText('Sent from the WhatsApp Business app').waitFor();
    await expect(echo.getAttribute('class')).resolves.toContain('bubble-out');
    await expect(echo.getAttribute('aria-label')).resolves.toMatch(/^Business message/);
    await chat.getByText(/Ad entry 72 h: .* left/).waitFor();
    await chat.getByText('Owner: secondary').waitFor();
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await echo.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, `conversation-echo-${vp.width}x${vp.height}.png`), fullPage: true });
    }
    expect(errors).toEqual([]);
  });
});
