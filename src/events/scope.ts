/**
 * @module events/scope
 *
 * Where an item sits (provider, channel, business account, phone number, field, time) and the
 * ids of what has no identity of its own: scoped ids and the anchor that ties an item to its
 * container's digest. Pure.
 */
import { digestOf, eventId, type HashMeter } from './ids.js';
import type { JsonValue, Provider } from './types.js';

/**
 * Where an item sits: the keys every event from that place shares. Always built by
 * {@link newScope} / {@link placeScope}, so every scope has one shape (object spreads
 * of these were a measurable share of the normalizer's time).
 */
export interface Scope {
  readonly provider: Provider;
  readonly channel: string;
  /** ISO form of the context's receive time. */
  readonly receivedAt: string;
  readonly businessAccountId: string | undefined;
  readonly phoneNumberId: string | undefined;
  readonly displayPhoneNumber: string | undefined;
  /** Meta: the change's `field`. */
  readonly field: string | undefined;
  /** `entry.time` as sent; the time of template events and part of some id keys. */
  readonly entryTime: JsonValue | undefined;
  /**
   * True when `provider` comes from the channel's configuration rather than from the
   * body's shape. It is then left out of ids, so ids depend on the bytes alone.
   */
  readonly providerFromConfig: boolean;
  /** Counts hashing work when the caller asks (tests). */
  readonly meter: HashMeter | undefined;
}

export function newScope(provider: Provider, channel: string, receivedAt: string, providerFromConfig = false, meter?: HashMeter): Scope {
  return {
    provider,
    channel,
    receivedAt,
    businessAccountId: undefined,
    phoneNumberId: undefined,
    displayPhoneNumber: undefined,
    field: undefined,
    entryTime: undefined,
    providerFromConfig,
    meter,
  };
}

/** `scope` with the place keys replaced where `place` names them. */
export function placeScope(
  scope: Scope,
  place: {
    businessAccountId?: string | undefined;
    phoneNumberId?: string | undefined;
    displayPhoneNumber?: string | undefined;
    field?: string | undefined;
    entryTime?: JsonValue | undefined;
  },
): Scope {
  return {
    provider: scope.provider,
    channel: scope.channel,
    receivedAt: scope.receivedAt,
    businessAccountId: 'businessAccountId' in place ? place.businessAccountId : scope.businessAccountId,
    phoneNumberId: 'phoneNumberId' in place ? place.phoneNumberId : scope.phoneNumberId,
    displayPhoneNumber: 'displayPhoneNumber' in place ? place.displayPhoneNumber : scope.displayPhoneNumber,
    field: 'field' in place ? place.field : scope.field,
    entryTime: 'entryTime' in place ? place.entryTime : scope.entryTime,
    providerFromConfig: scope.providerFromConfig,
    meter: scope.meter,
  };
}

/** The event id for key parts, counted on the scope's meter. */
export function scopedId(scope: Scope, parts: ReadonlyArray<JsonValue | undefined>): string {
  return eventId(parts, scope.meter);
}

/**
 * A container (a list, a value, the body) that items without identity of their own are
 * tied to in their ids. Its digest is computed once, on first use, so a body of many
 * malformed items is hashed once rather than once per item.
 */
export class Anchor {
  readonly #value: JsonValue;
  readonly #meter: HashMeter | undefined;
  #digest: string | undefined;

  constructor(value: JsonValue, meter: HashMeter | undefined) {
    this.#value = value;
    this.#meter = meter;
  }

  get digest(): string {
    this.#digest ??= digestOf(this.#value, this.#meter);
    return this.#digest;
  }
}

/**
 * `kind` of `unknown` events that are not a Meta change field. Stable strings: routes
 * and queries match on them.
 */
export const UNKNOWN_KIND = {
  /** A JSON object that is neither a Meta envelope nor an EnableX body. */
  unrecognizedBody: 'unrecognized body',
  malformedEntry: 'malformed entry',
  entryWithoutChanges: 'entry without changes',
  malformedChange: 'malformed change',
  changeWithoutField: 'change without field',
  malformedMessages: 'malformed messages',
  malformedMessage: 'malformed message',
  malformedStatuses: 'malformed statuses',
  malformedStatus: 'malformed status',
  /** A list of a typed field that is not a list (`state_sync: 5`). */
  malformedItems: 'malformed items',
  malformedItem: 'malformed item',
} as const;
