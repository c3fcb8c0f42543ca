/**
 * @module bluetick/testing
 *
 * Test your own webhook handlers without a network or a provider account: realistic bodies
 * for every notification kind in both body shapes (Meta's envelope and EnableX's flat body,
 * the same builder `bluetick trigger` uses), signed for Meta or carrying Basic auth, and a
 * fake provider that posts them the way providers do: several notifications per body,
 * statuses out of order, the same body again later, and retries with backoff until a 2xx.
 *
 * The fake provider posts to a URL (your server on loopback) or straight into a
 * `Request -> Response` function (`bluetick/hono`'s `webhook.fetch`, a Next.js route
 * handler), which needs no socket at all.
 *
 * @example
 * ```ts
 * import { buildWebhookBody, FakeProvider } from 'bluetick/testing';
 *
 * const { body, headers } = buildWebhookBody('text', { shape: 'meta', metaSecret: 'app-secret' });
 * await fetch('http://127.0.0.1:3000/webhook', { method: 'POST', body, headers });
 *
 * const provider = new FakeProvider({ target: webhook.fetch, shape: 'meta', metaSecret: 'app-secret', batch: 3, reorder: true });
 * const report = await provider.send({ conversations: 5 });
 * ```
 */
import { buildBody, buildNotification, encodeBody, DEFAULT_ACCOUNTS, type BusinessAccount } from '../trigger/build.js';
import { TRIGGER_KINDS, findKind, kindSupports, type TriggerShape } from '../trigger/kinds.js';
import { planPosts, resolveKinds, type PlannedPost } from '../trigger/plan.js';
import { createRng } from '../trigger/rng.js';
import { postHeaders } from '../trigger/send.js';
import type { EventType, JsonObject } from '../events/types.js';

export { signMeta } from '../ingest/verify-meta.js';
export { encodeBasicAuthorization } from '../ingest/verify-basic.js';
export type { BusinessAccount } from '../trigger/build.js';

/** The two body shapes: Meta's envelope, EnableX's flat body. */
export type BodyShape = TriggerShape;

/** A notification kind the builder makes, and the event type it normalizes to. */
export interface NotificationKind {
  name: string;
  event: EventType;
  description: string;
  shapes: readonly BodyShape[];
}

/** Every kind, e.g. `text`, `image`, `status-read`, `reaction`, `template-approved`. */
export const NOTIFICATION_KINDS: readonly NotificationKind[] = TRIGGER_KINDS.map((k) => ({
  name: k.name,
  event: k.event,
  description: k.description,
  shapes: k.shapes ?? ['meta', 'enablex'],
}));

/** How a body is authenticated. */
export interface BodyAuth {
  /** Meta app secret: adds `X-Hub-Signature-256` over the exact bytes. */
  metaSecret?: string;
  /** `user:password`: adds `Authorization: Basic ...`. */
  basic?: string;
}

export interface BuildBodyOptions extends BodyAuth {
  /** Default `meta`. */
  shape?: BodyShape;
  /** Same seed, same bytes. Default: a fixed seed. */
  seed?: number | string;
  /** Unix seconds of the items' timestamps. Default: now. */
  at?: number;
  account?: BusinessAccount;
}

/** One body as a provider would post it. */
export interface WebhookBody {
  /** The exact bytes (Meta's bodies escape non-ASCII as `\uXXXX`, as Meta does). */
  body: Buffer;
  /** The same body, parsed. */
  json: JsonObject;
  /** `content-type`, and the signature or Basic auth asked for. */
  headers: Record<string, string>;
  /** The message, status or template id of each notification, in body order. */
  refs: string[];
}

/**
 * One body carrying the given kinds, in order.
 * @throws RangeError for an unknown kind, or one the shape cannot carry.
 */
export function buildWebhookBody(kinds: string | readonly string[], options: BuildBodyOptions = {}): WebhookBody {
  const shape = options.shape ?? 'meta';
  const account = options.account ?? DEFAULT_ACCOUNTS[shape];
  const ctx = { rng: createRng(options.seed ?? 'bluetick/testing'), shape, account };
  const at = Math.floor(options.at ?? Date.now() / 1000);
  const names = typeof kinds === 'string' ? [kinds] : [...kinds];
  const notifications = names.map((name) => {
    const kind = findKind(name);
    if (kind === undefined) throw new RangeError(`unknown notification kind "${name}"; see NOTIFICATION_KINDS`);
    if (!kindSupports(kind, shape)) throw new RangeError(`"${name}" notifications come only in the ${kind.shapes?.join(' or ')} shape`);
    return buildNotification(kind, ctx, { at });
  });
  const json = buildBody(notifications, shape, account);
  const body = encodeBody(json, shape);
  return { body, json, headers: postHeaders(body, options), refs: notifications.map((n) => n.ref) };
}

/** Where the fake provider posts: a URL, or a Web `Request -> Response` function. */
export type ProviderTarget = string | ((request: Request) => Response | Promise<Response>);

export interface FakeProviderOptions extends BodyAuth {
  target: ProviderTarget;
  /** Default `meta`. */
  shape?: BodyShape;
  seed?: number | string;
  /** Notifications per body. Default 1. */
  batch?: number;
  /** Statuses of one message arrive out of order. Default false. */
  reorder?: boolean;
  /** Chance in [0, 1] that a body is posted again a few bodies later. Default 0. */
  duplicate?: number;
  /**
   * Delays (ms) before each retry of a body not answered 2xx; its length is the number of
   * retries. Meta retries for days with growing gaps; the default is short for tests:
   * `[10, 50, 250]`.
   */
  retryDelaysMs?: readonly number[];
  /** Unix seconds for the notifications. Default: now. */
  clock?: () => number;
}

/** One POST as it happened. */
export interface ProviderAttempt {
  /** 1-based body number; a redelivery repeats the bytes of `redeliveryOf`. */
  n: number;
  redeliveryOf?: number;
  attempt: number;
  /** 0 when no answer came. */
  status: number;
  error?: string;
}

export interface ProviderReport {
  /** Bodies sent (redeliveries included) and every attempt, in order. */
  bodies: PlannedPost[];
  attempts: ProviderAttempt[];
  /** Bodies never answered 2xx after every retry. */
  failed: PlannedPost[];
}

export interface SendRequest {
  /** Notification kinds, one of each per cycle (`count` notifications in all). */
  kinds?: readonly string[];
  /** Notifications to send with `kinds`. Default: one cycle. */
  count?: number;
  /** Instead of kinds: conversations (a message, the reply's statuses, maybe a reaction). */
  conversations?: number;
}

const waitMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Posts realistic traffic the way a provider does. */
export class FakeProvider {
  readonly #options: FakeProviderOptions;
  readonly #rng;

  constructor(options: FakeProviderOptions) {
    this.#options = options;
    this.#rng = createRng(options.seed ?? 'bluetick/testing/provider');
  }

  /** Posts the planned bodies one after another (each retried until 2xx or out of retries). */
  async send(request: SendRequest): Promise<ProviderReport> {
    const o = this.#options;
    const shape = o.shape ?? 'meta';
    const conversations = request.conversations;
    const { kinds, unknown } = resolveKinds(request.kinds ?? [], TRIGGER_KINDS);
    if (unknown.length > 0) throw new RangeError(`unknown notification kinds: ${unknown.join(', ')}`);
    const plan = planPosts(
      {
        kinds,
        ...(conversations !== undefined ? { conversation: true } : {}),
        shape,
        account: DEFAULT_ACCOUNTS[shape],
        count: conversations ?? request.count ?? kinds.length,
        batch: o.batch ?? 1,
        duplicate: o.duplicate ?? 0,
        reorder: o.reorder ?? false,
        clock: o.clock ?? (() => Date.now() / 1000),
      },
      this.#rng,
    );
    const report: ProviderReport = { bodies: [], attempts: [], failed: [] };
    for (const post of plan) {
      report.bodies.push(post);
      if (!(await this.#deliver(post, report))) report.failed.push(post);
    }
    return report;
  }

  async #deliver(post: PlannedPost, report: ProviderReport): Promise<boolean> {
    const delays = this.#options.retryDelaysMs ?? [10, 50, 250];
    const headers = postHeaders(post.body, this.#options);
    for (let attempt = 1; attempt <= delays.length + 1; attempt++) {
      if (attempt > 1) await waitMs(delays[attempt - 2]!);
      const record: ProviderAttempt = { n: post.n, attempt, status: 0, ...(post.redeliveryOf !== undefined ? { redeliveryOf: post.redeliveryOf } : {}) };
      try {
        record.status = await this.#post(post.body, headers);
      } catch (error) {
        record.error = (error as Error).message;
      }
      report.attempts.push(record);
      if (record.status >= 200 && record.status < 300) return true;
    }
    return false;
  }

  async #post(body: Buffer, headers: Record<string, string>): Promise<number> {
    const target = this.#options.target;
    const url = typeof target === 'string' ? target : 'http://provider.test/webhook';
    const request = new Request(url, { method: 'POST', body: new Uint8Array(body), headers });
    const response = typeof target === 'string' ? await fetch(request) : await target(request);
    await response.arrayBuffer();
    return response.status;
  }
}
