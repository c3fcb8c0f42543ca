/**
 * The challenge responders on loopback, without a CA: the TLS-ALPN-01 responder hands
 * `acme-tls/1` connections to the challenge certificate and every other connection to the
 * HTTPS server untouched; the HTTP-01 listener answers tokens and takes nothing else.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { crypto as acmeCrypto } from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Http01Responder, TlsAlpnResponder } from '../src/acme/challenges.js';

function handshake(port: number, servername: string, alpn: string[]): Promise<{ pem: string; alpn: string | false; cn: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ALPNProtocols: alpn, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const x = socket.getPeerX509Certificate()!;
      resolve({ pem: x.toString(), alpn: socket.alpnProtocol ?? false, cn: x.subject });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

function get(port: number, method: string, path: string, host = 'hooks.bluetick.test'): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers.location ? { location: res.headers.location } : {}) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TlsAlpnResponder', () => {
  let dir: string;
  let server: Server;
  let port: number;
  const responder = new TlsAlpnResponder({ peekTimeoutMs: 1_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-alpn-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=served', '-addext', 'subjectAltName=DNS:hooks.bluetick.test'], { stdio: 'ignore' });
    server = createHttpsServer({ cert: await readFile(join(dir, 'c.pem')), key: await readFile(join(dir, 'k.pem')) }, (_req, res) => res.end('ok'));
    responder.attach(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    responder.detach();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the challenge certificate only to acme-tls/1 connections for the pending name', async () => {
    const authz = { identifier: { type: 'dns', value: 'hooks.bluetick.test' }, status: 'pending', challenges: [], url: 'https://ca.test/authz/1' } as const;
    const keyAuthorization = 'token.thumbprint';
    const [key, cert] = await acmeCrypto.createAlpnCertificate(authz as never, keyAuthorization);
    responder.set('hooks.bluetick.test', { cert, key });
    expect(responder.pending).toBe(1);

    const validation = await handshake(port, 'hooks.bluetick.test', ['acme-tls/1']);
    expect(validation.alpn).toBe('acme-tls/1');
    expect(acmeCrypto.isAlpnCertificateAuthorizationValid(validation.pem, keyAuthorization)).toBe(true);

    // An ordinary client during the challenge still gets the real certificate and HTTP.
    const ordinary = await handshake(port, 'hooks.bluetick.test', ['http/1.1']);
    expect(ordinary.cn).toBe('CN=served');
    expect(ordinary.alpn).toBe('http/1.1');
    // acme-tls/1 for a name with no pending challenge: not the challenge server.
    const other = await handshake(port, 'other.bluetick.test', ['acme-tls/1', 'http/1.1']);
    expect(other.cn).toBe('CN=served');

    responder.delete('hooks.bluetick.test');
    expect(responder.pending).toBe(0);
    const after = await handshake(port, 'hooks.bluetick.test', ['http/1.1']);
    expect(after.cn).toBe('CN=served');
  });
});

describe('Http01Responder', () => {
  const responder = new Http01Responder({ host: '127.0.0.1', port: 0, httpsPort: 8443, domains: ['hooks.bluetick.test', 'b.bluetick.test'] });
  let port: number;

  beforeAll(async () => {
    port = (await responder.listen()).port;
  });
  afterAll(() => responder.close());

  it('answers a known token, 404s an unknown one, redirects GET to HTTPS and refuses everything else', async () => {
    responder.set('tok-1', 'tok-1.thumb');
    expect(await get(port, 'GET', '/.well-known/acme-challenge/tok-1')).toMatchObject({ status: 200, body: 'tok-1.thumb' });
    expect((await get(port, 'GET', '/.well-known/acme-challenge/tok-2')).status).toBe(404);
    responder.delete('tok-1');
    expect((await get(port, 'GET', '/.well-known/acme-challenge/tok-1')).status).toBe(404);
    expect(await get(port, 'GET', '/webhooks/default?x=1', 'hooks.bluetick.test:80')).toMatchObject({
      status: 301,
      location: 'https://hooks.bluetick.test:8443/webhooks/default?x=1',
    });
    expect((await get(port, 'POST', '/webhooks/default')).status).toBe(403);
    expect((await get(port, 'GET', '/', 'bad host/with space')).status).toBe(403);
  });

  it('redirects only to its own names: a foreign Host is sent to the first configured domain', async () => {
    expect(await get(port, 'GET', '/x', 'B.bluetick.test')).toMatchObject({ status: 301, location: 'https://b.bluetick.test:8443/x' });
    expect(await get(port, 'GET', '/login?next=1', 'attacker.example')).toMatchObject({
      status: 301,
      location: 'https://hooks.bluetick.test:8443/login?next=1',
    });
  });

  it('names the port and the way out when it cannot listen', async () => {
    const taken = new Http01Responder({ host: '127.0.0.1', port, httpsPort: 443 });
    await expect(taken.listen()).rejects.toThrow(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} for the ACME HTTP-01 challenge: EADDRINUSE`));
  });
});
