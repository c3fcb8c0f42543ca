/**
 * Golden fixtures: every raw payload under test/fixtures/<provider>/ runs through
 * `normalize` and must give exactly the events in its `<name>.events.json`.
 *
 * Add a case by dropping in both files. To draft a golden for a new payload, run
 * with BLUETICK_WRITE_GOLDEN=1: it writes only the goldens that are missing, and the
 * draft must then be read line by line against the contract before it is kept.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNormalize } from '../src/cli/commands/normalize.js';
import { parseJsonText, stringifyJson } from '../src/events/json.js';
import { normalize, parseEventJson, serializeEvent, type NormalizeContext } from '../src/events/normalize.js';
import { EVENT_TYPES, OWN_EVENT_TYPES, type BluetickEvent } from '../src/events/types.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const PROVIDERS = ['meta', 'enablex'] as const;
const CTX: NormalizeContext = { channel: 'default', receivedAt: 1_700_000_000_000 };
const GOLDEN_SUFFIX = '.events.json';
const WRITE_MISSING = process.env.BLUETICK_WRITE_GOLDEN === '1';

interface Case {
  provider: (typeof PROVIDERS)[number];
  name: string;
  payloadPath: string;
  goldenPath: string;
}

function listCases(): Case[] {
  const cases: Case[] = [];
  for (const provider of PROVIDERS) {
    const dir = path.join(FIXTURES, provider);
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.json') || file.endsWith(GOLDEN_SUFFIX)) continue;
      const name = file.slice(0, -'.json'.length);
      cases.push({ provider, name, payloadPath: path.join(dir, file), goldenPath: path.join(dir, name + GOLDEN_SUFFIX) });
    }
  }
  return cases;
}

function readGolden(file: string): BluetickEvent[] {
  const value = parseJsonText(readFileSync(file, 'utf8'));
  if (!Array.isArray(value)) throw new Error(`${file} is not an array of events`);
  // Through parseEventJson so big integers come back exactly as serialized events do.
  return value.map((event) => parseEventJson(stringifyJson(event)));
}

function normalizeFixture(file: string): BluetickEvent[] {
  const result = normalize(readFileSync(file), CTX);
  if (!result.ok) throw new Error(`${file}: ${result.cause}`);
  return result.events;
}

const cases = listCases();

describe('golden fixtures', () => {
  it('has payloads for both providers', () => {
    expect(cases.filter((c) => c.provider === 'meta').length).toBeGreaterThan(30);
    expect(cases.filter((c) => c.provider === 'enablex').length).toBeGreaterThan(15);
  });

  it('has no golden file without its payload', () => {
    for (const provider of PROVIDERS) {
      const dir = path.join(FIXTURES, provider);
      for (const file of readdirSync(dir)) {
        if (!file.endsWith(GOLDEN_SUFFIX)) continue;
        expect(existsSync(path.join(dir, file.slice(0, -GOLDEN_SUFFIX.length) + '.json')), file).toBe(true);
      }
    }
  });

  for (const c of cases) {
    it(`${c.provider}/${c.name} gives the events of its golden file`, () => {
      const events = normalizeFixture(c.payloadPath);
      const roundTripped = events.map((event) => parseEventJson(serializeEvent(event)));
      if (!existsSync(c.goldenPath)) {
        if (!WRITE_MISSING) throw new Error(`missing ${c.goldenPath} (BLUETICK_WRITE_GOLDEN=1 drafts it)`);
        writeFileSync(c.goldenPath, stringifyJson(roundTripped, 2) + '\n');
      }
      expect(roundTripped).toEqual(readGolden(c.goldenPath));
      // The event objects themselves survive the trip unchanged: nothing undefined, no lost digits.
      expect(roundTripped).toEqual(events);
    });
  }

  it('gives the same ids when the same body is received again later, elsewhere', () => {
    for (const c of cases) {
      const first = normalizeFixture(c.payloadPath);
      const again = normalize(readFileSync(c.payloadPath), { channel: 'other', receivedAt: 1_800_000_000_000 });
      expect(again.ok && again.events.map((e) => e.id)).toEqual(first.map((e) => e.id));
    }
  });

  it('never gives two different items the same id across all fixtures', () => {
    const seen = new Map<string, string>();
    for (const c of cases) {
      for (const event of normalizeFixture(c.payloadPath)) {
        const body = serializeEvent({ ...event, channel: '', receivedAt: '' });
        const previous = seen.get(event.id);
        if (previous !== undefined) expect(body, `${c.provider}/${c.name} ${event.id}`).toBe(previous);
        seen.set(event.id, body);
      }
    }
  });
});

// ---------------------------------------------------------------------------
// `bluetick normalize`: the same contract from the command line.

function streams(input?: string) {
  const stdin = new PassThrough();
  stdin.end(input ?? '');
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  return { stdin, stdout, stderr, out: () => out, err: () => err };
}

describe('runNormalize', () => {
  const batch = path.join(FIXTURES, 'meta', 'batch-entries-changes-40-statuses.json');

  it('prints one NDJSON line per event of a file, matching the golden events', async () => {
    const io = streams();
    const code = await runNormalize({ file: batch, receivedAt: '2023-11-14T22:13:20.000Z', ...io });
    expect(code).toBe(0);
    expect(io.err()).toBe('');
    const lines = io.out().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => parseEventJson(line))).toEqual(readGolden(batch.replace(/\.json$/, GOLDEN_SUFFIX)));
  });

  it('reads the body from stdin when no file is given, with channel and receivedAt options', async () => {
    const body = readFileSync(path.join(FIXTURES, 'enablex', 'text.json'), 'utf8');
    const io = streams(body);
    const code = await runNormalize({ channel: 'support', receivedAt: '1700000000000', ...io });
    expect(code).toBe(0);
    const [event, ...rest] = io.out().trimEnd().split('\n').map((line) => parseEventJson(line));
    expect(rest).toEqual([]);
    expect(event).toMatchObject({ type: 'message.received', channel: 'support', receivedAt: '2023-11-14T22:13:20.000Z' });
  });

  it('keeps template ids beyond 2^53 as exact digits in its output', async () => {
    const io = streams();
    await runNormalize({ file: path.join(FIXTURES, 'meta', 'template-approved.json'), receivedAt: '1700000000000', ...io });
    expect(io.out()).toContain('"templateId":"9007199254740993123"');
    expect(io.out()).toContain('"message_template_id":9007199254740993123');
  });

  it('exits 2 with one line on stderr for a body that is not JSON', async () => {
    const io = streams('hello');
    expect(await runNormalize(io)).toBe(2);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/^bluetick normalize: stdin: body is not valid JSON: [^\n]*\n$/);
  });

  it('exits 2 for JSON that is not an object', async () => {
    const io = streams('[1,2]');
    expect(await runNormalize(io)).toBe(2);
    expect(io.err()).toBe('bluetick normalize: stdin: body is JSON but not an object (array)\n');
  });

  it('exits 1 with one line on stderr when the file cannot be read', async () => {
    const io = streams();
    const missing = path.join(FIXTURES, 'does-not-exist.json');
    expect(await runNormalize({ file: missing, ...io })).toBe(1);
    expect(io.err()).toMatch(/^bluetick normalize: cannot read .*does-not-exist\.json: ENOENT[^\n]*\n$/);
  });

  it('exits 2 for a receivedAt that is not a time', async () => {
    const io = streams('{}');
    expect(await runNormalize({ receivedAt: 'yesterday', ...io })).toBe(2);
    expect(io.err()).toMatch(/^bluetick normalize: --received-at is not an ISO-8601 time/);
  });
});

// ---------------------------------------------------------------------------
// Contract v2 coverage: every typed field and every lifted key has a golden fixture,
// and every fixture that shows them names the page its payload shape comes from.

const LEGACY_TYPES = new Set(['message.received', 'message.reaction', 'message.status', 'template.status', 'template.quality', 'template.category', 'unknown']);
const V2_KEYS = [
  'field', 'to', 'userId', 'username', 'pricingModel', 'pricingCategory', 'pricingType', 'billable', 'conversationId', 'conversationOrigin',
  'conversationExpiresAt', 'bizOpaqueCallbackData', 'ctwaClid', 'referralSourceId', 'referralSourceType', 'flowToken', 'targetMessageId',
  'errorCodes', 'latitude', 'longitude', 'currentLimit', 'oldLimit',
] as const;
/** Keys that every Meta event now has; they alone do not make a fixture a contract-v2 case. */
const EVERYWHERE = new Set(['field']);
/** Keys those types carried before contract v2. */
const LEGACY_KEYS: Record<string, readonly string[]> = { 'message.reaction': ['targetMessageId'], 'message.status': ['errorCodes'] };
const isV2Key = (event: BluetickEvent, key: string) => key in event && !EVERYWHERE.has(key) && !(LEGACY_KEYS[event.type] ?? []).includes(key);

interface Source {
  source: string;
  also?: string;
  note?: string;
}

describe('contract v2 fixtures', () => {
  const sources = JSON.parse(readFileSync(path.join(FIXTURES, 'sources.json'), 'utf8')) as Record<string, Source | string>;
  const goldens = () => cases.map((c) => ({ c, events: readGolden(c.goldenPath) }));

  it('has a golden fixture for every event type', () => {
    const seen = new Set(goldens().flatMap((g) => g.events.map((e) => e.type)));
    // bluetick's own events come from no payload (src/watch/silence.test.ts covers them).
    expect(EVENT_TYPES.filter((t) => !seen.has(t) && !OWN_EVENT_TYPES.includes(t))).toEqual([]);
  });

  it('has a golden fixture for every key of contract v2', () => {
    const seen = new Set(goldens().flatMap((g) => g.events.flatMap((e) => Object.keys(e))));
    expect(V2_KEYS.filter((k) => !seen.has(k))).toEqual([]);
  });

  it('names a source page for every fixture of a new type or key', () => {
    const missing = goldens()
      .filter(({ events }) => events.length === 0 || events.some((e) => !LEGACY_TYPES.has(e.type) || V2_KEYS.some((k) => isV2Key(e, k))))
      .map(({ c }) => `${c.provider}/${c.name}`)
      .filter((name) => sources[name] === undefined);
    expect(missing).toEqual([]);
  });

  it('cites https pages, for fixtures that exist', () => {
    for (const [name, entry] of Object.entries(sources)) {
      if (name === '_about') continue;
      expect(existsSync(path.join(FIXTURES, `${name}.json`)), name).toBe(true);
      const source = entry as Source;
      expect(source.source, name).toMatch(/^https:\/\//);
      if (source.also !== undefined) expect(source.also, name).toMatch(/^https:\/\//);
    }
  });

  it('gives no event for an empty batch', () => {
    for (const name of ['meta/empty-entry', 'meta/empty-changes', 'meta/empty-messages', 'enablex/empty-batch']) {
      expect(normalizeFixture(path.join(FIXTURES, `${name}.json`)), name).toEqual([]);
    }
  });
});
