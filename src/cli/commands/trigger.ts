/**
 * @module cli/commands/trigger
 *
 * `bluetick trigger <kind...> --url URL`: sends realistic WhatsApp notifications to any
 * webhook URL (bluetick's or your own), correctly authenticated, and prints what it sent
 * and what came back. `--list` prints the kinds; `--dry-run` prints the bodies instead of
 * sending them; `--json` writes NDJSON (one line per POST, then one summary line).
 *
 * Exit codes: 0 every POST was answered 2xx (or nothing was sent); 1 some were not;
 * 2 the command line is invalid.
 */
import { randomBytes } from 'node:crypto';
import { ExitError } from '../../errors.js';
import { DEFAULT_ACCOUNTS } from '../../trigger/build.js';
import { TRIGGER_KINDS, TRIGGER_SHAPES, kindSupports, type TriggerShape } from '../../trigger/kinds.js';
import { planPosts, resolveKinds, type PlannedPost } from '../../trigger/plan.js';
import { createRng } from '../../trigger/rng.js';
import { postHeaders, sendPosts, type PostResult, type SendSummary } from '../../trigger/send.js';

export interface TriggerCommandOptions {
  url?: string;
  list?: boolean;
  shape?: string;
  basic?: string;
  metaSecret?: string;
  count?: string;
  rate?: string;
  batch?: string;
  concurrency?: string;
  duplicate?: string;
  reorder?: boolean;
  conversation?: boolean;
  seed?: string;
  timeout?: string;
  insecure?: boolean;
  json?: boolean;
  dryRun?: boolean;
  verbose?: boolean;
}

export interface TriggerIo {
  stdout: NodeJS.WritableStream;
  /** Unix seconds for the notifications' timestamps. Default: now. */
  clock?: () => number;
  userAgent?: string;
}

/** Per-POST lines are printed in text mode up to this many POSTs (all of them with --verbose). */
const LINE_LIMIT = 50;

function usage(message: string): never {
  throw new ExitError(2, `trigger: ${message}`);
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) usage(`${name} expects a whole number >= 1, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function positiveNumber(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) usage(`${name} expects a number > 0, got ${JSON.stringify(raw)}`);
  return n;
}

function fraction(name: string, raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) usage(`${name} expects a fraction between 0 and 1, got ${JSON.stringify(raw)}`);
  return n;
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => resolve());
  });
}

/** The `--list` table. */
export function listKinds(): string {
  const width = Math.max(...TRIGGER_KINDS.map((k) => k.name.length));
  const typeWidth = Math.max(...TRIGGER_KINDS.map((k) => k.event.length));
  const lines = TRIGGER_KINDS.map((k) => `  ${k.name.padEnd(width)}  ${k.event.padEnd(typeWidth)}  ${k.description}${k.shapes?.length === 1 ? ` (${k.shapes[0]} only)` : ''}`);
  return `notification kinds (bluetick trigger <kind...> --url URL; "all" sends every kind):\n${lines.join('\n')}\n`;
}

function describePost(post: PlannedPost): string {
  const kinds = post.notifications.map((n) => n.kind.name);
  const shown = kinds.length > 4 ? `${kinds.slice(0, 4).join(', ')}, +${kinds.length - 4}` : kinds.join(', ');
  return post.redeliveryOf !== undefined ? `${shown} (redelivery of #${post.redeliveryOf})` : shown;
}

function postRecord(post: PlannedPost): Record<string, unknown> {
  return {
    type: 'post',
    n: post.n,
    kinds: post.notifications.map((n) => n.kind.name),
    events: post.notifications.map((n) => n.kind.event),
    refs: post.notifications.map((n) => n.ref),
    bytes: post.body.length,
    ...(post.redeliveryOf !== undefined ? { redeliveryOf: post.redeliveryOf } : {}),
  };
}

function summaryText(s: SendSummary, url: string): string {
  const lines = [
    '',
    `sent ${s.posts} POST${s.posts === 1 ? '' : 's'} to ${url}: ${s.notifications} notification${s.notifications === 1 ? '' : 's'}` +
      `${s.redeliveries > 0 ? ` + ${s.redeliveries} redeliver${s.redeliveries === 1 ? 'y' : 'ies'}` : ''}` +
      ` in ${(s.elapsedMs / 1000).toFixed(2)} s (${s.rate} POST/s)`,
  ];
  for (const [status, n] of Object.entries(s.byStatus).sort()) lines.push(`  ${status.padEnd(5)} ${n}`);
  for (const [code, n] of Object.entries(s.errors).sort()) lines.push(`        ${code}: ${n}`);
  const l = s.latencyMs;
  lines.push(`latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}  (mean ${l.mean})`);
  return `${lines.join('\n')}\n`;
}

export async function runTrigger(kindNames: readonly string[], opts: TriggerCommandOptions, io: TriggerIo): Promise<number> {
  if (opts.list) {
    await write(io.stdout, opts.json ? `${JSON.stringify(TRIGGER_KINDS)}\n` : listKinds());
    return 0;
  }

  const shape = (opts.shape ?? 'meta').toLowerCase() as TriggerShape;
  if (!TRIGGER_SHAPES.includes(shape)) usage(`--shape expects meta or enablex, got ${JSON.stringify(opts.shape)}`);
  if (opts.conversation && kindNames.length > 0) usage('give either kinds or --conversation, not both');
  if (!opts.conversation && kindNames.length === 0) usage('name at least one kind (see --list), or use --conversation');
  // `all` takes the kinds this shape can carry; a kind named outright must fit it.
  const { kinds, unknown } = resolveKinds(kindNames, TRIGGER_KINDS.filter((k) => kindSupports(k, shape)));
  if (unknown.length > 0) usage(`unknown kind${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => JSON.stringify(u)).join(', ')} (see --list)`);
  const unfit = kinds.filter((k) => !kindSupports(k, shape));
  if (unfit.length > 0) usage(`${unfit.map((k) => k.name).join(', ')} come${unfit.length > 1 ? '' : 's'} only in the meta shape (drop --shape enablex)`);
  if (opts.basic !== undefined && !/^[^:]+:/.test(opts.basic)) usage('--basic expects user:password');
  if (opts.metaSecret !== undefined && opts.metaSecret === '') usage('--meta-secret expects the app secret');
  const count = positiveInt('--count', opts.count, opts.conversation ? 1 : kinds.length);
  const batch = positiveInt('--batch', opts.batch, 1);
  const concurrency = positiveInt('--concurrency', opts.concurrency, 8);
  const rate = positiveNumber('--rate', opts.rate);
  const timeoutSeconds = positiveNumber('--timeout', opts.timeout);
  const duplicate = fraction('--duplicate', opts.duplicate);
  let url: URL | undefined;
  if (!opts.dryRun) {
    if (opts.url === undefined) usage('--url is required (or use --dry-run)');
    try {
      url = new URL(opts.url);
    } catch {
      usage(`--url is not a URL: ${JSON.stringify(opts.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') usage(`--url must be http:// or https://, got ${url.protocol}`);
  }

  // Printed with the run, so the same ids and content can be produced again with --seed.
  const seed = opts.seed ?? randomBytes(16).toString('hex');
  const rng = createRng(seed);
  const clock = io.clock ?? ((): number => Math.floor(Date.now() / 1000));
  const plan = planPosts(
    {
      kinds,
      conversation: opts.conversation ?? false,
      shape,
      account: DEFAULT_ACCOUNTS[shape],
      count,
      batch,
      duplicate,
      reorder: opts.reorder ?? false,
      clock,
    },
    rng,
  );
  const auth = { ...(opts.basic !== undefined ? { basic: opts.basic } : {}), ...(opts.metaSecret !== undefined ? { metaSecret: opts.metaSecret } : {}) };

  if (opts.dryRun) {
    for (const post of plan) {
      const headers = postHeaders(post.body, { ...auth, ...(io.userAgent !== undefined ? { userAgent: io.userAgent } : {}) });
      if (opts.json) {
        await write(io.stdout, `${JSON.stringify({ ...postRecord(post), headers, body: post.body.toString('utf8') })}\n`);
      } else {
        const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n');
        await write(io.stdout, `### POST #${post.n}: ${describePost(post)}\n${head}\n\n${post.body.toString('utf8')}\n\n`);
      }
    }
    return 0;
  }

  const target = url!.toString();
  const lines = opts.verbose === true || count <= LINE_LIMIT;
  if (!opts.json) {
    const how = [opts.basic !== undefined ? 'Basic auth' : '', opts.metaSecret !== undefined ? 'X-Hub-Signature-256' : ''].filter(Boolean).join(' + ') || 'no credentials';
    const what = opts.conversation ? `${count} conversation${count === 1 ? '' : 's'}` : `${count} notification${count === 1 ? '' : 's'}`;
    await write(io.stdout, `bluetick trigger: ${what} (${shape} shape, ${how}) to ${target} (seed ${seed})\n`);
  }
  const out: string[] = [];
  const onResult = (post: PlannedPost, result: PostResult): void => {
    if (opts.json) {
      out.push(`${JSON.stringify({ ...postRecord(post), status: result.status, ms: Math.round(result.ms * 100) / 100, ...(result.error !== undefined ? { error: result.error } : {}), ...(result.retryAfter !== undefined ? { retryAfter: result.retryAfter } : {}), ...(result.response !== undefined ? { response: result.response } : {}) })}\n`);
    } else if (lines) {
      const answer = result.status === 0 ? `error ${result.error ?? ''}` : `${result.status} ${(result.response ?? '').trim().slice(0, 60)}`;
      out.push(`  #${String(post.n).padEnd(4)} ${describePost(post).padEnd(34)}  ${post.notifications[0]?.ref ?? ''}  -> ${answer}  ${result.ms.toFixed(1)} ms\n`);
    }
    if (out.length >= 64) io.stdout.write(out.splice(0).join(''));
  };
  const summary = await sendPosts(plan, {
    url: target,
    ...auth,
    ...(rate !== undefined ? { rate } : {}),
    concurrency,
    ...(timeoutSeconds !== undefined ? { timeoutMs: Math.ceil(timeoutSeconds * 1000) } : {}),
    ...(opts.insecure ? { insecure: true } : {}),
    ...(io.userAgent !== undefined ? { userAgent: io.userAgent } : {}),
    onResult,
  });
  await write(io.stdout, out.join(''));
  await write(io.stdout, opts.json ? `${JSON.stringify({ type: 'summary', url: target, seed, ...summary })}\n` : summaryText(summary, target));
  return summary.ok === summary.posts ? 0 : 1;
}
