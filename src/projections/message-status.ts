/**
 * @module projections/message-status
 *
 * One row per WhatsApp message id: the customer's messages (`message.received`) and the
 * business's messages, which bluetick only ever sees through their status notifications
 * (`message.status`).
 *
 * How the row is kept correct whatever the arrival order:
 * the row stores FACTS (the inbound message, and a timeline of every status event,
 * deduplicated by event id and sorted by (time, rank, event id)) and everything else is
 * DERIVED from those facts on every change. The timeline is a set, so the derived fields
 * (status, per-step times, failure) cannot depend on the order, or the number of copies,
 * in which notifications arrived.
 *
 * The row stays the same size however many notifications a message gets: the timeline
 * keeps the {@link TIMELINE_LIMIT} earliest entries (a message has a handful; the events
 * table holds every one, indexed by message id), and the derived fields are merged from the
 * row's own earliest step times and failure, so an entry that no longer fits still counts.
 * Keeping the k smallest of a set under a total order, and taking minimums and unions, are
 * merges that do not depend on order either. Error codes keep the {@link ERROR_CODE_LIMIT}
 * smallest.
 *
 * Outbound status rules:
 * - The lattice is `sent < delivered < read < played`. The status is the highest step
 *   seen, so a late `sent` or `delivered` never downgrades a `read`.
 * - Each step keeps the EARLIEST time reported for it (a duplicate with another timestamp
 *   cannot move it).
 * - A step implies every step below it: `read` without `delivered` (Meta skips `delivered`
 *   when both happen at once) fills `delivered` with the earliest time of a higher step,
 *   marked `implied: true`. The same holds for `sent` below `delivered`.
 * - `failed` is recorded with its error codes (the union over every `failed` event) and the
 *   earliest failure time. It beats `sent`: `sent` only says the platform accepted the
 *   message, which is the normal step before a failure, and the two often share a
 *   timestamp. It loses to `delivered`, `read` and `played` whatever their times: those
 *   come from the recipient's device, so the message did reach the user, and a failure
 *   report cannot take that back (for example a failed retry of an already-delivered
 *   send). The failure stays on the row and in the timeline either way.
 * - Unknown status strings (`deleted`, `warning`, new ones) go into the timeline and leave
 *   the lattice alone.
 *
 * A `message.echo` (the business wrote from the WhatsApp Business app or another sender)
 * gives an outbound row its content (`outbound`: kind, text, recipient); several echoes of
 * one message id keep the earliest by (time, event id), like received messages do. The
 * row's time is then the echo's time unless a `sent` status says otherwise.
 */
import type { BluetickEvent, MessageEchoEvent, MessageReceivedEvent, MessageStatusEvent } from '../events/types.js';
import { conversationKeyOf } from './conversations.js';
import { compact, compareJson, compareText, compareTime, factTime, upsertSorted } from './order.js';

/** The outbound lattice, lowest first. */
export const OUTBOUND_STEPS = ['sent', 'delivered', 'read', 'played'] as const;
export type OutboundStep = (typeof OUTBOUND_STEPS)[number];

/** The status a message row reports: a lattice step, or `failed`. */
export type MessageStatus = OutboundStep | 'failed';

/** When a lattice step was reached. */
export interface StepTime {
  /** The earliest time reported for this step (ISO-8601). */
  at: string;
  /** The status event that gave `at`. */
  eventId: string;
  /** Present when no notification for this step arrived and a higher step stands in for it. */
  implied?: true;
}

export interface StepTimes {
  sent?: StepTime;
  delivered?: StepTime;
  read?: StepTime;
  played?: StepTime;
}

/** One status notification, as kept in a message's timeline. */
export interface StatusEntry {
  eventId: string;
  /** As sent: `sent`, `delivered`, `read`, `played`, `failed`, or any other string. */
  status: string;
  occurredAt?: string;
  receivedAt: string;
  recipientId?: string;
  errorCodes?: number[];
  /** The conversation this status files the message under (see `conversationKeyOf`). */
  conversationKey?: string;
}

/** The customer's message, as received. */
export interface InboundMessage {
  eventId: string;
  occurredAt?: string;
  receivedAt: string;
  channel: string;
  from?: string;
  contactName?: string;
  kind: string;
  text?: string;
  replyId?: string;
  contextMessageId?: string;
  conversationKey?: string;
  /** Click-to-WhatsApp ad referral: the ad click id and source. */
  ctwaClid?: string;
  referralSourceId?: string;
  referralSourceType?: string;
}

/** A business message bluetick saw the content of (an echo of the Business app or another sender). */
export interface OutboundMessage {
  eventId: string;
  /** `echo`: a `message.echo`; `history`: a business message of a `history.sync` thread. */
  source: 'echo' | 'history';
  occurredAt?: string;
  receivedAt: string;
  channel: string;
  /** The customer written to. */
  to?: string;
  kind: string;
  text?: string;
  conversationKey?: string;
}

export interface MessageFailure {
  /** The earliest failure time. */
  at: string;
  eventId: string;
  /** Every error code of every `failed` event, ascending, without repeats. */
  errorCodes: number[];
}

export interface MessageRow {
  /** The WhatsApp message id (wamid, or the provider's message id). */
  id: string;
  /** `inbound` when the customer sent it (a `message.received` exists), else `outbound`. */
  direction: 'inbound' | 'outbound';
  /**
   * When the message was sent: the inbound message's own time; for an outbound message the
   * `sent` step (actual or implied), else the earliest status time.
   */
  occurredAt: string;
  conversationKey?: string;
  inbound?: InboundMessage;
  /** The business message's content, when an echo (or history) showed it. */
  outbound?: OutboundMessage;
  recipientId?: string;
  /** Outbound only; absent while only unknown statuses are known. */
  status?: MessageStatus;
  steps: StepTimes;
  failure?: MessageFailure;
  /**
   * The earliest {@link TIMELINE_LIMIT} status events, deduplicated by event id, sorted by
   * (time, rank, event id). Every one is in the events table.
   */
  timeline: StatusEntry[];
}

/** Status entries a message row keeps: the earliest ones. */
export const TIMELINE_LIMIT = 16;
/** Distinct failure error codes a message row keeps: the smallest ones. */
export const ERROR_CODE_LIMIT = 16;

const STEP_RANK: Readonly<Record<string, number>> = { sent: 1, delivered: 2, read: 3, played: 4, failed: 5 };
/** Unknown statuses sort after the known ones that share their time. */
const UNKNOWN_RANK = 6;

/** Timeline order: time, then lattice rank, then event id. */
function compareEntries(a: StatusEntry, b: StatusEntry): number {
  return (
    compareTime(factTime(a), factTime(b)) ||
    (STEP_RANK[a.status] ?? UNKNOWN_RANK) - (STEP_RANK[b.status] ?? UNKNOWN_RANK) ||
    compareText(a.status, b.status) ||
    compareText(a.eventId, b.eventId)
  );
}

function isStep(status: string): status is OutboundStep {
  return (OUTBOUND_STEPS as readonly string[]).includes(status);
}

function earlier(a: StepTime | undefined, b: StepTime): StepTime {
  if (a === undefined) return b;
  return (compareTime(b.at, a.at) || compareText(b.eventId, a.eventId)) < 0 ? b : a;
}

/** What a row already knows beyond its kept timeline: earliest actual step times and the failure. */
interface Known {
  actual: StepTimes;
  failure: MessageFailure | undefined;
  recipientId: string | undefined;
  statusKey: string | undefined;
}

function knownOf(row: MessageRow | undefined): Known {
  const actual: StepTimes = {};
  if (row) {
    for (const step of OUTBOUND_STEPS) {
      const seen = row.steps[step];
      if (seen !== undefined && seen.implied === undefined) actual[step] = seen;
    }
  }
  const statusKey = row?.timeline.find((e) => e.conversationKey !== undefined)?.conversationKey;
  return { actual, failure: row?.failure, recipientId: row?.recipientId, statusKey };
}

/** Folds one status entry into what is known: earliest per step, earliest failure, union of codes. */
function learn(known: Known, entry: StatusEntry): void {
  const at = factTime(entry);
  if (isStep(entry.status)) {
    known.actual[entry.status] = earlier(known.actual[entry.status], { at, eventId: entry.eventId });
  } else if (entry.status === 'failed') {
    const first = earlier(known.failure, { at, eventId: entry.eventId });
    const codes = new Set<number>(known.failure?.errorCodes ?? []);
    for (const code of entry.errorCodes ?? []) codes.add(code);
    known.failure = { at: first.at, eventId: first.eventId, errorCodes: [...codes].sort((a, b) => a - b).slice(0, ERROR_CODE_LIMIT) };
  }
}

/** Builds the derived row from its facts. Pure, and the only place a row is assembled. */
function deriveRow(id: string, inbound: InboundMessage | undefined, timeline: readonly StatusEntry[], known: Known, outbound?: OutboundMessage): MessageRow {
  // The timeline is sorted by time first, so its first entry with a recipient is the earliest;
  // past the kept entries, what the row knew stays.
  const first = timeline[0];
  let recipientId: string | undefined;
  let statusKey: string | undefined;
  for (const entry of timeline) {
    recipientId ??= entry.recipientId;
    statusKey ??= entry.conversationKey;
  }
  recipientId ??= known.recipientId;
  statusKey ??= known.statusKey;
  const failure = known.failure;

  // Fill from the top: a step with no notification takes the earliest time of any step above it.
  const filled: Partial<Record<OutboundStep, StepTime>> = {};
  let above: StepTime | undefined;
  let highest: OutboundStep | undefined;
  for (let i = OUTBOUND_STEPS.length - 1; i >= 0; i -= 1) {
    const step = OUTBOUND_STEPS[i] as OutboundStep;
    const seen = known.actual[step];
    if (seen) {
      highest ??= step;
      filled[step] = { at: seen.at, eventId: seen.eventId };
      above = earlier(above, seen);
    } else if (above) {
      filled[step] = { at: above.at, eventId: above.eventId, implied: true };
    }
  }
  const steps: StepTimes = compact({ sent: filled.sent, delivered: filled.delivered, read: filled.read, played: filled.played });

  let status: MessageStatus | undefined;
  if (highest !== undefined && highest !== 'sent') status = highest;
  else if (failure) status = 'failed';
  else status = highest;

  const occurredAt = inbound ? factTime(inbound) : (steps.sent?.at ?? (outbound ? factTime(outbound) : first ? factTime(first) : ''));

  return compact({
    id,
    direction: inbound ? ('inbound' as const) : ('outbound' as const),
    occurredAt,
    conversationKey: inbound?.conversationKey ?? outbound?.conversationKey ?? statusKey,
    inbound,
    outbound,
    recipientId: recipientId ?? (inbound ? undefined : outbound?.to),
    status,
    steps,
    failure: failure ? { at: failure.at, eventId: failure.eventId, errorCodes: failure.errorCodes.slice() } : undefined,
    timeline: timeline.slice(),
  });
}

function inboundFrom(event: MessageReceivedEvent): InboundMessage {
  return compact({
    eventId: event.id,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    channel: event.channel,
    from: event.from,
    contactName: event.contactName,
    kind: event.kind,
    text: event.text,
    replyId: event.replyId,
    contextMessageId: event.contextMessageId,
    conversationKey: conversationKeyOf(event),
    ctwaClid: event.ctwaClid,
    referralSourceId: event.referralSourceId,
    referralSourceType: event.referralSourceType,
  });
}

function outboundFrom(event: MessageEchoEvent, source: OutboundMessage['source']): OutboundMessage {
  return compact({
    eventId: event.id,
    source,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    channel: event.channel,
    to: event.to ?? event.userId,
    kind: event.kind,
    text: event.text,
    conversationKey: conversationKeyOf(event),
  });
}

function entryFrom(event: MessageStatusEvent): StatusEntry {
  return compact({
    eventId: event.id,
    status: event.status,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    recipientId: event.recipientId,
    errorCodes: event.errorCodes ? [...event.errorCodes] : undefined,
    conversationKey: conversationKeyOf(event),
  });
}

/** The message row an event belongs to, if any. */
export function messageKeyOf(event: BluetickEvent): string | undefined {
  return event.type === 'message.received' || event.type === 'message.status' || event.type === 'message.echo' ? event.messageId : undefined;
}

/**
 * Applies one event to one message row. Returns `row` itself (same reference) when the
 * event does not concern it or changes nothing (a duplicate), so callers can skip a write.
 *
 * Several `message.received` events for one message id (the same message through two
 * channels) keep the earliest by (time, event id).
 *
 * @example
 * let row = reduceMessage(undefined, readEvent);   // status 'read', delivered implied
 * row = reduceMessage(row, deliveredEvent);         // still 'read'; delivered now actual
 */
export function reduceMessage(row: MessageRow | undefined, event: BluetickEvent): MessageRow | undefined {
  if (event.type === 'message.received') {
    if (event.messageId === undefined) return row;
    const candidate = inboundFrom(event);
    const current = row?.inbound;
    if (current) {
      const order =
        compareTime(factTime(candidate), factTime(current)) ||
        compareText(candidate.eventId, current.eventId) ||
        compareJson(candidate, current);
      if (order >= 0) return row;
    }
    return deriveRow(event.messageId, candidate, row?.timeline ?? [], knownOf(row), row?.outbound);
  }
  if (event.type === 'message.echo') {
    if (event.messageId === undefined) return row;
    const candidate = outboundFrom(event, event.field === 'history' ? 'history' : 'echo');
    const current = row?.outbound;
    if (current) {
      const order =
        compareTime(factTime(candidate), factTime(current)) ||
        compareText(candidate.eventId, current.eventId) ||
        compareJson(candidate, current);
      if (order >= 0) return row;
    }
    return deriveRow(event.messageId, row?.inbound, row?.timeline ?? [], knownOf(row), candidate);
  }
  if (event.type === 'message.status') {
    if (event.messageId === undefined) return row;
    const entry = entryFrom(event);
    const before = row?.timeline ?? [];
    let after = upsertSorted(before, entry, (e) => e.eventId, compareEntries);
    if (row && after === before) return row;
    let kept = true;
    if (after.length > TIMELINE_LIMIT) {
      after = after.slice(0, TIMELINE_LIMIT);
      kept = after.includes(entry);
    }
    const known = knownOf(row);
    learn(known, entry);
    const next = deriveRow(event.messageId, row?.inbound, after, known, row?.outbound);
    // An entry past the kept ones that teaches nothing new leaves the row as it was.
    return row && !kept && JSON.stringify(next) === JSON.stringify(row) ? row : next;
  }
  return row;
}

