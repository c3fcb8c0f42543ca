/**
 * @module store/postgres/notify
 *
 * Cross-process wake-ups over LISTEN/NOTIFY. A notification carries no data that matters:
 * it only says "look now", and every reader still finds its work with a query. So:
 *
 * - {@link Notifier} sends after a commit, off the request path, as a statement of its own:
 *   a transaction that notifies takes a database-wide lock at commit, so notifying inside
 *   every ingest commit would serialize the commits of every process. It coalesces: while
 *   one NOTIFY for a channel is on the wire, or less than `minIntervalMs` after the last one,
 *   further pokes collapse into one more afterwards. A burst of commits costs a few
 *   notifications, and none that committed is left unseen.
 * - {@link Listener} holds ONE dedicated connection (outside the pool: a LISTEN lives on a
 *   session) for all channels. When it breaks it reconnects with back-off and then wakes
 *   every subscriber once, because notifications sent while it was away are lost. Readers
 *   keep a slow poll as well, so a lost connection delays work, never loses it.
 */
import pg from 'pg';
import { ident } from './connection.js';
import { CHANNEL_NAMES, type ChannelName, type PostgresLocation } from './url.js';

type Send = (channel: string, payload: string) => Promise<unknown>;

export class Notifier {
  private readonly state = new Map<ChannelName, 'sending' | 'again'>();
  private readonly payloads = new Map<ChannelName, string>();
  private readonly channels: Record<ChannelName, string>;
  private readonly send: Send;
  private readonly onError: (err: unknown) => void;
  private readonly minIntervalMs: number;
  private idleWaiters: Array<() => void> = [];

  constructor(channels: Record<ChannelName, string>, send: Send, onError: (err: unknown) => void, minIntervalMs = 20) {
    this.channels = channels;
    this.send = send;
    this.onError = onError;
    this.minIntervalMs = minIntervalMs;
  }

  /** Wake every listener of `channel` in every process (the latest payload wins in a burst). */
  poke(channel: ChannelName, payload = ''): void {
    this.payloads.set(channel, payload);
    if (this.state.has(channel)) {
      this.state.set(channel, 'again');
      return;
    }
    this.state.set(channel, 'sending');
    this.fire(channel);
  }

  /** Resolves once no NOTIFY is on the wire or waiting for its turn (at once if none is). */
  idle(): Promise<void> {
    if (this.state.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private fire(channel: ChannelName): void {
    const started = performance.now();
    const payload = this.payloads.get(channel) ?? '';
    this.send(this.channels[channel], payload)
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        if (this.state.get(channel) !== 'again') {
          this.state.delete(channel);
          if (this.state.size === 0 && this.idleWaiters.length > 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
          return;
        }
        this.state.set(channel, 'sending');
        const wait = this.minIntervalMs - (performance.now() - started);
        if (wait <= 0) this.fire(channel);
        else setTimeout(() => this.fire(channel), wait).unref();
      });
  }
}

export type NotificationListener = (payload: string) => void;

export class Listener {
  private readonly subscribers = new Map<ChannelName, Set<NotificationListener>>();
  private readonly byPgChannel: Map<string, ChannelName>;
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private readonly location: PostgresLocation;
  private readonly onError: (err: unknown) => void;

  constructor(location: PostgresLocation, onError: (err: unknown) => void) {
    this.location = location;
    this.onError = onError;
    this.byPgChannel = new Map(CHANNEL_NAMES.map((c) => [location.channels[c], c]));
  }

  /** Adds a subscriber; connects on the first one. Returns the unsubscribe function. */
  subscribe(channel: ChannelName, listener: NotificationListener): () => void {
    let set = this.subscribers.get(channel);
    if (!set) this.subscribers.set(channel, (set = new Set()));
    set.add(listener);
    if (!this.closed && !this.client && !this.connecting && !this.retryTimer) void this.connect();
    return () => {
      set.delete(listener);
    };
  }

  /** Resolves once the connection listens (for tests and orderly start-up). */
  async ready(): Promise<void> {
    await this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    this.connecting = (async () => {
      const client = new pg.Client({
        connectionString: this.location.connectionString,
        keepAlive: true,
        connectionTimeoutMillis: 5_000,
        fallback_application_name: 'bluetick-listen',
      });
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client, undefined));
      client.on('notification', (msg) => {
        const channel = this.byPgChannel.get(msg.channel);
        if (channel) this.dispatch(channel, msg.payload ?? '');
      });
      try {
        await client.connect();
        for (const c of CHANNEL_NAMES) await client.query(`LISTEN ${ident(this.location.channels[c])}`);
      } catch (err) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        this.onError(err);
        this.scheduleRetry();
        return;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      const wasDown = this.failures > 0;
      this.failures = 0;
      // Whatever was notified while this connection was away is lost: look once now.
      if (wasDown) for (const c of CHANNEL_NAMES) this.dispatch(c, '');
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private lost(client: pg.Client, err: Error | undefined): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('notification');
    if (this.closed) return;
    if (err) this.onError(err);
    void client.end().catch(() => undefined);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.failures++;
    const wait = Math.min(30_000, 250 * 2 ** Math.min(7, this.failures - 1));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, wait);
    this.retryTimer.unref();
  }

  private dispatch(channel: ChannelName, payload: string): void {
    const set = this.subscribers.get(channel);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
