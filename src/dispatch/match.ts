/**
 * @module dispatch/match
 *
 * Pure routing: which routes an event goes to, and which ordering lane it runs in.
 * No IO, no clock: the worker calls these when it records an event's deliveries.
 */
import { EVENT_TYPES, NAMED_ONLY_TYPES, type BluetickEvent, type EventType } from '../events/types.js';
import type { RetryPolicyInput } from './retry.js';

type PrefixOf<T> = T extends `${infer P}.${string}` ? P : never;

/** The part of an event type before its dot: `message`, `account`, `template`, ... */
export type EventTypePrefix = PrefixOf<EventType>;

/**
 * What a route's `type` list may hold: a type by name, every type of a family
 * (`account.*`), or every type (`*`). Patterns never take the types of
 * {@link NAMED_ONLY_TYPES} (`message.standby`, `history.sync`): only their name does.
 */
export type EventTypePattern = EventType | `${EventTypePrefix}.*` | '*';

/** Every `family.*` pattern, for validation and help texts. */
export const EVENT_TYPE_PREFIX_PATTERNS: readonly `${EventTypePrefix}.*`[] = [
  ...new Set(EVENT_TYPES.filter((t) => t.includes('.')).map((t) => `${t.slice(0, t.indexOf('.'))}.*` as `${EventTypePrefix}.*`)),
];

/** Every value a route's `type` list accepts. */
export const EVENT_TYPE_PATTERNS: readonly EventTypePattern[] = [...EVENT_TYPES, ...EVENT_TYPE_PREFIX_PATTERNS, '*'];

const NAMED_ONLY: ReadonlySet<string> = new Set(NAMED_ONLY_TYPES);

/**
 * Whether a route's type list takes an event type. An absent or empty list, `*` and
 * `family.*` take every type except the named-only ones, which only their own name takes.
 */
export function typeAllowed(list: readonly string[] | undefined, type: EventType): boolean {
  if (list === undefined || list.length === 0) return !NAMED_ONLY.has(type);
  if (list.includes(type)) return true;
  if (NAMED_ONLY.has(type)) return false;
  const dot = type.indexOf('.');
  return list.includes('*') || (dot > 0 && list.includes(`${type.slice(0, dot)}.*`));
}

/**
 * What a route accepts. Every key present must match (AND); within one key any listed
 * value matches (OR). A key that is absent, or an empty list, places no constraint,
 * except that `message.standby` and `history.sync` only ever match a `type` list that names them.
 */
export interface RouteMatch {
  type?: EventTypePattern[];
  channel?: string[];
  /**
   * Meta's `phone_number_id`. EnableX events carry no phone number id, so a route with
   * this key never matches them; route EnableX traffic by `channel` instead.
   */
  phoneNumberId?: string[];
  /**
   * The event's `kind`: the message type for `message.received`, `message.echo` and
   * `message.standby` (`text`, `image`, ...), the change field for `unknown` and
   * `group.update`, the alert type for `account.alert`, ... (docs/reference/events.md).
   * Events without a kind never match.
   */
  kind?: string[];
}

/** One route from the config: events it matches go to the named sink. */
export interface RouteConfig {
  name: string;
  /** Name of a configured sink (or of a library handler). */
  sink: string;
  /** Absent: the route takes every event. */
  match?: RouteMatch;
  /** Overrides of the default retry policy for this route; see {@link RetryPolicyInput}. */
  retry?: RetryPolicyInput;
  /** `hold`: a dead letter keeps the rest of its lane waiting until it is redriven or dropped. Default `continue`. */
  onDeadLetter?: 'continue' | 'hold';
  /** Deliver events stored before the route existed, received at or after `since` (epoch ms). */
  backfill?: { since: number };
}

function allows(list: readonly string[] | undefined, value: string | undefined): boolean {
  if (list === undefined || list.length === 0) return true;
  return value !== undefined && list.includes(value);
}

function kindOf(event: BluetickEvent): string | undefined {
  return 'kind' in event && typeof event.kind === 'string' ? event.kind : undefined;
}

/** Whether one route takes the event. */
export function routeMatches(event: BluetickEvent, route: RouteConfig): boolean {
  const m = route.match;
  if (m === undefined) return typeAllowed(undefined, event.type);
  return (
    typeAllowed(m.type, event.type) &&
    allows(m.channel, event.channel) &&
    allows(m.phoneNumberId, event.phoneNumberId) &&
    allows(m.kind, kindOf(event))
  );
}

/**
 * The routes that take the event, in config order; one delivery is created per route.
 * A route with no match, or matching `*` or `message.*`, never takes `message.standby`
 * (nor `history.sync`: `*` and `history.*` do not take it either).
 *
 * @example
 * const routes: RouteConfig[] = [
 *   { name: 'crm', sink: 'crm-http', match: { type: ['message.received'], kind: ['text', 'button'] } },
 *   { name: 'audit', sink: 'nats' },
 * ];
 * matchRoutes(event, routes).map((r) => r.name); // ['crm', 'audit'] for an inbound text
 */
export function matchRoutes(event: BluetickEvent, routes: readonly RouteConfig[]): RouteConfig[] {
  return routes.filter((route) => routeMatches(event, route));
}

/** Each part is percent-encoded, so `:` can only ever be a separator and two keys never collide by accident. */
function key(lane: string, ...parts: string[]): string {
  return [lane, ...parts.map((p) => encodeURIComponent(p))].join(':');
}

/**
 * The ordering lane of an event. The worker delivers the deliveries that share a
 * (route, ordering key) one at a time in event order, a later one waiting while an
 * earlier one retries; different keys run in parallel.
 *
 * - `conversation:<business>:<contact>` for `message.received`, `message.reaction`
 *   (contact = `from`) and `message.status` (contact = `recipientId`), where business is
 *   `phoneNumberId ?? displayPhoneNumber ?? channel`.
 * - `template:<templateId>` for template events; without an id,
 *   `template:<account>:<templateName>:<language>` with account =
 *   `businessAccountId ?? channel`, because names are only unique within one account.
 * - `conversation:<business>:<contact>` also for `message.echo` (contact = `to`),
 *   `message.standby` (`from`, or `recipientId` for a status copy), and the user events
 *   `user.preferences`, `user.identity`, `conversation.handover`, `call.status`
 *   (contact = `from`).
 * - `business:<business>` for those without their contact, for `history.sync`,
 *   `contact.sync` and `phone.*`; `channel:<channel>` for `unknown`, `account.*`,
 *   `flow.status`, `group.update`, `channel.silent` / `channel.resumed` and template
 *   events that name no template.
 *
 * A user known only by a business-scoped user id (no wa_id) has the lane of that id, as
 * their conversation does.
 *
 * Falling back to a coarser key is always safe: it can only serialize more, never let
 * two events of one conversation overtake each other.
 *
 * @example
 * orderingKey({ type: 'message.status', phoneNumberId: '1065', recipientId: '4477', ... });
 * // 'conversation:1065:4477'
 */
export function orderingKey(event: BluetickEvent): string {
  const business = event.phoneNumberId ?? event.displayPhoneNumber ?? event.channel;
  const conversation = (contact: string | undefined) => (contact !== undefined ? key('conversation', business, contact) : key('business', business));
  switch (event.type) {
    case 'message.received':
    case 'message.reaction':
    case 'user.preferences':
    case 'user.identity':
    case 'conversation.handover':
    case 'call.status':
      return conversation(event.from ?? event.userId);
    case 'message.echo':
      return conversation(event.to ?? event.userId);
    case 'message.standby':
      return conversation(event.from ?? event.recipientId ?? event.userId);
    case 'history.sync':
    case 'contact.sync':
    case 'phone.quality':
    case 'phone.name':
      return key('business', business);
    case 'message.status':
      return conversation(event.recipientId ?? event.userId);
    case 'template.status':
    case 'template.quality':
    case 'template.category':
    case 'template.components': {
      if (event.templateId !== undefined) return key('template', event.templateId);
      if (event.templateName !== undefined) {
        return key('template', event.businessAccountId ?? event.channel, event.templateName, event.language ?? '');
      }
      return key('channel', event.channel);
    }
    case 'account.update':
    case 'account.alert':
    case 'account.review':
    case 'account.capability':
    case 'account.security':
    case 'account.error':
    case 'flow.status':
    case 'group.update':
    case 'unknown':
      return key('channel', event.channel);
    // bluetick's own silence watch: one lane per channel, so silent/resumed stay in order.
    case 'channel.silent':
    case 'channel.resumed':
      return key('channel', event.channel);
  }
}
