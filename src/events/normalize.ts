/**
 * @module events/normalize
 *
 * The pure normalizer: raw body -> contract events. No IO, no clock: the receive
 * time and channel come in through {@link NormalizeContext}, so the same bytes
 * always give the same events (and re-normalizing the journal is safe).
 *
 * - The body's shape decides how it is read: a Meta envelope (`entry[]`) or an
 *   EnableX flat body (`messages[]` / `statuses[]` / `business_phone`). `provider`
 *   on each event follows the shape (meta for the envelope, enablex for the flat
 *   body) even when the channel is configured for the other one. Any other JSON
 *   object becomes one `unknown` event (kind `unrecognized body`), with the
 *   configured provider, or `enablex` when none is configured (Meta's envelope is
 *   rigid; loose shapes come from relays and EnableX).
 * - Every item counts, in payload order; see meta-cloud.ts.
 * - A recognised body with no item at all (`entry: []`, empty `changes`, empty
 *   lists) yields no event: the journal row settles with 0 events.
 * - Linear in the body size: every container is hashed at most a bounded number of
 *   times ({@link NormalizeContext.meter} counts it).
 * - {@link normalize} never throws. Bodies that cannot become events (not UTF-8,
 *   not JSON, not an object, nested deeper than {@link MAX_JSON_DEPTH}) come back
 *   as `{ ok: false, cause }` for quarantine.
 *
 * @example
 * ```ts
 * const result = normalize(rawBytes, { channel: 'default', receivedAt: Date.now() });
 * if (result.ok) for (const event of result.events) console.log(serializeEvent(event));
 * else console.error(result.cause);
 * ```
 */
import { isEnablexBody, normalizeEnablexBody } from './enablex.js';
import { MAX_JSON_DEPTH, isObject, nestsDeeperThan, parseJsonText, stringifyJson } from './json.js';
import type { HashMeter } from './ids.js';
import { UNKNOWN_KIND, newScope, unknownEvent } from './meta-cloud.js';
import { normalizeMetaEnvelope } from './meta-envelope.js';
import { watchNoticeEvent } from './watch-notice.js';
import { isoFromEpochMs } from './time.js';
import { EVENT_TYPES, type BluetickEvent, type JsonObject, type JsonValue, type Provider } from './types.js';

export interface NormalizeContext {
  /** Name of the channel that received the POST. */
  channel: string;
  /** Epoch ms when the POST was received. */
  receivedAt: number;
  /** The channel's configured provider; `undefined` (auto) detects it from the body. */
  provider?: Provider;
  /** Counts the text hashed for ids (tests use it to prove the work is linear). */
  meter?: HashMeter;
  /** The row was written by bluetick's own watch (src/watch/): read its notice body. */
  internal?: boolean;
}

export type ParseResult = { ok: true; value: JsonObject } | { ok: false; cause: string };
export type NormalizeResult = { ok: true; events: BluetickEvent[] } | { ok: false; cause: string };

/** Causes are stored and shown; keep them to one short line. */
const MAX_CAUSE_LENGTH = 200;

function shortCause(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_CAUSE_LENGTH ? `${line.slice(0, MAX_CAUSE_LENGTH - 1)}…` : line;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Reused: a fatal decoder keeps no state between complete decode() calls. It drops a
// leading UTF-8 byte order mark.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

function jsonKind(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'bigint' ? 'number' : typeof value;
}

/**
 * Bytes or text -> the JSON object it holds, or a short human cause.
 * Never throws.
 */
export function parseBody(raw: Buffer | string): ParseResult {
  let text: string;
  if (typeof raw === 'string') {
    text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  } else if (raw instanceof Uint8Array) {
    if (raw.length === 0) return { ok: false, cause: 'body is empty' };
    try {
      text = utf8.decode(raw);
    } catch {
      return { ok: false, cause: 'body is not valid UTF-8' };
    }
  } else {
    return { ok: false, cause: 'body is neither bytes nor text' };
  }

  if (text.length === 0 || (isJsonWhitespace(text.charCodeAt(0)) && text.trim() === '')) {
    return { ok: false, cause: 'body is empty' };
  }
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    return { ok: false, cause: `body is nested more than ${MAX_JSON_DEPTH} levels deep` };
  }
  let value: JsonValue;
  try {
    value = parseJsonText(text);
  } catch (error) {
    return { ok: false, cause: shortCause(`body is not valid JSON: ${messageOf(error)}`) };
  }
  if (!isObject(value)) return { ok: false, cause: `body is JSON but not an object (${jsonKind(value)})` };
  return { ok: true, value };
}

/**
 * A parsed body -> its events, in payload order.
 *
 * Expects a value from {@link parseBody} (nesting bounded).
 * @throws RangeError when `ctx.receivedAt` is not a usable epoch-ms time (a caller bug).
 */
export function normalizePayload(payload: JsonObject, ctx: NormalizeContext): BluetickEvent[] {
  const receivedAt = isoFromEpochMs(ctx.receivedAt);
  if (receivedAt === undefined) throw new RangeError(`receivedAt is not a valid epoch-ms time: ${String(ctx.receivedAt)}`);
  const events: BluetickEvent[] = [];
  const notice = ctx.internal === true ? watchNoticeEvent(payload, ctx.channel, receivedAt) : undefined;
  if (notice !== undefined) {
    events.push(notice);
  } else if (Array.isArray(payload.entry)) {
    normalizeMetaEnvelope(payload, newScope('meta', ctx.channel, receivedAt, false, ctx.meter), events);
  } else if (isEnablexBody(payload)) {
    normalizeEnablexBody(payload, newScope('enablex', ctx.channel, receivedAt, false, ctx.meter), events);
  } else {
    const scope = newScope(ctx.provider ?? 'enablex', ctx.channel, receivedAt, true, ctx.meter);
    events.push(unknownEvent(scope, UNKNOWN_KIND.unrecognizedBody, payload));
  }
  return events;
}

/** Raw body -> events, or the cause it cannot have any. Never throws. */
export function normalize(raw: Buffer | string, ctx: NormalizeContext): NormalizeResult {
  try {
    const parsed = parseBody(raw);
    if (!parsed.ok) return parsed;
    return { ok: true, events: normalizePayload(parsed.value, ctx) };
  } catch (error) {
    return { ok: false, cause: shortCause(`body could not be normalized: ${messageOf(error)}`) };
  }
}

/** One event -> one line of JSON (no newline). Integers beyond 2^53 are written as bare digits. */
export function serializeEvent(event: BluetickEvent): string {
  return stringifyJson(event);
}

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * One line written by {@link serializeEvent} -> the event, big integers as `bigint`.
 * @throws SyntaxError when the text is not JSON or not an event.
 */
export function parseEventJson(text: string): BluetickEvent {
  const value = parseJsonText(text);
  if (!isObject(value) || typeof value.type !== 'string' || !EVENT_TYPE_SET.has(value.type) || typeof value.id !== 'string') {
    throw new SyntaxError('text is not a bluetick event');
  }
  return value as unknown as BluetickEvent;
}
