import { describe, expect, it } from 'vitest';
import { watchNoticeEvent } from '../events/watch-notice.js';
import { arrivalOf } from '../store/rows.js';
import { SilenceTracker, type WatchedEvent } from './silence.js';

const T0 = Date.UTC(2026, 0, 1, 9);
const MIN = 60_000;
const settings = { multiple: 5, minimumGapMs: 10 * MIN, minMessages: 4 };

let n = 0;
/** An inbound message as the watch reads it from the store. */
function inbound(at: number, phone = 'P1', channel = 'main'): WatchedEvent {
  n++;
  return arrivalOf(n, {
    id: `e${n}`,
    type: 'message.received',
    provider: 'meta',
    channel,
    businessAccountId: 'WABA1',
    phoneNumberId: phone,
    messageId: `m${n}`,
    from: 'C1',
    kind: 'text',
    receivedAt: new Date(at).toISOString(),
    data: {},
  });
}

/** Messages every `gap` ms from T0. */
function feed(tracker: SilenceTracker, count: number, gap: number, phone?: string): number {
  let at = T0;
  for (let i = 0; i < count; i++) {
    at = T0 + i * gap;
    expect(tracker.observe(inbound(at, phone))).toEqual([]);
  }
  return at;
}

describe('SilenceTracker', () => {
  it('says nothing before a subject has had minMessages messages', () => {
    const tracker = new SilenceTracker(settings);
    const last = feed(tracker, 3, MIN);
    expect(tracker.check(last + 1000 * MIN)).toEqual([]);
  });

  it('reports silence once after multiple x the usual gap, for the channel and the number', () => {
    const tracker = new SilenceTracker(settings);
    const last = feed(tracker, 10, 3 * MIN); // usual gap 3 min, threshold 15 min
    expect(tracker.check(last + 15 * MIN - 1)).toEqual([]);
    const notices = tracker.check(last + 15 * MIN);
    expect(notices.map((x) => [x.channel, x.notice.type, x.notice.phoneNumberId])).toEqual([
      ['main', 'channel.silent', undefined],
      ['main', 'channel.silent', 'P1'],
    ]);
    expect(notices[0]!.notice).toMatchObject({
      lastInboundAt: new Date(last).toISOString(),
      usualGapMs: 3 * MIN,
      thresholdMs: 15 * MIN,
      occurredAt: new Date(last + 15 * MIN).toISOString(),
      businessAccountId: 'WABA1',
    });
    // Once per silence.
    expect(tracker.check(last + 60 * MIN)).toEqual([]);
  });

  it('never reports before the minimum gap, however short the usual gap', () => {
    const tracker = new SilenceTracker(settings);
    const last = feed(tracker, 10, 1000); // usual gap 1 s, x5 = 5 s, but at least 10 min
    expect(tracker.check(last + 10 * MIN - 1)).toEqual([]);
    expect(tracker.check(last + 10 * MIN)).toHaveLength(2);
  });

  it('reports the end of a silence with its length, and only after a reported one', () => {
    const tracker = new SilenceTracker(settings);
    const last = feed(tracker, 10, 3 * MIN);
    tracker.check(last + 20 * MIN);
    const resumed = tracker.observe(inbound(last + 40 * MIN));
    expect(resumed.map((x) => x.notice.type)).toEqual(['channel.resumed', 'channel.resumed']);
    expect(resumed[0]!.notice).toMatchObject({ silentForMs: 40 * MIN, lastInboundAt: new Date(last).toISOString(), occurredAt: new Date(last + 40 * MIN).toISOString() });
    // An ordinary message after an unreported gap resumes nothing.
    expect(tracker.observe(inbound(last + 41 * MIN))).toEqual([]);
  });

  it('keeps numbers apart: one silent number on a busy channel is reported alone', () => {
    const tracker = new SilenceTracker(settings);
    feed(tracker, 10, 3 * MIN, 'P2');
    // P1 keeps writing; P2 stops at T0 + 27 min.
    let at = T0 + 27 * MIN;
    for (let i = 0; i < 20; i++) {
      at += 3 * MIN;
      tracker.observe(inbound(at, 'P1'));
    }
    const notices = tracker.check(at);
    expect(notices.map((x) => x.notice.phoneNumberId)).toEqual(['P2']);
  });

  it('takes a channel.silent event read back from the store as already reported', () => {
    const tracker = new SilenceTracker(settings);
    const last = feed(tracker, 10, 3 * MIN);
    const first = new SilenceTracker(settings);
    feed(first, 10, 3 * MIN);
    const [channelNotice] = first.check(last + 20 * MIN);
    const payload = JSON.parse(JSON.stringify({ bluetick: channelNotice!.notice }));
    const event = watchNoticeEvent(payload, 'main', new Date(last + 20 * MIN).toISOString())!;
    expect(tracker.observe(arrivalOf(1, event))).toEqual([]);
    // The channel's silence is known; only the number's is still to report.
    expect(tracker.check(last + 20 * MIN).map((x) => x.notice.phoneNumberId)).toEqual(['P1']);
    expect(tracker.observe(inbound(last + 30 * MIN)).map((x) => x.notice.type)).toEqual(['channel.resumed', 'channel.resumed']);
  });
});

describe('watchNoticeEvent', () => {
  it('gives the same id for the same silence whenever it is noticed', () => {
    const notice = { type: 'channel.silent', provider: 'meta', occurredAt: '2026-01-01T09:30:00.000Z', lastInboundAt: '2026-01-01T09:00:00.000Z', usualGapMs: 1, thresholdMs: 2 };
    const a = watchNoticeEvent({ bluetick: notice }, 'main', '2026-01-01T09:31:00.000Z')!;
    const b = watchNoticeEvent({ bluetick: notice }, 'main', '2026-01-01T10:00:00.000Z')!;
    expect(a.id).toBe(b.id);
    expect(a).toMatchObject({ type: 'channel.silent', channel: 'main', lastInboundAt: '2026-01-01T09:00:00.000Z' });
    expect(watchNoticeEvent({ bluetick: { ...notice, type: 'channel.resumed' } }, 'main', a.receivedAt)!.id).not.toBe(a.id);
    expect(watchNoticeEvent({ bluetick: { type: 'channel.silent' } }, 'main', a.receivedAt)).toBeUndefined();
    expect(watchNoticeEvent({ entry: [] }, 'main', a.receivedAt)).toBeUndefined();
  });
});
