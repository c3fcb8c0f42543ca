/**
 * The client address recorded with journal rows and rejections. Behind a TLS proxy
 * (`server.behindProxy`) it is the last `X-Forwarded-For` entry, the one the proxy appended;
 * the entries before it are whatever the client claimed. Without a proxy the header is
 * kept as sent but never believed: the address is the socket's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { rawExchange } from './helpers/raw-http.js';
import { startTempServer, type TempServer } from './helpers/server.js';

const AUTH = encodeBasicAuthorization('enablex', 's3cret-long-enough-16');
const BODY = '{"messages":[],"business_phone":"919876500001"}';
const LOOPBACK = /^(127\.0\.0\.1|::ffff:127\.0\.0\.1)$/;

function written(behindProxy: boolean) {
  return { server: { behindProxy }, channels: [{ name: 'enablex', provider: 'enablex' as const, basicAuth: ['enablex:s3cret-long-enough-16'] }] };
}

/** Posts with the given header lines (several lines of one name stay several lines). */
async function post(server: TempServer, lines: string[], auth = AUTH): Promise<number> {
  const head = [
    'POST /webhooks/enablex HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(BODY)}`,
    `Authorization: ${auth}`,
    'Connection: close',
    ...lines,
  ];
  const res = await rawExchange(server.port, [Buffer.from(`${head.join('\r\n')}\r\n\r\n${BODY}`)], { responses: 1 });
  return res.responses[0]?.status ?? 0;
}

async function lastJournalAddress(server: TempServer): Promise<{ remoteAddress?: string; headers: Record<string, string> }> {
  const page = await server.running.store.journal.list({}, { limit: 1000 });
  const row = page.items.at(-1)!;
  return { ...(row.remoteAddress !== undefined ? { remoteAddress: row.remoteAddress } : {}), headers: row.headers };
}

async function lastRejectionAddress(server: TempServer): Promise<string | undefined> {
  await server.running.rejections.flush();
  const page = await server.running.store.rejections.list({ limit: 1 });
  return page.items[0]?.remoteAddress;
}

describe('behind a proxy', () => {
  let server: TempServer;
  beforeAll(async () => {
    server = await startTempServer('bluetick-xff-proxy-', written(true));
  });
  afterAll(async () => server?.close());

  it('records the address the proxy appended, not the ones the client claimed', async () => {
    expect(await post(server, ['X-Forwarded-For: 198.51.100.9, 10.0.0.1, 203.0.113.7'])).toBe(200);
    expect((await lastJournalAddress(server)).remoteAddress).toBe('203.0.113.7');
    expect(await post(server, ['X-Forwarded-For: 203.0.113.8'])).toBe(200);
    expect((await lastJournalAddress(server)).remoteAddress).toBe('203.0.113.8');
  });

  it('takes the last entry across several header lines and trims spaces', async () => {
    expect(await post(server, ['X-Forwarded-For: 198.51.100.9', 'X-Forwarded-For:   203.0.113.9  '])).toBe(200);
    expect((await lastJournalAddress(server)).remoteAddress).toBe('203.0.113.9');
  });

  it('falls back to the socket address when the header is missing or empty', async () => {
    expect(await post(server, [])).toBe(200);
    expect((await lastJournalAddress(server)).remoteAddress).toMatch(LOOPBACK);
    expect(await post(server, ['X-Forwarded-For: '])).toBe(200);
    expect((await lastJournalAddress(server)).remoteAddress).toMatch(LOOPBACK);
  });

  it('records the same address with a rejection', async () => {
    expect(await post(server, ['X-Forwarded-For: 198.51.100.9, 203.0.113.10'], encodeBasicAuthorization('enablex', 'wrong'))).toBe(401);
    expect(await lastRejectionAddress(server)).toBe('203.0.113.10');
  });
});

describe('without a proxy', () => {
  let server: TempServer;
  beforeAll(async () => {
    server = await startTempServer('bluetick-xff-direct-', written(false));
  });
  afterAll(async () => server?.close());

  it('keeps the header as sent but records the socket address', async () => {
    expect(await post(server, ['X-Forwarded-For: 198.51.100.9, 203.0.113.7'])).toBe(200);
    const row = await lastJournalAddress(server);
    expect(row.remoteAddress).toMatch(LOOPBACK);
    expect(row.headers['x-forwarded-for']).toBe('198.51.100.9, 203.0.113.7');
  });

  it('records the socket address with a rejection too', async () => {
    expect(await post(server, ['X-Forwarded-For: 203.0.113.7'], encodeBasicAuthorization('enablex', 'wrong'))).toBe(401);
    expect(await lastRejectionAddress(server)).toMatch(LOOPBACK);
  });
});
