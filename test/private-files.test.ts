/**
 * Files bluetick creates in its data folder: private (0600), whole after a power cut, and a
 * generated admin token that a power cut emptied is replaced instead of blocking the start.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveAdminToken } from '../src/api/admin-token.js';
import { writePrivateFileDurably } from '../src/private-files.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bluetick-private-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('writePrivateFileDurably', () => {
  it('creates the file 0600 with exactly the data and leaves no temporary file', () => {
    const file = join(dir, 'secret');
    writePrivateFileDurably(file, 'one\n', { exclusive: true });
    expect(readFileSync(file, 'utf8')).toBe('one\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['secret']);
  });

  it('refuses to replace an existing file when exclusive, and replaces it otherwise', () => {
    const file = join(dir, 'secret');
    writePrivateFileDurably(file, 'first', { exclusive: true });
    expect(() => writePrivateFileDurably(file, 'second', { exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(file, 'utf8')).toBe('first');
    writePrivateFileDurably(file, 'third', { exclusive: false });
    expect(readFileSync(file, 'utf8')).toBe('third');
    expect(readdirSync(dir)).toEqual(['secret']);
  });
});

describe('the generated admin token', () => {
  it('is written once and read back by later starts', () => {
    const first = resolveAdminToken(undefined, dir);
    expect(first.source).toBe('generated');
    expect(first.token).toMatch(/^btk_[A-Za-z0-9_-]{43}$/);
    const again = resolveAdminToken(undefined, dir);
    expect(again).toEqual({ token: first.token, source: 'file', file: join(dir, 'admin-token') });
  });

  it('replaces an empty token file, as a power cut leaves one, instead of refusing to start', () => {
    writeFileSync(join(dir, 'admin-token'), '', { mode: 0o600 });
    const info = resolveAdminToken(undefined, dir);
    expect(info.source).toBe('generated');
    expect(readFileSync(join(dir, 'admin-token'), 'utf8').trim()).toBe(info.token);
    expect(resolveAdminToken(undefined, dir).token).toBe(info.token);
  });
});
