/**
 * Every export of the package root (`src/index.ts`) is named in docs/reference/library.md, and
 * the root exports no CLI internals.
 *
 * The names are read from the export lists of `src/index.ts` (type exports included, which do
 * not exist at run time) and checked against the module's run-time exports, so an export added
 * in any form is seen.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';

const INDEX = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
const DOC = readFileSync(new URL('../docs/reference/library.md', import.meta.url), 'utf8');

/** Names exported by `export { a, b as c } from` / `export type { ... }` lists and `export function|const|class|interface|type` declarations. */
function declaredExports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  const names = new Set<string>();
  for (const list of code.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of list[1]!.split(',')) {
      const item = part.trim().replace(/^type\s+/, '');
      if (item === '') continue;
      const alias = /\sas\s+(\w+)$/.exec(item);
      names.add(alias ? alias[1]! : item);
    }
  }
  for (const decl of code.matchAll(/export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|class|interface|type|enum)\s+(\w+)/g)) names.add(decl[1]!);
  return [...names].sort();
}

describe('the library API and its reference page', () => {
  const names = declaredExports(INDEX);

  it('reads every run-time export from the export lists (no `export *` hides one)', () => {
    expect(names.length).toBeGreaterThan(50);
    const unseen = Object.keys(root).filter((name) => !names.includes(name));
    expect(unseen, `exported from src/index.ts in a form this test cannot read; list them by name: ${unseen.join(', ')}`).toEqual([]);
  });

  it('names every export in docs/reference/library.md', () => {
    const missing = names.filter((name) => !new RegExp('`' + name + '(?:[`(<])').test(DOC));
    expect(missing, `exports of src/index.ts not described in docs/reference/library.md (add them as \`Name\` to a table there): ${missing.join(', ')}`).toEqual([]);
  });

  it('exports no CLI internals', () => {
    for (const internal of ['ExitError', 'CliFlags', 'launchServer', 'internalsOf', 'ServerInternals', 'exitCodeFor']) expect(names).not.toContain(internal);
  });
});
