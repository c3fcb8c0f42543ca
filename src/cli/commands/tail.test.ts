/**
 * `bluetick tail`'s line for location and shared-contact messages: the golden events of the
 * Meta fixtures (what the normalizer produces for those bodies) keep their details on the line.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BluetickEvent } from '../../events/types.js';
import { formatEvent } from './tail.js';

function golden(name: string): BluetickEvent & Record<string, unknown> {
  const events = JSON.parse(readFileSync(new URL(`../../../test/fixtures/meta/${name}.events.json`, import.meta.url), 'utf8')) as Array<BluetickEvent & Record<string, unknown>>;
  return events[0]!;
}

describe('tail lines', () => {
  it('show a location with its name, address and coordinates', () => {
    const line = formatEvent({ seq: 7, event: golden('location') });
    expect(line).toContain('16315551181 (Kerry Fisher) -> 106540352242922  [location] "Main office, 1 Hacker Way, Menlo Park, CA 94025" @37.48331,-122.14898  wamid.');
  });

  it('show a shared contact with its names', () => {
    const line = formatEvent({ seq: 8, event: golden('contacts') });
    expect(line).toMatch(/\[contacts\] "Sam Ortiz" {2}wamid\./);
  });

  it('leave the coordinates out when a location has none', () => {
    const { latitude: _lat, longitude: _lng, ...bare } = golden('location');
    expect(formatEvent({ seq: 9, event: bare as BluetickEvent & Record<string, unknown> })).not.toContain('@');
  });
});
