/**
 * The `engines` field says which Node versions bluetick runs on, and it must be true of every
 * installed dependency (runtime and development, nested ones included): each version the
 * field admits must be admitted by each dependency's own `engines.node`. Where a dependency
 * demanded a newer Node than its job needs, package.json pins a version that does not
 * (`overrides`), so this stays honest instead of loosened.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/dist.js';

const semver = createRequire(import.meta.url)('semver') as {
  subset(sub: string, dom: string): boolean;
  satisfies(version: string, range: string): boolean;
  validRange(range: string): string | null;
};

interface Installed {
  path: string;
  version: string;
  node: string;
}

/** Every package under node_modules (nested too) that declares `engines.node`. */
function installed(dir: string, out: Installed[] = []): Installed[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      installed(path, out);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const m = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string; engines?: { node?: unknown } };
      if (typeof m.engines?.node === 'string') out.push({ path: path.slice(ROOT.length + 1), version: m.version ?? '?', node: m.engines.node });
    }
    if (existsSync(join(path, 'node_modules'))) installed(join(path, 'node_modules'), out);
  }
  return out;
}

describe('the engines field', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const ours = manifest.engines.node;

  it('is a valid range that admits the Node running these tests', () => {
    expect(semver.validRange(ours)).not.toBeNull();
    expect(semver.satisfies(process.version, ours)).toBe(true);
  });

  it("admits no Node version that an installed dependency's engines range refuses", () => {
    const all = installed(join(ROOT, 'node_modules'));
    expect(all.length).toBeGreaterThan(50);
    const refused = all.filter((p) => semver.validRange(p.node) !== null && !semver.subset(ours, p.node));
    expect(refused.map((p) => `${p.path}@${p.version} wants node ${p.node}`)).toEqual([]);
  });

  it('would catch a dependency that needs a newer Node (the check can fail)', () => {
    expect(semver.subset(ours, '>=22')).toBe(false);
    expect(semver.subset(ours, '>= 22.x')).toBe(false);
    expect(semver.subset(ours, '>=18')).toBe(true);
  });
});
