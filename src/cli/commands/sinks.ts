/**
 * @module cli/commands/sinks
 *
 * `bluetick sinks [list]` shows each sink's circuit breaker, recent success rate and
 * backlog; `bluetick sinks probe NAME` ends a sink's breaker cool-down so its next delivery
 * goes now (after the receiver is back). Talks to a running server's `/api`.
 */
import { ExitError } from '../../errors.js';
import { ApiClient } from '../api-client.js';

export interface SinksOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export interface SinksIo {
  stdout: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

interface SinkView {
  name: string;
  type: string;
  breaker?: { state: string; nextProbeAt?: string };
  backlog: { pending: number; blocked: number; inFlight: number; dead: number };
  lastError?: string;
}

export async function runSinks(action: string, names: string[], opts: SinksOptions, io: SinksIo): Promise<number> {
  const client = new ApiClient(opts, io.env);
  const out = (line: string) => io.stdout.write(`${line}\n`);
  if (action === 'list') {
    if (names.length > 0) throw new ExitError(2, 'sinks list takes no names (did you mean probe?)');
    const { items } = await client.get<{ items: SinkView[] }>('/api/sinks', {});
    for (const s of items) {
      if (opts.json) {
        out(JSON.stringify(s));
        continue;
      }
      const breaker = s.breaker === undefined ? '' : `circuit ${s.breaker.state}${s.breaker.nextProbeAt !== undefined ? ` (next probe ${s.breaker.nextProbeAt})` : ''}`;
      const b = s.backlog;
      out([s.name, s.type, breaker, `pending ${b.pending}`, `blocked ${b.blocked}`, `in flight ${b.inFlight}`, `dead ${b.dead}`].filter(Boolean).join('  '));
    }
    return 0;
  }
  if (action === 'probe') {
    if (names.length !== 1) throw new ExitError(2, 'sinks probe: give one sink name');
    const result = await client.post<{ sink: string; probing: boolean; message: string }>(`/api/sinks/${encodeURIComponent(names[0]!)}/probe`, {});
    out(opts.json ? JSON.stringify(result) : `${result.sink}: ${result.message}`);
    return 0;
  }
  throw new ExitError(2, `sinks: unknown action "${action}" (expected list or probe)`);
}
