/**
 * @module cli/commands/replay
 *
 * `bluetick replay --route <name> (--event <id>... | --since/--until | --type/--channel/--from)
 * [--dry-run]`: deliver stored events again to one route, through a running server's `/api`.
 */
import type { ReplayResult } from '../../dispatch/replay.js';
import { ExitError } from '../../errors.js';
import { ApiClient } from '../api-client.js';

export interface ReplayOptions {
  url?: string;
  token?: string;
  route?: string;
  event?: string[];
  since?: string;
  until?: string;
  type?: string;
  channel?: string;
  phoneNumberId?: string;
  from?: string;
  dryRun?: boolean;
  limit?: string;
  json?: boolean;
}

export async function runReplay(opts: ReplayOptions, io: { stdout: NodeJS.WritableStream; env?: NodeJS.ProcessEnv }): Promise<number> {
  if (opts.route === undefined) throw new ExitError(2, 'replay: --route is required');
  const filter: Record<string, unknown> = {};
  if (opts.type !== undefined) filter.type = opts.type.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (opts.channel !== undefined) filter.channel = opts.channel;
  if (opts.phoneNumberId !== undefined) filter.phoneNumberId = opts.phoneNumberId;
  if (opts.from !== undefined) filter.from = opts.from;
  const body: Record<string, unknown> = { route: opts.route };
  if (opts.event !== undefined && opts.event.length > 0) body.eventIds = opts.event;
  if (opts.since !== undefined) body.since = opts.since;
  if (opts.until !== undefined) body.until = opts.until;
  if (Object.keys(filter).length > 0) body.filter = filter;
  if (opts.dryRun) body.dryRun = true;
  if (opts.limit !== undefined) {
    const n = Number(opts.limit);
    if (!Number.isInteger(n) || n < 1) throw new ExitError(2, 'replay: --limit must be a positive integer');
    body.limit = n;
  }
  if (body.eventIds === undefined && body.since === undefined && body.until === undefined && body.filter === undefined) {
    throw new ExitError(2, 'replay: say which events: --event <id>, --since/--until, or --type/--channel/--phone-number-id/--from');
  }
  const result = await new ApiClient(opts, io.env).post<ReplayResult>('/api/replay', body);
  const out = (line: string) => io.stdout.write(`${line}\n`);
  if (opts.json) {
    out(JSON.stringify(result));
    return 0;
  }
  for (const e of result.events) out(`${e.seq}  ${e.type}  ${e.eventId}  ${e.orderingKey}  ${e.receivedAt}`);
  for (const s of result.skipped) out(`skipped ${s.eventId}: ${s.reason}`);
  const n = result.events.length;
  out(
    result.dryRun
      ? `dry run: would send ${n} event${n === 1 ? '' : 's'} to route ${result.route} (sink ${result.sink})`
      : `replaying ${n} event${n === 1 ? '' : 's'} to route ${result.route} (sink ${result.sink}): ${result.deliveries.length} deliveries created`,
  );
  if (result.truncated) out('(more events matched than --limit; run again with --since after the last one)');
  return 0;
}
