/**
 * docs/configuration.md and schema/bluetick.config.schema.json against the code: every key of
 * the zod config schema and every environment variable read in `src/` must be documented,
 * every top-level key must have its own section, and the committed JSON Schema must be what
 * `npm run config-schema` would write now.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA_FILE, configJsonSchema, renderConfigJsonSchema } from '../src/config/json-schema.js';
import { ENV } from '../src/config/resolve.js';
import { ROOT } from './helpers/dist.js';

const DOC = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');

type Node = { properties?: Record<string, Node>; items?: Node; anyOf?: Node[]; oneOf?: Node[]; allOf?: Node[] };

/** Every key path of the JSON Schema: `server.limits.bodyBytes`, `channels[].name`, ... */
function keyPaths(node: Node, prefix: string, out: Set<string>): Set<string> {
  for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) keyPaths(branch, prefix, out);
  if (node.items) keyPaths(node.items, `${prefix}[]`, out);
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    out.add(path);
    keyPaths(child, path, out);
  }
  return out;
}

/** `.ts`/`.tsx` files under a folder, tests left out. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !/\.test(-d)?\.ts$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

const documented = (name: string): boolean => DOC.includes(`\`${name}\``);

describe('docs/configuration.md', () => {
  const schema = configJsonSchema() as Node;

  it('documents every key of the config schema', () => {
    const paths = [...keyPaths(schema, '', new Set())];
    expect(paths.length).toBeGreaterThan(80);
    expect(paths.filter((p) => !documented(p))).toEqual([]);
  });

  it('has one section per top-level key', () => {
    const headings = new Set([...DOC.matchAll(/^## (\S+)$/gm)].map((m) => m[1]));
    const topLevel = Object.keys(schema.properties ?? {});
    expect(topLevel).toContain('server');
    expect(topLevel.filter((k) => !headings.has(k))).toEqual([]);
  });

  it('documents every environment variable read in src/ and the console', () => {
    const names = new Set<string>(Object.values(ENV));
    for (const file of [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'console', 'src'))]) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bBLUETICK_[A-Z0-9]+(?:_[A-Z0-9]+)*\b/g)) names.add(m[0]);
    }
    expect(names).toContain('BLUETICK_BASIC_AUTH');
    expect(names).toContain('BLUETICK_URL');
    expect([...names].filter((n) => !documented(n))).toEqual([]);
  });

  it('fails for a key or a variable it does not mention (the check can fail)', () => {
    expect(documented('server.limits.bodyBytes')).toBe(true);
    expect(documented('server.limits.noSuchKey')).toBe(false);
    expect(documented('BLUETICK_NO_SUCH_VARIABLE')).toBe(false);
  });
});

describe('schema/bluetick.config.schema.json', () => {
  it('is what `npm run config-schema` writes from the zod schema now', () => {
    const committed = readFileSync(join(ROOT, CONFIG_SCHEMA_FILE), 'utf8');
    expect(committed, 'run `npm run config-schema` and commit the file').toBe(renderConfigJsonSchema());
  });

  it('is shipped in the package', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[]; scripts: Record<string, string> };
    expect(manifest.files).toContain('schema');
    expect(manifest.scripts['config-schema']).toContain('scripts/config-schema.js');
  });

  it('describes the file as written: strict objects, defaults, and one-or-many keys', () => {
    const s = configJsonSchema() as { additionalProperties?: boolean; properties: Record<string, any> };
    expect(s.additionalProperties).toBe(false);
    expect(s.properties.server.properties.port).toMatchObject({ type: 'integer', default: 8080 });
    expect(s.properties.routes.items.properties.match.properties.channel.anyOf).toHaveLength(2);
  });
});
