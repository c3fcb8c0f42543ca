/**
 * Suites that need a service this machine may lack (PostgreSQL, NATS JetStream, pebble,
 * Chromium). Without the service a suite is skipped with a `[skipped]` message naming it and
 * the reason, which the run's summary lists again at the end
 * (`test/support/skip-summary-reporter.ts`). Under CI (`CI` set) nothing may be skipped: the
 * suite is replaced by one failing test that says what is missing.
 */
import { createConnection } from 'node:net';
import { describe, it } from 'vitest';

/** The prefix of every skip message; the summary reporter collects lines that carry it. */
export const SKIPPED = '[skipped]';

/** True when the run must not skip a suite for want of a service. */
export const underCi = (): boolean => Boolean(process.env.CI);

/**
 * `describe` for a suite that needs `service`: `missing` is `undefined` when it is there,
 * else why not (said in the skip message, or in the failure under CI).
 */
export function describeNeeding(
  service: string,
  missing: string | undefined,
  name: string,
  body: () => void,
  options?: { timeout?: number },
): void {
  if (missing === undefined) {
    describe(name, options ?? {}, body);
    return;
  }
  if (underCi()) {
    describe(name, () => {
      it(`needs ${service}, which CI must provide`, () => {
        throw new Error(`${service}: ${missing}; CI must run the suite "${name}", not skip it`);
      });
    });
    return;
  }
  console.warn(`${SKIPPED} ${name}: ${service}: ${missing}`);
  describe.skip(name, body);
}

/** `undefined` when a TCP connection to host:port opens within `timeoutMs`, else why not. */
export function tcpUnreachable(host: string, port: number, timeoutMs = 2_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (why: string | undefined): void => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`nothing answered at ${host}:${port} within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(`${host}:${port} is unreachable (${err.message})`));
  });
}

/** The NATS server the JetStream suites use. */
export const NATS_HOST = '127.0.0.1';
export const NATS_PORT = 4222;
