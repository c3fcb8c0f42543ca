/**
 * @module events/watch-notice
 *
 * bluetick's own notices (`channel.silent`, `channel.resumed`; see src/watch/) travel the
 * same path as a provider's POST: the watch writes a journal row whose body is
 * `{"bluetick": <notice>}`, and the pipeline turns it into one event, so routes, handlers,
 * projections and the live stream see it like any other. The pipeline only reads this
 * shape from rows the watch wrote itself (`verifiedBy: "bluetick"`); the same body posted
 * to a webhook is an ordinary unrecognized body.
 *
 * The event id depends on the subject and the silence (its last inbound message), never on
 * when it was noticed: two processes, or one process after a restart, that notice the same
 * silence write the same event once.
 */
import { eventId } from './ids.js';
import { isObject, textOf } from './json.js';
import type { BluetickEvent, ChannelWatchEvent, JsonObject, Provider } from './types.js';

/** The `verifiedBy` of journal rows the watch writes. */
export const WATCH_VERIFIED_BY = 'bluetick';

/** What the watch reports: one silence starting or ending on a channel or one of its numbers. */
export interface WatchNotice {
  type: 'channel.silent' | 'channel.resumed';
  provider: Provider;
  businessAccountId?: string;
  phoneNumberId?: string;
  displayPhoneNumber?: string;
  /** When it happened: the silence crossed the threshold, or the message that ended it arrived. */
  occurredAt: string;
  lastInboundAt: string;
  usualGapMs: number;
  thresholdMs: number;
  silentForMs?: number;
}

/** The journal body of a notice. */
export function watchNoticeBody(notice: WatchNotice): Buffer {
  return Buffer.from(JSON.stringify({ bluetick: notice }));
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : typeof value === 'bigint' ? Number(value) : undefined;
}

/**
 * The event of a watch body, or `undefined` when `payload` is not one. The channel and the
 * receive time are the journal row's.
 */
export function watchNoticeEvent(payload: JsonObject, channel: string, receivedAt: string): BluetickEvent | undefined {
  const notice = payload.bluetick;
  if (!isObject(notice)) return undefined;
  const type = textOf(notice.type);
  const lastInboundAt = textOf(notice.lastInboundAt);
  const usualGapMs = finite(notice.usualGapMs);
  const thresholdMs = finite(notice.thresholdMs);
  if ((type !== 'channel.silent' && type !== 'channel.resumed') || lastInboundAt === undefined || usualGapMs === undefined || thresholdMs === undefined) {
    return undefined;
  }
  const provider = textOf(notice.provider) === 'enablex' ? 'enablex' : 'meta';
  const phoneNumberId = textOf(notice.phoneNumberId);
  const displayPhoneNumber = textOf(notice.displayPhoneNumber);
  // Key order as the other events: ids and place first, times and `data` last.
  const id = eventId(['watch', type, channel, phoneNumberId ?? displayPhoneNumber ?? null, lastInboundAt]);
  const ordered: Record<string, unknown> = { id, type, provider, channel };
  const businessAccountId = textOf(notice.businessAccountId);
  if (businessAccountId !== undefined) ordered.businessAccountId = businessAccountId;
  if (phoneNumberId !== undefined) ordered.phoneNumberId = phoneNumberId;
  if (displayPhoneNumber !== undefined) ordered.displayPhoneNumber = displayPhoneNumber;
  ordered.lastInboundAt = lastInboundAt;
  ordered.usualGapMs = usualGapMs;
  ordered.thresholdMs = thresholdMs;
  const silentForMs = finite(notice.silentForMs);
  if (silentForMs !== undefined) ordered.silentForMs = silentForMs;
  const occurredAt = textOf(notice.occurredAt);
  if (occurredAt !== undefined) ordered.occurredAt = occurredAt;
  ordered.receivedAt = receivedAt;
  ordered.data = notice;
  return ordered as unknown as ChannelWatchEvent;
}
