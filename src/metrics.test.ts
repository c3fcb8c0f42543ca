import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

describe('delivery metrics', () => {
  it('adds the attempts and finished deliveries counted between scrapes to their counters, none twice', async () => {
    const { registry, delivery } = createMetrics({ processMetrics: false });
    const rx = delivery.attemptTally('rx');
    rx.success += 3;
    rx.retry++;
    delivery.finishedTally('all').succeeded += 3;
    let text = await registry.metrics();
    expect(text).toMatch(/bluetick_delivery_attempts_total\{sink="rx",outcome="success"\} 3\n/);
    expect(text).toMatch(/bluetick_delivery_attempts_total\{sink="rx",outcome="retry"\} 1\n/);
    expect(text).not.toMatch(/outcome="fail"/);
    expect(text).toMatch(/bluetick_deliveries_finished_total\{route="all",state="succeeded"\} 3\n/);
    // The same tally keeps counting; a scrape adds only what came since the last one.
    expect(delivery.attemptTally('rx')).toBe(rx);
    rx.success++;
    delivery.finishedTally('all').dead++;
    text = await registry.metrics();
    expect(text).toMatch(/bluetick_delivery_attempts_total\{sink="rx",outcome="success"\} 4\n/);
    expect(text).toMatch(/bluetick_delivery_attempts_total\{sink="rx",outcome="retry"\} 1\n/);
    expect(text).toMatch(/bluetick_deliveries_finished_total\{route="all",state="dead"\} 1\n/);
    expect(text).toMatch(/bluetick_deliveries_finished_total\{route="all",state="succeeded"\} 3\n/);
    text = await registry.metrics();
    expect(text).toMatch(/bluetick_delivery_attempts_total\{sink="rx",outcome="success"\} 4\n/);
  });
});
