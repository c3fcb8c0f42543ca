/**
 * The error catalog (`ERROR_CODES` in src/errors.ts) and docs/reference/errors.md list the same
 * codes, each doc entry says something, and every default message says what to do.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BluetickError, ERROR_CODES, ExitError, type ErrorCode } from './errors.js';

const DOC = 'docs/reference/errors.md';
const doc = readFileSync(new URL(`../${DOC}`, import.meta.url), 'utf8');

/** `## BT_ERR_X` headings, each with the text up to the next heading. */
function documented(): Map<string, string> {
  const out = new Map<string, string>();
  for (const section of doc.split(/^## /m).slice(1)) {
    const [heading = '', ...body] = section.split('\n');
    out.set(heading.trim(), body.join('\n').trim());
  }
  return out;
}

describe('the error catalog and its reference page', () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  const entries = documented();

  it('documents every code of the catalog', () => {
    const missing = codes.filter((code) => !entries.has(code));
    expect(missing, `add a "## <code>" section to ${DOC} for each of these codes (what it means, what to do): ${missing.join(', ')}`).toEqual([]);
  });

  it('documents no code the catalog does not have', () => {
    const extra = [...entries.keys()].filter((heading) => !(heading in ERROR_CODES));
    expect(extra, `sections of ${DOC} with no code in src/errors.ts (remove them or add the code): ${extra.join(', ')}`).toEqual([]);
  });

  it('says something under every code, with the HTTP status where the code has one', () => {
    for (const code of codes) {
      const text = entries.get(code) ?? '';
      expect(text.length, `${DOC}: the ${code} section is empty`).toBeGreaterThan(40);
      const status = ERROR_CODES[code].status;
      if (status !== undefined) expect(text, `${DOC}: the ${code} section should name HTTP ${status}`).toContain(`HTTP ${status}`);
    }
  });

  it('names codes as BT_ERR_<AREA>_<WHAT>, each default message saying what to do', () => {
    for (const code of codes) {
      expect(code).toMatch(/^BT_ERR_[A-Z]+_[A-Z_]+$/);
      // "what happened; what to do" — or, for the two a handler throws, what happens next.
      expect(ERROR_CODES[code].message, code).toMatch(/;|goes to|retried/);
    }
  });

  it('gives every error its code and status, CLI exits included', () => {
    const err = new BluetickError('BT_ERR_API_NOT_FOUND', 'no delivery 7');
    expect(err).toMatchObject({ code: 'BT_ERR_API_NOT_FOUND', status: 404, message: 'no delivery 7' });
    expect(new BluetickError('BT_ERR_CLI_USAGE').message).toBe(ERROR_CODES.BT_ERR_CLI_USAGE.message);
    expect(new ExitError(2, '--count: expected a positive integer')).toMatchObject({ code: 'BT_ERR_CLI_USAGE', exitCode: 2 });
    expect(new ExitError(1, 'cannot reach bluetick')).toMatchObject({ code: 'BT_ERR_CLI_FAILED', exitCode: 1 });
    expect(new ExitError(1, 'x')).toBeInstanceOf(BluetickError);
  });
});
