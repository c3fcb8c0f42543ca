/**
 * Helpers for the delivery suites: a real HTTP receiver on 127.0.0.1 whose answers a test
 * scripts per request, Meta envelopes with many messages, a plain POST, and polling.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { envelope, PHONE_ID } from './meta-bodies.js';

export interface Received {
  /** Arrival time, epoch ms. */
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed event. */
  event: Record<string, unknown>;
  webhookId: string;
}

/** What the receiver does with one request: answer `status` (with headers) after `delayMs`, or never (`hang`). */
export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  delayMs?: number;
  hang?: boolean;
  body?: string;
}

export type Script = (req: Received, nth: number) => Answer;

export interface Receiver {
  url: string;
  /** Every request, in arrival order (failed ones too). */
  requests: Received[];
  /** Requests answered 2xx, in order of their answer. */
  accepted: Received[];
  /** Changes what later requests get. */
  script: Script;
  /** Requests being handled right now, and the most ever at once. */
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startReceiver(script: Script = () => ({ status: 200 })): Promise<Receiver> {
  const hanging = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: '',
    requests: [],
    accepted: [],
    script,
    inFlight: 0,
    maxInFlight: 0,
    close: async () => {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      let event: Record<string, unknown> = {};
      try {
        event = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // Left empty; the test will notice.
      }
      const received: Received = { at: Date.now(), headers: req.headers, body, event, webhookId: String(req.headers['webhook-id']) };
      receiver.requests.push(received);
      receiver.inFlight++;
      receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight);
      const nth = receiver.requests.filter((r) => r.webhookId === received.webhookId).length;
      const answer = receiver.script(received, nth);
      const finish = () => {
        receiver.inFlight--;
        const status = answer.status ?? 200;
        if (status >= 200 && status < 300) receiver.accepted.push(received);
        res.writeHead(status, answer.headers ?? {});
        res.end(answer.body ?? '');
      };
      if (answer.hang) {
        hanging.add(res);
        res.on('close', () => {
          if (hanging.delete(res)) receiver.inFlight--;
        });
        return;
      }
      if (answer.delayMs) setTimeout(finish, answer.delayMs);
      else finish();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

/** A fresh Standard Webhooks secret. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface MessageSpec {
  from: string;
  id: string;
  text?: string;
  /** Epoch seconds. */
  timestamp?: number;
}

/** A Meta envelope carrying the messages in order, to business number `phoneNumberId`. */
export function metaMessages(messages: MessageSpec[], phoneNumberId = PHONE_ID): string {
  return envelope(
    {
      messages: messages.map((m) => ({
        from: m.from,
        id: m.id,
        timestamp: String(m.timestamp ?? 1_750_000_000),
        type: 'text',
        text: { body: m.text ?? m.id },
      })),
    },
    phoneNumberId,
  );
}

export interface Reply {
  status: number;
  body: string;
}

/** One HTTP request; JSON bodies are sent as JSON. */
export function http(
  url: string,
  opts: { method?: string; body?: string | object; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const u = new URL(url);
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? (body ? 'POST' : 'GET'), headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function json<T = Record<string, unknown>>(url: string, opts: Parameters<typeof http>[1] = {}): Promise<T> {
  const res = await http(url, opts);
  if (res.status >= 400) throw new Error(`${opts.method ?? 'GET'} ${url}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as T;
}

/** Polls `check` until it returns a value other than `undefined`/`false`, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
