import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { peekClientHello } from './client-hello.js';

/** The first bytes a real Node TLS client sends. */
function captureClientHello(opts: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const client = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
      client.on('error', () => undefined);
    });
    server.on('error', reject);
  });
}

describe('peekClientHello', () => {
  it('reads the server name and the ALPN list of a real ClientHello', async () => {
    const hello = await captureClientHello({ servername: 'Hooks.Bluetick.test', ALPNProtocols: ['acme-tls/1'] });
    expect(peekClientHello(hello)).toEqual({ kind: 'hello', serverName: 'hooks.bluetick.test', alpn: ['acme-tls/1'] });
  });

  it('handles a hello without SNI and several ALPN protocols', async () => {
    const hello = await captureClientHello({ ALPNProtocols: ['h2', 'http/1.1'] });
    expect(peekClientHello(hello)).toEqual({ kind: 'hello', alpn: ['h2', 'http/1.1'] });
  });

  it('asks for more bytes until the whole first record is there', async () => {
    const hello = await captureClientHello({ servername: 'a.test' });
    for (const cut of [0, 1, 4, 5, 40, hello.length - 1]) {
      expect(peekClientHello(hello.subarray(0, cut))).toEqual({ kind: 'need-more' });
    }
    expect(peekClientHello(hello).kind).toBe('hello');
  });

  it('says not-tls for plain HTTP and for garbage', () => {
    expect(peekClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual({ kind: 'not-tls' });
    expect(peekClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0]))).toEqual({ kind: 'not-tls' });
    // A handshake record whose ClientHello is cut short inside the record.
    expect(peekClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x40, 0x03, 0x03]))).toEqual({ kind: 'not-tls' });
  });
});
