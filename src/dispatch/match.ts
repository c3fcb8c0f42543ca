/**
 * @module dispatch/match
 *
 * Pure routing: which routes an event goes to, and which ordering lane it runs in.
 * No IO, no clock: the worker calls these when it records an event's deliveries.
 */
import type { BluetickEvent, EventType } from '../events/types.js';
import type { RetryPolicyInput } from './retry.js';

/**
 * What a route accepts. Every key present must match (AND); within one key any listed
 * value matches (OR). A key that is absent, or an empty list, places no constraint.
 */
export interface RouteMatch {
  type?: EventType[];
  channel?: string[];
  /**
   * Meta's `phone_number_id`. EnableX events carry no phone number id, so a route with
   * this key never matches them; route EnableX traffic by `channel` instead.
   */
  phoneNumberId?: string[];
  /**
   * The event's `kind`: the message type for `message.received` (`text`, `image`, ...),
   * the change field for `unknown`. Events of other types have no kind and never match.
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
}

function allows(list: readonly string[] | undefined, value: string | undefined): boolean {
  if (list === undefined || list.length === 0) return true;
  return value !== undefined && list.includes(value);
}

function kindOf(event: BluetickEvent): string | undefined {
  return event.type === 'message.received' || event.type === 'unknown' ? event.kind : undefined;
}

/** Whether one route takes the event. */
export function routeMatches(event: BluetickEvent, route: RouteConfig): boolean {
  const m = route.match;
  if (m === undefined) return true;
  return (
    allows(m.type, event.type) &&
    allows(m.channel, event.channel) &&
    allows(m.phoneNumberId, event.phoneNumberId) &&
    allows(m.kind, kindOf(event))
  );
}

/**
 * The routes that take the event, in config order; one delivery is created per route.
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
 * - `business:<business>` for a message event without its contact, and
 *   `channel:<channel>` for `unknown` events and template events that name no template.
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
  switch (event.type) {
    case 'message.received':
    case 'message.reaction':
      return event.from !== undefined ? key('conversation', business, event.from) : key('business', business);
    case 'message.status':
      return event.recipientId !== undefined
        ? key('conversation', business, event.recipientId)
        : key('business', business);
    case 'template.status':
    case 'template.quality':
    case 'template.category': {
      if (event.templateId !== undefined) return key('template', event.templateId);
      if (event.templateName !== undefined) {
        return key('template', event.businessAccountId ?? event.channel, event.templateName, event.language ?? '');
      }
      return key('channel', event.channel);
    }
    case 'unknown':
      return key('channel', event.channel);
  }
}
