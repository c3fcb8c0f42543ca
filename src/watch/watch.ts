/**
 * @module watch/watch
 *
 * The shell of the silence watch (`watch.silence` in the config): it tails the events table
 * for inbound messages (and `channel.silent` events, whoever wrote them) as arrivals
 * (`store.events.arrivals`: the few keys it needs, no event body parsed), feeds them to the
 * pure {@link SilenceTracker} with the time from its clock, and writes each notice as a
 * journal row (`verifiedBy: "bluetick"`), which the pipeline turns into a `channel.silent` or
 * `channel.resumed` event: routes, handlers, the projections and `/api/stream` see it like
 * any event. Reading the shared events table (not this process's pipeline) keeps it right
 * when several processes share one PostgreSQL store; their notices share ids, so a silence
 * is recorded once.
 *
 * At start it reads the last day of inbound messages to learn each subject's usual gap.
 * `tick()` does one round (tests call it with an injected clock; the server also runs it on
 * a timer and when the pipeline records new events).
 */
import type { SilenceWatchSettings } from '../config/types.js';
import type { EventType } from '../events/types.js';
import { WATCH_VERIFIED_BY, watchNoticeBody } from '../events/watch-notice.js';
import type { JournalInput, Store } from '../store/store.js';
import { SilenceTracker, type ChannelNotice } from './silence.js';

/** How far back the start reads inbound messages to learn the usual gaps. */
export const SEED_WINDOW_MS = 24 * 3_600_000;

const WATCHED_TYPES: EventType[] = ['message.received', 'message.reaction', 'channel.silent'];
const PAGE = 500;
/** A wake-up waits this long at most, so a busy pipeline costs one round a second, not one per batch. */
const WAKE_DELAY_MS = 1_000;

export interface SilenceWatchOptions {
  store: Store;
  settings: SilenceWatchSettings;
  /** Writes one notice row; the server passes its journal writer (group commit, then the pipeline wakes). */
  append: (row: JournalInput) => Promise<unknown>;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
  /** How often to look without being woken. Default minimumGapMs / 10, from 1 s to 60 s. */
  everyMs?: number;
  onError?: (err: unknown) => void;
}

export class SilenceWatch {
  private readonly store: Store;
  private readonly append: SilenceWatchOptions['append'];
  private readonly now: () => number;
  private readonly everyMs: number;
  private readonly onError: ((err: unknown) => void) | undefined;
  private readonly tracker: SilenceTracker;
  private cursor: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private again = false;
  private closed = false;
  private wakePending = false;

  constructor(opts: SilenceWatchOptions) {
    this.store = opts.store;
    this.append = opts.append;
    this.now = opts.now ?? Date.now;
    this.everyMs = opts.everyMs ?? Math.min(60_000, Math.max(1_000, Math.floor(opts.settings.minimumGapMs / 10)));
    this.onError = opts.onError;
    this.tracker = new SilenceTracker(opts.settings);
  }

  /** Learns the usual gaps from the last day, then looks every `everyMs`. */
  start(): void {
    this.schedule(0);
  }

  /** New events may have been recorded: look within a second (wake-ups in between share one round). */
  wake(): void {
    if (this.closed || this.wakePending) return;
    this.wakePending = true;
    this.schedule(Math.min(WAKE_DELAY_MS, this.everyMs));
  }

  /**
   * One round: read the events recorded since the last round, then write the notices due
   * now. Returns the number of notices written. Rounds never overlap.
   */
  tick(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = this.round().finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.schedule(0);
      }
    });
    this.running = run;
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.wakePending = false;
      this.tick()
        .catch((err: unknown) => this.onError?.(err))
        .finally(() => {
          if (!this.closed && this.timer === undefined) this.schedule(this.everyMs);
        });
      this.timer = undefined;
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<number> {
    const notices: ChannelNotice[] = [];
    if (this.cursor === undefined) {
      const start = await this.store.events.lastSeq();
      await this.read({ since: this.now() - SEED_WINDOW_MS }, notices);
      this.cursor ??= start;
      // Silences that ended before the start were either reported already or never were.
      notices.length = 0;
    } else {
      await this.read({}, notices);
    }
    notices.push(...this.tracker.check(this.now()));
    for (const { channel, notice } of notices) {
      await this.append({
        channel,
        receivedAt: this.now(),
        headers: { 'content-type': 'application/json', 'user-agent': 'bluetick-silence-watch' },
        body: watchNoticeBody(notice),
        verifiedBy: WATCH_VERIFIED_BY,
      });
    }
    return notices.length;
  }

  /** Feeds every watched event after the cursor to the tracker. */
  private async read(range: { since?: number }, notices: ChannelNotice[]): Promise<void> {
    for (;;) {
      const page = await this.store.events.arrivals(
        { type: WATCHED_TYPES, ...range },
        this.cursor === undefined ? { limit: PAGE } : { after: this.cursor, limit: PAGE },
      );
      for (const arrival of page.items) {
        notices.push(...this.tracker.observe(arrival));
        this.cursor = arrival.seq;
      }
      if (page.next === undefined) break;
      // A long read (the day read at start) lets ingest have the event loop between pages.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
