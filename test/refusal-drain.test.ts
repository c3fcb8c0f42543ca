/**
 * The close after a refusal given before the body was read (src/ingest/refusal-drain.ts):
 * the client reads the answer instead of a reset, and no client can keep the socket past the
 * byte or time budget. The ingest handler runs on a bare `node:http` server over loopback
 * with small budgets; refusals never reach the journal, which only records what it is given.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBasicAuthorization } from '../src/ingest/verify-basic.js';
import { IngestHandler, type IngestJournal } from '../src/ingest/handler.js';
import type { DrainBudget } from '../src/ingest/refusal-drain.js';
import { createMetrics } from '../src/metrics.js';
import type { JournalInput } from '../src/store/store.js';
import { parseResponses } from './helpers/raw-http.js';

const LIMIT = 64 * 1024;
const AUTH = encodeBasicAuthorization('enablex', 's3cret');
const FRAME = (() => {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  return Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
})();
const CHUNKED_HEAD = `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nTransfer-Encoding: chunked\r\n\r\n`;

const journaled: JournalInput[] = [];
const journal: IngestJournal = {
  enqueue(row, done) {
    journaled.push(row);
    done(undefined, journaled.length);
  },
};

interface Served {
  server: Server;
  port: number;
  /** Resolves when the server's socket for the client at `localPort` is closed (by either side). */
  serverClosed(localPort: number): Promise<void>;
}

async function serve(budget: DrainBudget): Promise<Served> {
  const handler = new IngestHandler({
    channels: [{ name: 'enablex', path: '/webhooks/enablex', provider: 'enablex', basicAuth: [{ username: 'enablex', password: 's3cret' }], meta: { appSecrets: [], verifyTokens: [] } }],
    journal,
    bodyLimit: LIMIT,
    metrics: createMetrics(),
    rejections: { add() {} },
    refusalDrain: budget,
  });
  const server = createServer(handler.handle);
  const closed = new Map<number, Promise<void>>();
  server.on('connection', (socket: Socket) => {
    closed.set(socket.remotePort!, new Promise((resolve) => socket.once('close', () => resolve())));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    serverClosed: (localPort) => {
      const done = closed.get(localPort);
      if (done === undefined) throw new Error(`no connection from port ${localPort}`);
      return done;
    },
  };
}

/** A connection that records what arrives and how it ended; it closes only when told to. */
function open(port: number): { socket: Socket; received: () => Buffer; ended: Promise<{ reset: boolean }>; arrived: (text: string) => Promise<void> } {
  // Half-open allowed: the client decides when it stops writing, not the server's FIN.
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  let reset = false;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('latin1');
    for (const w of waiters.splice(0)) {
      if (text.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
  });
  const ended = new Promise<{ reset: boolean }>((resolve) => socket.on('close', () => resolve({ reset })));
  return {
    socket,
    received: () => Buffer.concat(chunks),
    ended,
    arrived: (text) =>
      new Promise((resolve) => {
        if (Buffer.concat(chunks).toString('latin1').includes(text)) resolve();
        else waiters.push({ text, resolve });
      }),
  };
}

function write(socket: Socket, data: string | Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve(false);
      return;
    }
    socket.write(data, (err) => resolve(err === undefined || err === null));
  });
}

let bytesOnly: Served;
let timeOnly: Served;

beforeAll(async () => {
  // Each budget alone: a test that ends proves that budget ended it.
  bytesOnly = await serve({ bytes: 1024 * 1024, ms: 10 * 60_000 });
  timeOnly = await serve({ bytes: 1024 * 1024 * 1024, ms: 200 });
});

afterAll(async () => {
  for (const s of [bytesOnly, timeOnly]) {
    s.server.closeAllConnections();
    await new Promise((resolve) => s.server.close(resolve));
  }
});

describe('the close after a refusal', () => {
  it('a client that sends the rest of its body after reading the 413 gets no reset: the body is discarded, then both sides close', async () => {
    const c = open(bytesOnly.port);
    await write(c.socket, CHUNKED_HEAD);
    await write(c.socket, FRAME);
    await write(c.socket, FRAME);
    await c.arrived('payload too large\n');
    // The answer is here; the body is not finished. A server that closed at once would reset now.
    for (let i = 0; i < 8; i++) expect(await write(c.socket, FRAME), `frame ${i} after the 413`).toBe(true);
    await write(c.socket, '0\r\n\r\n');
    c.socket.end();
    const { reset } = await c.ended;
    expect(reset, 'the connection was reset').toBe(false);
    const { responses } = parseResponses(c.received());
    expect(responses.map((r) => [r.status, r.headers.connection, r.body])).toEqual([[413, 'close', 'payload too large\n']]);
    expect(journaled).toEqual([]);
  });

  it('a refused upload that never ends is cut once the byte budget is read', async () => {
    const c = open(bytesOnly.port);
    await write(c.socket, CHUNKED_HEAD);
    const localPort = c.socket.localPort!;
    let written = 0;
    // Far more than the budget plus what loopback socket buffers hold: the cut must come first.
    while (written < 512 * 1024 * 1024 && (await write(c.socket, FRAME))) written += FRAME.length;
    await bytesOnly.serverClosed(localPort);
    expect(written, 'bytes the client could send before the cut').toBeLessThan(512 * 1024 * 1024);
    expect(parseResponses(c.received()).responses[0]?.status).toBe(413);
  });

  it('a refused upload that stalls (no more bytes, no close) is cut once the time budget runs out', async () => {
    const c = open(timeOnly.port);
    await write(c.socket, CHUNKED_HEAD);
    await write(c.socket, FRAME);
    await write(c.socket, FRAME);
    await c.arrived('payload too large\n');
    // Silent from here on, and never closing: only the server's budget can end this connection.
    await timeOnly.serverClosed(c.socket.localPort!);
    c.socket.destroy();
    expect(parseResponses(c.received()).responses.map((r) => r.status)).toEqual([413]);
  });

  it('a small refused body on a keep-alive connection is read to its end and the connection serves the next request', async () => {
    const c = open(bytesOnly.port);
    const body = Buffer.alloc(32 * 1024, 0x7b);
    await write(c.socket, `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${encodeBasicAuthorization('enablex', 'guess')}\r\nContent-Length: ${body.length}\r\n\r\n`);
    await c.arrived('unauthorized\n');
    await write(c.socket, body);
    await write(c.socket, `POST /webhooks/enablex HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    await c.arrived('{"ok":true}');
    c.socket.end();
    const { reset } = await c.ended;
    expect(reset).toBe(false);
    expect(parseResponses(c.received()).responses.map((r) => r.status)).toEqual([401, 200]);
    expect(journaled.map((r) => r.body.toString())).toEqual(['{}']);
  });
});
