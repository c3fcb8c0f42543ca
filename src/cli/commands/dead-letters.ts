/**
 * @module cli/commands/dead-letters
 *
 * `bluetick dead-letters [list]` shows dead deliveries with their last error;
 * `bluetick dead-letters redrive <id...> | --all | --route/--sink/--event` puts them back to
 * pending; `bluetick dead-letters drop <id...>` gives up on them (a conversation one of them
 * held moves on). Talks to a running server's `/api`.
 */
import { ExitError } from '../../errors.js';
import { ApiClient } from '../api-client.js';

export interface DeadLettersOptions {
  url?: string;
  token?: string;
  route?: string;
  sink?: string;
  event?: string;
  all?: boolean;
  limit?: string;
  after?: string;
  json?: boolean;
}

export interface DeadLettersIo {
  stdout: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

interface DeliveryView {
  id: number;
  eventId: string;
  eventType: string;
  route: string;
  sink: string;
  orderingKey: string;
  attempts: number;
  completedAt?: string;
  lastStatusCode?: number;
  lastError?: string;
}

export async function runDeadLetters(action: string, ids: string[], opts: DeadLettersOptions, io: DeadLettersIo): Promise<number> {
  const client = new ApiClient(opts, io.env);
  const out = (line: string) => io.stdout.write(`${line}\n`);
  if (action === 'list') {
    if (ids.length > 0) throw new ExitError(2, 'dead-letters list takes no ids (did you mean redrive?)');
    const page = await client.get<{ items: DeliveryView[]; next?: string }>('/api/dead-letters', {
      route: opts.route,
      sink: opts.sink,
      eventId: opts.event,
      limit: opts.limit,
      after: opts.after,
    });
    if (opts.json) {
      for (const item of page.items) out(JSON.stringify(item));
      return 0;
    }
    if (page.items.length === 0) {
      out('no dead letters');
      return 0;
    }
    for (const d of page.items) {
      const why = d.lastStatusCode !== undefined ? `HTTP ${d.lastStatusCode}` : (d.lastError ?? '');
      const cells = [String(d.id).padStart(6), d.route, d.sink, d.eventType, d.eventId, d.orderingKey, `attempts ${d.attempts}`, d.completedAt ?? '', why];
      out(cells.join('  '));
    }
    if (page.next !== undefined) out(`(more: --after ${page.next})`);
    return 0;
  }
  if (action === 'redrive') {
    const filter: Record<string, string> = {};
    if (opts.route) filter.route = opts.route;
    if (opts.sink) filter.sink = opts.sink;
    if (opts.event) filter.eventId = opts.event;
    const chosen = [ids.length > 0, opts.all === true, Object.keys(filter).length > 0].filter(Boolean).length;
    if (chosen !== 1) throw new ExitError(2, 'dead-letters redrive: give delivery ids, or --all, or a filter (--route, --sink, --event)');
    let body: unknown;
    if (ids.length > 0) {
      const numbers = ids.map((id) => Number(id));
      if (numbers.some((n) => !Number.isInteger(n) || n <= 0)) throw new ExitError(2, 'dead-letters redrive: ids are positive integers');
      body = { ids: numbers };
    } else {
      body = opts.all ? { all: true } : { filter };
    }
    const result = await client.post<{ redriven: number; ids: number[]; message?: string }>('/api/dead-letters/redrive', body);
    if (opts.json) out(JSON.stringify(result));
    else {
      out(`redriven ${result.redriven} dead letter${result.redriven === 1 ? '' : 's'}${result.ids.length > 0 ? `: ${result.ids.join(', ')}` : ''}`);
      if (result.redriven > 0 && result.message !== undefined) out(result.message.replace(/POST \/api\/sinks\/([^/]+)\/probe/g, '`bluetick sinks probe $1`'));
    }
    return 0;
  }
  if (action === 'drop') {
    if (ids.length === 0) throw new ExitError(2, 'dead-letters drop: give the delivery ids to drop');
    const numbers = ids.map((id) => Number(id));
    if (numbers.some((n) => !Number.isInteger(n) || n <= 0)) throw new ExitError(2, 'dead-letters drop: ids are positive integers');
    const result = await client.post<{ dropped: number; ids: number[]; message: string }>('/api/dead-letters/drop', { ids: numbers });
    if (opts.json) out(JSON.stringify(result));
    else {
      out(`dropped ${result.dropped} dead letter${result.dropped === 1 ? '' : 's'}${result.ids.length > 0 ? `: ${result.ids.join(', ')}` : ''}`);
      if (result.dropped > 0) out('conversations they held move on now; replay an event to send it again');
    }
    return 0;
  }
  throw new ExitError(2, `dead-letters: unknown action "${action}" (expected list, redrive or drop)`);
}
