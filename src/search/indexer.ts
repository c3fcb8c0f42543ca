/**
 * @module search/indexer
 *
 * Keeps the search index following the events table: woken after each pipeline batch (and
 * by other processes' events on PostgreSQL), it calls `Store.search.index` in batches until
 * it has caught up, one call at a time. A failure is logged and tried again at the next
 * wake-up or poll; search answers meanwhile from what is indexed. The pipeline's transaction
 * indexes its own events while the index is caught up, so a call finds work only after the
 * index fell behind (events recorded before it existed, or while the indexer held its lock
 * on PostgreSQL).
 */
import type { Store } from '../store/store.js';

const BATCH = 1_000;
const POLL_MS = 5_000;

export class SearchIndexer {
  private readonly store: Pick<Store, 'search'>;
  private readonly onError: (err: unknown) => void;
  private running = false;
  private again = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(store: Pick<Store, 'search'>, onError: (err: unknown) => void) {
    this.store = store;
    this.onError = onError;
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
    this.wake();
  }

  /** Index what has been recorded since the last run (coalesced while a run is under way). */
  wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain()
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.running = false;
        if (this.again && !this.closed) {
          this.again = false;
          this.wake();
        }
      });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private async drain(): Promise<void> {
    for (;;) {
      this.again = false;
      const { indexed } = await this.store.search.index(BATCH);
      if (indexed < BATCH || this.closed) return;
    }
  }
}
