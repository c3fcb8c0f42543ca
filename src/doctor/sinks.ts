/**
 * @module doctor/sinks
 *
 * The sink lines of `bluetick doctor`. An HTTP sink gets one request signed like a delivery
 * (Standard Webhooks headers with the sink's own secret and headers), marked as a probe by
 * the header `bluetick-probe: 1`, with a body that is not an event
 * (`{"type":"bluetick.probe",...}`), so a receiver can answer it and do nothing else. A NATS
 * sink is connected to and its stream looked up; nothing is published. No probe creates an
 * event or a delivery.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../config/resolve.js';
import { expandSubject } from '../dispatch/sink-nats.js';
import { httpSinkCheck, natsSinkCheck, type CheckResult } from './checks.js';
import { sendRequest, targetFor } from './probe.js';

/** The header that marks a request as a probe, not a delivery. */
export const PROBE_HEADER = 'bluetick-probe';

export interface SinkProbeOptions {
  /** Trusted roots for https sinks (the public ones plus `--ca`). */
  ca: readonly string[];
  resolve: ReadonlyMap<string, string>;
  timeoutMs: number;
  userAgent: string;
  now: () => number;
}

/** The probe request to one HTTP sink: body and headers, signed with every configured secret. */
export function probeRequest(
  sink: { name: string; secret: string | string[]; headers?: Record<string, string> },
  userAgent: string,
  now: number,
): { body: string; headers: Record<string, string> } {
  const id = `probe_${randomBytes(12).toString('hex')}`;
  const at = new Date(Math.floor(now / 1000) * 1000);
  const body = JSON.stringify({ type: 'bluetick.probe', id, sink: sink.name, sentAt: at.toISOString() });
  const secrets = Array.isArray(sink.secret) ? sink.secret : [sink.secret];
  const signature = secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' ');
  return {
    body,
    headers: {
      ...Object.fromEntries(Object.entries(sink.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      'content-type': 'application/json',
      'user-agent': userAgent,
      'webhook-id': id,
      'webhook-timestamp': String(at.getTime() / 1000),
      'webhook-signature': signature,
      [PROBE_HEADER]: '1',
    },
  };
}

async function natsFacts(
  sink: { servers: string | string[]; subject: string; stream?: string; createStream?: boolean; user?: string; pass?: string; token?: string },
  timeoutMs: number,
): Promise<{ error?: string; stream?: string; expected?: string; createStream?: boolean }> {
  const servers = Array.isArray(sink.servers) ? sink.servers : [sink.servers];
  const expected = sink.stream !== undefined ? { expected: sink.stream, createStream: sink.createStream === true } : {};
  let nc;
  try {
    nc = await connect({
      servers,
      name: 'bluetick doctor',
      timeout: timeoutMs,
      maxReconnectAttempts: 0,
      ...(sink.user !== undefined ? { user: sink.user } : {}),
      ...(sink.pass !== undefined ? { pass: sink.pass } : {}),
      ...(sink.token !== undefined ? { token: sink.token } : {}),
    });
  } catch (error) {
    return { error: `cannot connect to NATS at ${servers.join(', ')}: ${(error as Error).message}` };
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    try {
      const stream = await jsm.streams.find(expandSubject(sink.subject, 'message.received'));
      return { stream, ...expected };
    } catch {
      return { ...expected };
    }
  } catch (error) {
    return { error: `NATS at ${servers.join(', ')} answers, but not JetStream: ${(error as Error).message}` };
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** One line per configured sink. */
export async function sinkChecks(config: Config, opts: SinkProbeOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const sink of config.sinks) {
    const routed = config.routes.some((r) => r.sink === sink.name);
    if (sink.type === 'http') {
      const url = new URL(sink.url);
      const { body, headers } = probeRequest(sink, opts.userAgent, opts.now());
      const answer = await sendRequest(targetFor(url, opts.resolve), {
        method: 'POST',
        path: `${url.pathname}${url.search}`,
        headers,
        body,
        ca: opts.ca,
        timeoutMs: opts.timeoutMs,
      });
      out.push(httpSinkCheck(sink.name, sink.url, answer, routed));
    } else {
      out.push(natsSinkCheck(sink.name, await natsFacts(sink, opts.timeoutMs), routed));
    }
  }
  return out;
}
