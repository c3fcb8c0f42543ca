/**
 * @module watch/silence
 *
 * The pure half of the silence watch: it follows inbound messages per subject (each channel,
 * and each business phone number on it) and says when one falls silent or resumes. No clock
 * and no IO: the shell (`watch.ts`) feeds it events and the time.
 *
 * - Inbound = `message.received` and `message.reaction`, timed by `receivedAt` (when the
 *   POST reached bluetick: a broken subscription or a thread moved to `standby` stops the
 *   arrivals, whatever the messages' own times say).
 * - The usual gap is the median of the latest {@link GAP_SAMPLES} gaps between arrivals; a
 *   subject counts once it has had `minMessages` inbound messages.
 * - Silent when nothing arrived for `max(multiple * usual gap, minimumGapMs)`: one
 *   `channel.silent`, then nothing more until the next inbound message, which gives one
 *   `channel.resumed`.
 * - `channel.silent` events read back from the store (another process, or this one before a
 *   restart) mark the silence as already reported, so it is not reported twice and its end
 *   still is.
 *
 * Memory is bounded per subject (a fixed ring of gaps); subjects are channels and numbers.
 */
import type { Provider } from '../events/types.js';
import type { WatchNotice } from '../events/watch-notice.js';
import type { EventArrival } from '../store/store.js';

/** Gaps kept per subject for the median. */
export const GAP_SAMPLES = 31;

export interface SilenceSettings {
  multiple: number;
  minimumGapMs: number;
  minMessages: number;
}

/**
 * What the tracker reads of a stored event: where and when it arrived, as
 * `store.events.arrivals` gives it (the watch never needs an event's body).
 */
export type WatchedEvent = Omit<EventArrival, 'seq'>;

/** A notice for one journal row of the channel it is about. */
export interface ChannelNotice {
  channel: string;
  notice: WatchNotice;
}

interface Subject {
  channel: string;
  provider: Provider;
  businessAccountId?: string;
  phoneNumberId?: string;
  displayPhoneNumber?: string;
  /** Epoch ms of the latest arrival. */
  last: number;
  messages: number;
  gaps: number[];
  /** The `last` whose silence was reported (silent now, until the next arrival). */
  reported: number | undefined;
}

function newSubject(event: WatchedEvent, isNumber: boolean, at: number): Subject {
  const subject: Subject = { channel: event.channel, provider: event.provider, last: at, messages: 1, gaps: [], reported: undefined };
  if (event.businessAccountId !== undefined) subject.businessAccountId = event.businessAccountId;
  if (isNumber && event.phoneNumberId !== undefined) subject.phoneNumberId = event.phoneNumberId;
  if (isNumber && event.displayPhoneNumber !== undefined) subject.displayPhoneNumber = event.displayPhoneNumber;
  return subject;
}

function isInbound(event: WatchedEvent): boolean {
  return event.type === 'message.received' || event.type === 'message.reaction';
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class SilenceTracker {
  private readonly subjects = new Map<string, Subject>();
  private readonly settings: SilenceSettings;

  constructor(settings: SilenceSettings) {
    this.settings = settings;
  }

  /** Subjects followed (channels and numbers). */
  get size(): number {
    return this.subjects.size;
  }

  /** The usual gap of a subject once it has enough messages, ms. */
  usualGap(subject: Subject): number | undefined {
    if (subject.messages < this.settings.minMessages || subject.gaps.length === 0) return undefined;
    return median(subject.gaps);
  }

  private threshold(usualGap: number): number {
    return Math.max(Math.round(usualGap * this.settings.multiple), this.settings.minimumGapMs);
  }

  /**
   * Takes one stored event, in `seq` order. Returns the `channel.resumed` notices an inbound
   * message ends a reported silence with.
   */
  observe(event: WatchedEvent): ChannelNotice[] {
    if (event.type === 'channel.silent') {
      this.markReported(event);
      return [];
    }
    if (!isInbound(event)) return [];
    const at = event.receivedAt;
    if (!Number.isFinite(at)) return [];
    const out: ChannelNotice[] = [];
    const channelNotice = this.arrive(`channel:${event.channel}`, event, false, at);
    if (channelNotice) out.push(channelNotice);
    const number = event.phoneNumberId ?? event.displayPhoneNumber;
    if (number !== undefined) {
      const numberNotice = this.arrive(`number:${event.channel}:${number}`, event, true, at);
      if (numberNotice) out.push(numberNotice);
    }
    return out;
  }

  /** The `channel.silent` notices due at `now` (epoch ms), each reported once. */
  check(now: number): ChannelNotice[] {
    const out: ChannelNotice[] = [];
    for (const subject of this.subjects.values()) {
      if (subject.reported === subject.last) continue;
      const usual = this.usualGap(subject);
      if (usual === undefined) continue;
      const threshold = this.threshold(usual);
      if (now - subject.last < threshold) continue;
      subject.reported = subject.last;
      out.push({ channel: subject.channel, notice: this.notice(subject, 'channel.silent', subject.last + threshold, usual, threshold) });
    }
    return out;
  }

  /**
   * One arrival for one subject (the channel, or a number on it). A subject takes the
   * event's keys when it is first seen (the number's keys only for a number); runs for every
   * inbound message, so it allocates nothing for a known subject.
   */
  private arrive(key: string, event: WatchedEvent, isNumber: boolean, at: number): ChannelNotice | undefined {
    const subject = this.subjects.get(key);
    if (subject === undefined) {
      this.subjects.set(key, newSubject(event, isNumber, at));
      return undefined;
    }
    // A late arrival (an older receive time than the latest) adds no gap.
    if (at <= subject.last) {
      subject.messages++;
      return undefined;
    }
    let notice: ChannelNotice | undefined;
    if (subject.reported === subject.last) {
      const usual = this.usualGap(subject);
      if (usual !== undefined) {
        const threshold = this.threshold(usual);
        notice = { channel: subject.channel, notice: { ...this.notice(subject, 'channel.resumed', at, usual, threshold), silentForMs: at - subject.last } };
      }
    }
    subject.gaps.push(at - subject.last);
    if (subject.gaps.length > GAP_SAMPLES) subject.gaps.shift();
    subject.messages++;
    subject.last = at;
    subject.reported = undefined;
    return notice;
  }

  private markReported(event: WatchedEvent): void {
    const lastInboundAt = event.lastInboundAt;
    const number = event.phoneNumberId ?? event.displayPhoneNumber;
    const subject = this.subjects.get(number === undefined ? `channel:${event.channel}` : `number:${event.channel}:${number}`);
    if (subject && lastInboundAt !== undefined && Date.parse(lastInboundAt) === subject.last) subject.reported = subject.last;
  }

  private notice(subject: Subject, type: WatchNotice['type'], occurredAt: number, usualGapMs: number, thresholdMs: number): WatchNotice {
    const notice: WatchNotice = {
      type,
      provider: subject.provider,
      occurredAt: iso(occurredAt),
      lastInboundAt: iso(subject.last),
      usualGapMs: Math.round(usualGapMs),
      thresholdMs,
    };
    if (subject.businessAccountId !== undefined) notice.businessAccountId = subject.businessAccountId;
    if (subject.phoneNumberId !== undefined) notice.phoneNumberId = subject.phoneNumberId;
    if (subject.displayPhoneNumber !== undefined) notice.displayPhoneNumber = subject.displayPhoneNumber;
    return notice;
  }
}
