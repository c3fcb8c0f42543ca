/**
 * @module events/json
 *
 * JSON reading and writing that never loses digits, plus the small readers the
 * normalizer uses to look into untrusted payloads.
 *
 * Why not plain `JSON.parse`: template ids (and any other integer a provider sends)
 * may exceed 2^53, and `JSON.parse` silently rounds them. Text that contains an
 * integer token of 16 or more digits is therefore parsed with lossless-json, which
 * turns integers outside the safe range into `bigint`; everything else keeps the
 * native fast path. Writing mirrors this: `JSON.stringify` first, and lossless-json
 * (which writes a bigint as bare digits) only when a bigint is present.
 *
 * Nesting depth is bounded by {@link MAX_JSON_DEPTH}: the native parser copes with
 * any depth, but the writers and the canonical form recurse, and a body nested
 * 100k levels deep would overflow the stack far from where it arrived.
 */
import { parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import type { JsonObject, JsonValue } from './types.js';

/**
 * Deepest nesting a body may have. Real WhatsApp bodies nest fewer than 15 levels;
 * the recursive writers stay well clear of the default stack at this depth.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * An integer token of 16+ digits in value position (after `:`, `[` or `,`). Every
 * integer at or above 2^53 has at least 16 digits. Digits inside strings (wamids,
 * ids sent as strings) are normally preceded by `"` and do not match; a false match
 * only costs the slower parser.
 */
const LONG_INTEGER = /[:[,]\s*-?\d{16}/;

const INTEGER_TOKEN = /^-?\d+$/;

/** Integers outside the safe range become `bigint`; every other number is a `number`, as `JSON.parse` gives. */
function parseNumberToken(token: string): number | bigint {
  const n = Number(token);
  if (!Number.isSafeInteger(n) && INTEGER_TOKEN.test(token)) return BigInt(token);
  return n;
}

/** Duplicate keys: the last one wins, as with `JSON.parse`. */
function lastKeyWins(info: { newValue: unknown }): unknown {
  return info.newValue;
}

/**
 * Parse JSON text, keeping integers outside the safe range exact (as `bigint`).
 * @throws SyntaxError when the text is not JSON.
 */
export function parseJsonText(text: string): JsonValue {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text) as JsonValue;
  return losslessParse(text, null, { parseNumber: parseNumberToken, onDuplicateKey: lastKeyWins }) as JsonValue;
}

/**
 * Write a value as JSON; a `bigint` becomes bare digits.
 * @throws RangeError when the value nests deeper than the stack allows (bodies that
 * passed `parseBody` never do).
 */
export function stringifyJson(value: unknown, space?: number): string {
  try {
    return JSON.stringify(value, null, space);
  } catch (error) {
    // `JSON.stringify` refuses bigint with a TypeError; anything else is real.
    if (!(error instanceof TypeError)) throw error;
  }
  const text = losslessStringify(value, null, space);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/**
 * Whether `text` nests objects/arrays deeper than `max`. Brackets inside strings do
 * not count. Valid JSON nested `d` deep is at least `2d` characters long, so short
 * texts are skipped without a scan; strings are jumped over with `indexOf`, which
 * keeps the scan to a fraction of the parse time.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  const length = text.length;
  if (length <= 2 * max) return false;
  let depth = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1) {
        let k = end - 1;
        while (text.charCodeAt(k) === 0x5c /* \ */) k--;
        if ((end - 1 - k) % 2 === 0) break; // an even run of backslashes: the quote is real
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) return false; // unterminated string: the parser will say so
      i = end;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/**
 * A stable text form of a JSON value for hashing: object keys sorted, no
 * whitespace, bigints as digits, `undefined` as `null`. Equal values give equal
 * text regardless of key order or of how a number was spelled.
 */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return out + ']';
  }
  const keys = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0) out += ',';
    out += JSON.stringify(key) + ':' + canonicalJson(value[key]);
  }
  return out + '}';
}

// ---------------------------------------------------------------------------
// Readers for untrusted values. Payload keys are attacker-chosen: a message whose
// `type` is "constructor" must not read `Object.prototype.constructor`, so dynamic
// keys go through `own()`.

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `object[key]` when `object` is a JSON object that has `key` as its own property. */
export function own(object: JsonValue | undefined, key: JsonValue | undefined): JsonValue | undefined {
  if (!isObject(object) || typeof key !== 'string' || !Object.hasOwn(object, key)) return undefined;
  return object[key];
}

/** A string value, or `undefined`. */
export function textOf(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * An identifier as a string: strings as sent; numbers (relays sometimes send ids
 * unquoted) and bigints as their exact digits. Anything else is `undefined`.
 */
export function idOf(value: JsonValue | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Integers up to 1e21 print as plain digits; beyond that String() uses exponent form.
    return Number.isInteger(value) && Math.abs(value) < 1e21 ? value.toFixed(0) : String(value);
  }
  return undefined;
}
