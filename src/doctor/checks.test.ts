import { describe, expect, it } from 'vitest';
import type { ChannelConfig } from '../config/resolve.js';
import { clockCheck, credentialsCheck, httpSinkCheck, natsSinkCheck, plainHttpCheck, readiness, tlsVersionCheck, webhookCheck, type CheckResult } from './checks.js';

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

describe('readiness', () => {
  const pass = (id: string): CheckResult => ({ id, title: id, status: 'pass', detail: 'ok' });
  const fail = (id: string, title = id): CheckResult => ({ id, title, status: 'fail', detail: 'broken' });
  const base = [pass('config'), pass('reach'), pass('server.ready'), pass('webhook.default'), pass('store.writable')];

  it('is ready for providers only over public HTTPS with a CA-signed certificate and nothing failed', () => {
    expect(readiness([...base, pass('tls.ca-signed')], { https: true, publicHost: true })).toEqual({ level: 'providers', reasons: [] });
  });

  it('is ready for local testing over plain HTTP on loopback, with a self-signed certificate, or without credentials', () => {
    expect(readiness(base, { https: false, publicHost: false })).toEqual({
      level: 'local',
      reasons: ['plain HTTP, not HTTPS', 'a loopback address, not a public host name'],
    });
    const selfSigned: CheckResult = { id: 'tls.ca-signed', title: 'Certificate is CA-signed', status: 'fail', detail: 'self-signed' };
    expect(readiness([...base, selfSigned], { https: true, publicHost: true })).toEqual({ level: 'local', reasons: ['no CA-signed certificate (self-signed)'] });
    expect(readiness([...base, pass('tls.ca-signed'), fail('credentials.default', 'Channel "default" has credentials')], { https: true, publicHost: true })).toEqual({
      level: 'local',
      reasons: ['Channel "default" has credentials: broken'],
    });
  });

  it('is ready for nothing when the server, a webhook, the store or a sink failed', () => {
    for (const id of ['reach', 'server.ready', 'webhook.default', 'store.durable', 'sink.crm', 'config']) {
      expect(readiness([...base, pass('tls.ca-signed'), fail(id, `T ${id}`)], { https: true, publicHost: true })).toEqual({ level: 'none', reasons: [`T ${id}`] });
    }
  });
});

describe('sink checks', () => {
  it('passes a 2xx answer to the signed probe; fails a refusal of the signature, a wrong path or no answer', () => {
    expect(httpSinkCheck('crm', 'http://x/h', { status: 204 }, true)).toMatchObject({ id: 'sink.crm', status: 'pass', detail: 'POST http://x/h (signed probe) -> 204' });
    expect(httpSinkCheck('crm', 'http://x/h', { status: 401 }, true)).toMatchObject({ status: 'fail', fix: expect.stringContaining('same whsec_ secret') });
    expect(httpSinkCheck('crm', 'http://x/h', { status: 404 }, true)).toMatchObject({ status: 'fail', fix: expect.stringContaining('path') });
    expect(httpSinkCheck('crm', 'http://x/h', { error: 'connect ECONNREFUSED' }, true)).toMatchObject({ status: 'fail', detail: 'POST http://x/h failed: connect ECONNREFUSED' });
    expect(httpSinkCheck('crm', 'http://x/h', { status: 503 }, true)).toMatchObject({ status: 'warn' });
    expect(httpSinkCheck('crm', 'http://x/h', { status: 400 }, true)).toMatchObject({ status: 'warn', fix: expect.stringContaining('bluetick-probe') });
  });

  it('only warns about a sink no route sends to', () => {
    expect(httpSinkCheck('crm', 'http://x/h', { error: 'down' }, false)).toMatchObject({ status: 'warn', detail: expect.stringContaining('(no route sends to it yet)') });
    expect(natsSinkCheck('bus', { error: 'cannot connect' }, false).status).toBe('warn');
  });

  it('passes a NATS sink whose subject a stream captures, or whose stream it will create', () => {
    expect(natsSinkCheck('bus', { stream: 'WA' }, true)).toMatchObject({ status: 'pass', detail: 'JetStream stream WA captures the subject' });
    expect(natsSinkCheck('bus', { stream: 'WA', expected: 'WA' }, true).status).toBe('pass');
    expect(natsSinkCheck('bus', { stream: 'OTHER', expected: 'WA' }, true)).toMatchObject({ status: 'fail', detail: expect.stringContaining('captured by stream OTHER, not by WA') });
    expect(natsSinkCheck('bus', { expected: 'WA', createStream: true }, true).status).toBe('pass');
    expect(natsSinkCheck('bus', { expected: 'WA' }, true)).toMatchObject({ status: 'fail', detail: 'stream WA does not exist' });
    expect(natsSinkCheck('bus', {}, true)).toMatchObject({ status: 'fail', detail: 'no JetStream stream captures the subject' });
  });
});
