/**
 * @module events/normalize
 * (being written) The pure normalizer: raw body -> contract events.
 */
import type { BluetickEvent, JsonObject, Provider } from './types.js';

export interface NormalizeContext {
  /** Name of the channel that received the POST. */
  channel: string;
  /** Epoch ms when the POST was received. */
  receivedAt: number;
  /** The channel's configured provider; `undefined` (auto) detects it from the body. */
  provider?: Provider;
}

export type ParseResult = { ok: true; value: JsonObject } | { ok: false; cause: string };
export type NormalizeResult = { ok: true; events: BluetickEvent[] } | { ok: false; cause: string };

export declare function parseBody(raw: Buffer | string): ParseResult;
export declare function normalizePayload(payload: JsonObject, ctx: NormalizeContext): BluetickEvent[];
export declare function normalize(raw: Buffer | string, ctx: NormalizeContext): NormalizeResult;
export declare function serializeEvent(event: BluetickEvent): string;
export declare function parseEventJson(text: string): BluetickEvent;
