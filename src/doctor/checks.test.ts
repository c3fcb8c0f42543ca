import { describe, expect, it } from 'vitest';
import type { ChannelConfig } from '../config/resolve.js';
import { clockCheck, credentialsCheck, plainHttpCheck, tlsVersionCheck, webhookCheck } from './checks.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

function channel(over: Partial<ChannelConfig>): ChannelConfig {
  return { name: 'c', path: '/webhooks/c', provider: 'auto', basicAuth: [], meta: { appSecrets: [], verifyTokens: [] }, ...over };
}

describe('clockCheck', () => {
  it('passes within 10 s, warns up to 2 minutes, fails beyond, skips without a header', () => {
    const at = (offsetMs: number): string => new Date(NOW - offsetMs).toUTCString();
    expect(clockCheck(NOW, at(0), 'the server').status).toBe('pass');
    expect(clockCheck(NOW + 999, at(-9_000), 'the server')).toMatchObject({ status: 'pass' });
    expect(clockCheck(NOW, at(60_000), 'the server')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^this machine is 60\.0 s ahead of the server/) });
    expect(clockCheck(NOW, at(-600_000), 'the server')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/600\.0 s behind the server/) });
    expect(clockCheck(NOW, undefined, 'the server').status).toBe('skip');
    expect(clockCheck(NOW, 'yesterday-ish', 'the server').status).toBe('skip');
  });
});

describe('tlsVersionCheck', () => {
  it('passes when TLS 1.2 or 1.3 works, fails when neither does', () => {
    expect(tlsVersionCheck({ 'TLSv1.2': { ok: true, detail: 'TLSv1.2' }, 'TLSv1.3': { ok: false, detail: 'x' } })).toMatchObject({ status: 'pass', detail: 'offers TLSv1.2' });
    expect(tlsVersionCheck({ 'TLSv1.2': { ok: false, detail: 'A' }, 'TLSv1.3': { ok: false, detail: 'B' } })).toMatchObject({ status: 'fail', detail: 'no handshake with TLS 1.2 (A) or TLS 1.3 (B)' });
  });
});

describe('credentialsCheck', () => {
  it('asks EnableX channels for Basic auth and Meta channels for a secret and a verify token', () => {
    expect(credentialsCheck(channel({ provider: 'enablex' }), 'channels[0]')).toMatchObject({ status: 'fail', fix: expect.stringContaining('channels[0].basicAuth') });
    expect(credentialsCheck(channel({ provider: 'enablex', basicAuth: [{ username: 'u', password: 'p' }] }), 'k').status).toBe('pass');
    expect(credentialsCheck(channel({ provider: 'meta', meta: { appSecrets: [], verifyTokens: ['t'] } }), 'k')).toMatchObject({ status: 'fail', detail: 'provider meta, but no app secret (POSTs cannot be verified)' });
    expect(credentialsCheck(channel({ provider: 'meta', meta: { appSecrets: ['s'], verifyTokens: ['t'] } }), 'k').status).toBe('pass');
    expect(credentialsCheck(channel({}), 'k').status).toBe('fail');
  });
});

describe('webhookCheck', () => {
  it('passes a 200 and explains the usual failures', () => {
    expect(webhookCheck('c', 'https://h/webhooks/c', { status: 200 }, 'Basic auth as "u"').status).toBe('pass');
    expect(webhookCheck('c', 'u', { status: 404 }, 'x').fix).toContain('no channel at this path');
    expect(webhookCheck('c', 'u', { status: 503 }, 'x').fix).toContain('/readyz');
    expect(webhookCheck('c', 'u', { error: 'connect ECONNREFUSED' }, 'x')).toMatchObject({ status: 'fail', detail: 'POST u failed: connect ECONNREFUSED' });
  });
});

describe('plainHttpCheck', () => {
  const https = new URL('https://hooks.example.com/webhooks/c');
  it('accepts refusals and redirects on port 80, fails an ingest answer there', () => {
    expect(plainHttpCheck({ url: https, publicHost: true, probe: { port: 80, error: 'connect ECONNREFUSED' } }).status).toBe('pass');
    expect(plainHttpCheck({ url: https, publicHost: true, probe: { port: 80, status: 301 } }).status).toBe('pass');
    expect(plainHttpCheck({ url: https, publicHost: true, probe: { port: 80, status: 403 } }).status).toBe('pass');
    expect(plainHttpCheck({ url: https, publicHost: true, probe: { port: 80, status: 401 } }).status).toBe('fail');
    expect(plainHttpCheck({ url: https, publicHost: true, probe: { port: 80, status: 200 } }).status).toBe('fail');
  });
  it('warns when bluetick itself listens for plain HTTP on a reachable address behind a proxy', () => {
    expect(plainHttpCheck({ url: https, publicHost: true, probe: { port: 80, error: 'refused' }, proxyBinding: '0.0.0.0:8080' })).toMatchObject({ status: 'warn' });
  });
  it('fails a plain-HTTP URL on a public name, passes one on loopback', () => {
    expect(plainHttpCheck({ url: new URL('http://hooks.example.com/webhooks/c'), publicHost: true }).status).toBe('fail');
    expect(plainHttpCheck({ url: new URL('http://127.0.0.1:8080/webhooks/c'), publicHost: false }).status).toBe('pass');
  });
});
