/**
 * @module projections/health
 *
 * Account health: what Meta says about the business's phone numbers, business accounts
 * (WABAs) and Flows, as current state plus a short timeline of changes. Template health
 * (status, quality, components) lives in the template rows (`templates.ts`).
 *
 * Rows and what feeds them:
 * - phone numbers, key = the display number (management fields name no phone number id):
 *   `phone.quality` (`FLAGGED`/`UNFLAGGED` -> quality; `UPGRADE`, `DOWNGRADE`, `ONBOARDING`
 *   -> messaging limit tier; `THROUGHPUT_*` -> throughput) and `phone.name` (display-name
 *   review).
 * - business accounts, key = `businessAccountId`: `account.update` (status),
 *   `account.review` (review decision), `account.alert` (current alerts by type),
 *   `account.capability` (limits), `account.security` (security events), `account.error`
 *   (errors attached to no message).
 * - Flows, key = the value's `flow_id`: `flow.status` (`FLOW_STATUS_CHANGE` -> status; the
 *   other events -> health alerts by event, with their `alert_state`).
 *
 * Each current value is a {@link Fact} merged by "the later one by (time, event id)"; each
 * row keeps the latest {@link CHANGE_LIMIT} changes. So a row is the same whatever order its
 * events arrive in, and it stays the same size however many events it gets.
 */
import type { BluetickEvent, JsonValue } from '../events/types.js';
import { addChange, changeOf, factOf, laterFact, member, mergeNamed, scalarText, type Change, type Fact } from './facts.js';
import { compact, compareText, factTime } from './order.js';

export interface PhoneNumberRow {
  key: string;
  displayPhoneNumber: string;
  businessAccountId?: string;
  /** `FLAGGED` (quality is dropping; the limit cannot rise) or `UNFLAGGED`. */
  quality?: Fact;
  /** The messaging limit tier as sent (`TIER_1K`, ...), `detail` the event (`UPGRADE`, ...). */
  messagingLimit?: Fact;
  /** The latest throughput event (`THROUGHPUT_UPGRADE`), `detail` the level as sent. */
  throughput?: Fact;
  /** The display-name decision (`APPROVED`, `REJECTED`, ...), `detail` the requested name, `reason` the rejection reason. */
  displayName?: Fact;
  updatedAt: string;
  history: Change[];
}

export interface BusinessAccountRow {
  key: string;
  businessAccountId: string;
  /** The latest `account_update` event (`VERIFIED_ACCOUNT`, `ACCOUNT_VIOLATION`, ...). */
  status?: Fact;
  /** The latest review decision. */
  review?: Fact;
  /** Alerts by alert type: the latest status of each (at most {@link CHANGE_LIMIT} types, the latest). */
  alerts: Record<string, Fact>;
  /** The limits of the latest `business_capability_update`, as sent (numbers kept, big integers as digits). */
  capabilities?: { at: string; eventId: string; limits: Record<string, string | number | boolean> };
  /** The latest security event (`PIN_CHANGED`, ...), `detail` the phone number. */
  security?: Fact;
  /** The latest errors attached to no message: `value` their codes, comma-separated. */
  lastError?: Fact;
  updatedAt: string;
  history: Change[];
}

export interface FlowRow {
  key: string;
  flowId: string;
  businessAccountId?: string;
  /** The Flow's status (`PUBLISHED`, `THROTTLED`, `BLOCKED`, `DEPRECATED`, ...), `detail` the one before. */
  status?: Fact;
  /** Health alerts by event (`ENDPOINT_ERROR_RATE`, `ENDPOINT_LATENCY`, ...): `value` the alert state, `detail` the measured value. */
  health: Record<string, Fact>;
  updatedAt: string;
  history: Change[];
}

const FLOW_STATUS_CHANGE = 'FLOW_STATUS_CHANGE';
const QUALITY_EVENTS = new Set(['FLAGGED', 'UNFLAGGED']);

function text(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function latestTime(history: readonly Change[]): string {
  return history[history.length - 1]?.at ?? '';
}

// ---- phone numbers -------------------------------------------------------------------

/** The phone-number row an event belongs to, if any. */
export function phoneNumberKeyOf(event: BluetickEvent): string | undefined {
  if (event.type !== 'phone.quality' && event.type !== 'phone.name') return undefined;
  return text(event.displayPhoneNumber);
}

function phoneFacts(row: PhoneNumberRow | undefined, event: BluetickEvent): Pick<PhoneNumberRow, 'quality' | 'messagingLimit' | 'throughput' | 'displayName'> {
  let { quality, messagingLimit, throughput, displayName } = row ?? {};
  if (event.type === 'phone.quality') {
    const status = text(event.status);
    const limit = text(event.currentLimit) ?? scalarText(member(event.data, 'max_daily_conversations_per_business'));
    if (status !== undefined && QUALITY_EVENTS.has(status)) quality = laterFact(quality, factOf(event, status));
    if (status !== undefined && status.startsWith('THROUGHPUT')) throughput = laterFact(throughput, factOf(event, status, { detail: limit }));
    else if (limit !== undefined) messagingLimit = laterFact(messagingLimit, factOf(event, limit, { detail: status }));
  } else if (event.type === 'phone.name') {
    const requested = scalarText(member(event.data, 'requested_verified_name'));
    displayName = laterFact(displayName, factOf(event, text(event.status), { detail: requested, reason: event.reason }));
  }
  return { quality, messagingLimit, throughput, displayName };
}

/** Applies one event to one phone-number row; `row` itself when nothing changes. */
export function reducePhoneNumber(row: PhoneNumberRow | undefined, event: BluetickEvent): PhoneNumberRow | undefined {
  const key = phoneNumberKeyOf(event);
  if (key === undefined || (row !== undefined && row.key !== key)) return row;
  if (event.type !== 'phone.quality' && event.type !== 'phone.name') return row;
  const before = row?.history ?? [];
  const history = addChange(
    before,
    changeOf(event, { status: event.status, detail: event.type === 'phone.quality' ? event.currentLimit : undefined, reason: event.reason }),
  );
  const facts = phoneFacts(row, event);
  if (row && history === before && facts.quality === row.quality && facts.messagingLimit === row.messagingLimit && facts.throughput === row.throughput && facts.displayName === row.displayName) {
    return row;
  }
  return compact({
    key,
    displayPhoneNumber: key,
    businessAccountId: row?.businessAccountId !== undefined && event.businessAccountId !== undefined ? minText(row.businessAccountId, event.businessAccountId) : (event.businessAccountId ?? row?.businessAccountId),
    ...facts,
    updatedAt: latestTime(history),
    history: history.slice(),
  });
}

/** The smaller of two texts: a stable pick when events disagree. */
function minText(a: string, b: string): string {
  return compareText(a, b) <= 0 ? a : b;
}

// ---- business accounts ---------------------------------------------------------------

const ACCOUNT_TYPES = new Set<BluetickEvent['type']>([
  'account.update',
  'account.review',
  'account.alert',
  'account.capability',
  'account.security',
  'account.error',
]);

/** The business-account row an event belongs to, if any. */
export function businessAccountKeyOf(event: BluetickEvent): string | undefined {
  if (!ACCOUNT_TYPES.has(event.type)) return undefined;
  return text(event.businessAccountId);
}

/** Scalar members of an object, sorted by name; nested values are left out. */
function limitsOf(data: JsonValue): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return out;
  for (const name of Object.keys(data).sort(compareText)) {
    const value = data[name];
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') out[name] = value;
    else if (typeof value === 'bigint') out[name] = String(value);
  }
  return out;
}

function accountFacts(row: BusinessAccountRow | undefined, event: BluetickEvent): Omit<BusinessAccountRow, 'key' | 'businessAccountId' | 'updatedAt' | 'history'> {
  let { status, review, alerts = {}, capabilities, security, lastError } = row ?? {};
  const e = event as BluetickEvent & { status?: string; reason?: string; kind?: string; errorCodes?: number[] };
  switch (event.type) {
    case 'account.update':
      status = laterFact(status, factOf(event, text(e.status), { reason: e.reason }));
      break;
    case 'account.review':
      review = laterFact(review, factOf(event, text(e.status), { reason: e.reason }));
      break;
    case 'account.alert': {
      const fact = factOf(event, text(e.status) ?? 'ACTIVE', { detail: scalarText(member(member(event.data, 'alert_info'), 'alert_severity')), reason: e.reason });
      if (fact) alerts = mergeNamed(alerts, text(e.kind) ?? 'UNKNOWN', fact);
      break;
    }
    case 'account.capability': {
      const candidate = { value: '', at: factTime(event), eventId: event.id };
      const current = capabilities ? { value: '', at: capabilities.at, eventId: capabilities.eventId } : undefined;
      if (laterFact(current, candidate) === candidate) capabilities = { at: candidate.at, eventId: event.id, limits: limitsOf(event.data) };
      break;
    }
    case 'account.security':
      security = laterFact(security, factOf(event, text(e.status), { detail: event.displayPhoneNumber }));
      break;
    case 'account.error':
      lastError = laterFact(lastError, factOf(event, e.errorCodes?.join(',') ?? 'unknown', { reason: e.reason }));
      break;
    default:
      break;
  }
  return { status, review, alerts: alerts as Record<string, Fact>, capabilities, security, lastError };
}

function sameAccountFacts(row: BusinessAccountRow, facts: ReturnType<typeof accountFacts>): boolean {
  return (
    facts.status === row.status &&
    facts.review === row.review &&
    facts.alerts === row.alerts &&
    facts.capabilities === row.capabilities &&
    facts.security === row.security &&
    facts.lastError === row.lastError
  );
}

/** Applies one event to one business-account row; `row` itself when nothing changes. */
export function reduceBusinessAccount(row: BusinessAccountRow | undefined, event: BluetickEvent): BusinessAccountRow | undefined {
  const key = businessAccountKeyOf(event);
  if (key === undefined || (row !== undefined && row.key !== key)) return row;
  const e = event as BluetickEvent & { status?: string; reason?: string; kind?: string; errorCodes?: number[] };
  const before = row?.history ?? [];
  const history = addChange(
    before,
    changeOf(event, { kind: e.kind, status: e.status ?? (e.errorCodes ? e.errorCodes.join(',') : undefined), detail: event.displayPhoneNumber, reason: e.reason }),
  );
  const facts = accountFacts(row, event);
  if (row && history === before && sameAccountFacts(row, facts)) return row;
  return compact({ key, businessAccountId: key, ...facts, updatedAt: latestTime(history), history: history.slice() });
}

// ---- Flows ---------------------------------------------------------------------------

/** The Flow row an event belongs to, if any. */
export function flowKeyOf(event: BluetickEvent): string | undefined {
  if (event.type !== 'flow.status') return undefined;
  return scalarText(member(event.data, 'flow_id'));
}

/** The measured value a Flow health event reports (error rate, latency, availability). */
function flowMetric(data: JsonValue): string | undefined {
  for (const name of ['error_rate', 'p50_latency', 'p90_latency', 'availability', 'value']) {
    const value = scalarText(member(data, name));
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Applies one event to one Flow row; `row` itself when nothing changes. */
export function reduceFlow(row: FlowRow | undefined, event: BluetickEvent): FlowRow | undefined {
  const key = flowKeyOf(event);
  if (key === undefined || event.type !== 'flow.status' || (row !== undefined && row.key !== key)) return row;
  const kind = text(event.kind) ?? FLOW_STATUS_CHANGE;
  const alertState = scalarText(member(event.data, 'alert_state'));
  const before = row?.history ?? [];
  const history = addChange(before, changeOf(event, { kind, status: event.status ?? alertState, detail: flowMetric(event.data), reason: event.reason }));
  let status = row?.status;
  let health: Readonly<Record<string, Fact>> = row?.health ?? {};
  if (kind === FLOW_STATUS_CHANGE) {
    status = laterFact(status, factOf(event, text(event.status), { detail: scalarText(member(event.data, 'old_status')), reason: event.reason }));
  } else {
    const fact = factOf(event, alertState ?? 'ACTIVATED', { detail: flowMetric(event.data), reason: event.reason });
    if (fact) health = mergeNamed(health, kind, fact);
  }
  if (row && history === before && status === row.status && health === row.health) return row;
  const businessAccountId =
    row?.businessAccountId !== undefined && event.businessAccountId !== undefined ? minText(row.businessAccountId, event.businessAccountId) : (event.businessAccountId ?? row?.businessAccountId);
  return compact({ key, flowId: key, businessAccountId, status, health: health as Record<string, Fact>, updatedAt: latestTime(history), history: history.slice() });
}
