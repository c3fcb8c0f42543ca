/**
 * @module trigger/plan
 *
 * Pure: what a `bluetick trigger` run posts, in order, as a lazy stream (a run can be
 * endless, and memory stays flat).
 *
 * - Notifications come in cycles. In a cycle every requested kind appears once, and they
 *   share one customer and one business message, so `status-sent status-delivered
 *   status-read` describes one message's life and `reaction` targets a real message.
 *   With `conversation`, a cycle is a scenario instead (see {@link conversationCycle}).
 * - `reorder` permutes the statuses of each cycle (never leaving them in order when there
 *   are two or more), as real networks deliver them.
 * - Consecutive notifications are packed `batch` to a POST. A notification that must be a
 *   body of its own (EnableX's unmodelled fields) goes alone.
 * - `duplicate` is the chance that a POST is delivered again, byte for byte, a few POSTs
 *   later: the at-least-once redelivery every provider does.
 */
import { buildBody, buildNotification, canShareBody, encodeBody, newCustomer, newOutbound, type BuildContext, type BusinessAccount, type Notification } from './build.js';
import { findKind, type TriggerKind, type TriggerShape } from './kinds.js';
import type { Rng } from './rng.js';

export interface PlanOptions {
  /** Kinds sent in each cycle (ignored with `conversation`). */
  kinds: readonly TriggerKind[];
  /** Each cycle is a conversation scenario. */
  conversation?: boolean;
  shape: TriggerShape;
  account: BusinessAccount;
  /** Notifications (or conversations, with `conversation`). `Infinity` for an endless run. */
  count: number;
  /** Notifications per POST. Default 1. */
  batch?: number;
  /** Chance in [0, 1] that a POST is delivered a second time. Default 0. */
  duplicate?: number;
  reorder?: boolean;
  /** Unix seconds for the notifications' timestamps; called once per cycle. */
  clock: () => number;
}

/** One POST of the run. */
export interface PlannedPost {
  /** 1-based position in the run. */
  n: number;
  notifications: Notification[];
  /** The exact bytes to post. */
  body: Buffer;
  /** Set on a redelivery: the `n` of the POST whose bytes it repeats. */
  redeliveryOf?: number;
}

/**
 * A customer writes, the business replies and its statuses flow (sent, delivered, read);
 * sometimes the customer reacts to the reply or answers it.
 */
export function conversationCycle(ctx: BuildContext, at: number, reorder: boolean): Notification[] {
  const { rng } = ctx;
  const customer = newCustomer(rng);
  const outbound = newOutbound(ctx, customer);
  let t = at;
  const step = (seconds: number): number => (t += seconds);
  const out: Notification[] = [];
  out.push(buildNotification(rng.chance(0.8) ? 'text' : 'image', ctx, { at: t, customer, outbound }));
  const statuses = [
    buildNotification('status-sent', ctx, { at: step(2 + rng.int(20)), customer, outbound }),
    buildNotification('status-delivered', ctx, { at: step(1 + rng.int(3)), customer, outbound }),
    buildNotification('status-read', ctx, { at: step(5 + rng.int(60)), customer, outbound }),
  ];
  out.push(...(reorder ? permuted(rng, statuses) : statuses));
  if (rng.chance(0.5)) out.push(buildNotification('reaction', ctx, { at: step(1 + rng.int(30)), customer, outbound }));
  if (rng.chance(0.3)) out.push(buildNotification(rng.pick(['text', 'interactive-button', 'button']), ctx, { at: step(1 + rng.int(30)), customer, outbound }));
  return out;
}

/** A random order of `list` that is not its own order (when it has two or more items). */
export function permuted<T>(rng: Rng, list: readonly T[]): T[] {
  if (list.length < 2) return list.slice();
  const shuffled = rng.shuffle(list);
  return shuffled.every((x, i) => x === list[i]) ? list.slice().reverse() : shuffled;
}

/** One cycle of plain kinds: each once, sharing a customer and a business message. */
function kindsCycle(ctx: BuildContext, kinds: readonly TriggerKind[], at: number, reorder: boolean, limit: number): Notification[] {
  const customer = newCustomer(ctx.rng);
  const outbound = newOutbound(ctx, customer);
  const out = kinds.slice(0, limit).map((kind, i) => buildNotification(kind, ctx, { at: at + i, customer, outbound }));
  if (!reorder) return out;
  const positions = out.flatMap((n, i) => (n.kind.family === 'status' ? [i] : []));
  const moved = permuted(ctx.rng, positions.map((i) => out[i]!));
  positions.forEach((pos, k) => (out[pos] = moved[k]!));
  return out;
}

/** Kinds by name; `all` expands to every kind. Unknown names are returned in `unknown`. */
export function resolveKinds(names: readonly string[], every: readonly TriggerKind[]): { kinds: TriggerKind[]; unknown: string[] } {
  const kinds: TriggerKind[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    if (name.trim().toLowerCase() === 'all') kinds.push(...every);
    else {
      const kind = findKind(name);
      if (kind === undefined) unknown.push(name);
      else kinds.push(kind);
    }
  }
  return { kinds, unknown };
}

/**
 * The run, POST by POST.
 *
 * @example
 * ```ts
 * const rng = createRng('seed');
 * for (const post of planPosts({ kinds: [findKind('text')!], shape: 'meta', account: DEFAULT_ACCOUNTS.meta,
 *   count: 3, clock: () => 1717171717 }, rng)) console.log(post.n, post.body.toString());
 * ```
 */
export function* planPosts(opts: PlanOptions, rng: Rng): Generator<PlannedPost, void, undefined> {
  const batch = Math.max(1, Math.floor(opts.batch ?? 1));
  const duplicate = Math.min(1, Math.max(0, opts.duplicate ?? 0));
  const reorder = opts.reorder ?? false;
  if (!opts.conversation && opts.kinds.length === 0) throw new RangeError('no notification kinds to send');
  const ctx: BuildContext = { rng, shape: opts.shape, account: opts.account };

  let n = 0;
  let fresh = 0;
  /** Redeliveries waiting for their turn: due after the fresh POST numbered `due`. */
  const redeliveries: Array<{ due: number; post: PlannedPost }> = [];
  let pending: Notification[] = [];

  function* emit(notifications: Notification[]): Generator<PlannedPost, void, undefined> {
    const body = encodeBody(buildBody(notifications, opts.shape, opts.account), opts.shape);
    const post: PlannedPost = { n: ++n, notifications, body };
    fresh++;
    yield post;
    if (duplicate > 0 && rng.chance(duplicate)) redeliveries.push({ due: fresh + 1 + rng.int(8), post });
    for (let i = 0; i < redeliveries.length; ) {
      const r = redeliveries[i]!;
      if (r.due <= fresh) {
        redeliveries.splice(i, 1);
        yield { n: ++n, notifications: r.post.notifications, body: r.post.body, redeliveryOf: r.post.n };
      } else i++;
    }
  }

  function* push(notification: Notification): Generator<PlannedPost, void, undefined> {
    if (!canShareBody(notification)) {
      yield* emit([notification]);
      return;
    }
    pending.push(notification);
    if (pending.length >= batch) {
      const full = pending;
      pending = [];
      yield* emit(full);
    }
  }

  let made = 0;
  // A cycle never reuses the seconds of the one before: account-level notifications carry
  // little besides their time, and two identical ones in one second are one notification.
  let nextAt = -Infinity;
  while (made < opts.count) {
    const at = Math.max(Math.floor(opts.clock()), nextAt);
    if (opts.conversation) {
      for (const notification of conversationCycle(ctx, at, reorder)) yield* push(notification);
      made++;
    } else {
      const cycle = kindsCycle(ctx, opts.kinds, at, reorder, opts.count - made);
      for (const notification of cycle) yield* push(notification);
      made += cycle.length;
      nextAt = at + cycle.length;
    }
  }
  if (pending.length > 0) yield* emit(pending);
  for (const r of redeliveries) yield { n: ++n, notifications: r.post.notifications, body: r.post.body, redeliveryOf: r.post.n };
}
