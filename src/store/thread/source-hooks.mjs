// Module hooks that let a worker thread run bluetick's TypeScript sources directly.
//
// Used only when the code runs from `src/` (the test runner executes TypeScript in its own
// module system, but a `new Worker()` is plain Node, and Node 20 cannot strip types):
// `spawnThread` in `channel.ts` registers these hooks inside the worker before importing
// the thread's module. The built package never loads this file; `dist/` is plain JavaScript.
//
// - resolve: a relative `./x.js` import from a `.ts` file means `./x.ts` when that exists
//   (the NodeNext spelling used throughout the sources).
// - load: `.ts` files are transpiled one by one with the `typescript` package (a dev
//   dependency), types erased, no type checking. Results are cached on disk under
//   `node_modules/.cache/bluetick-ts/`, keyed by a hash of the source, so a worker started
//   again (every test server starts one) does not pay for loading the compiler.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const CACHE_VERSION = '1';
let ts;
let cacheDir;

function cacheFolder() {
  if (cacheDir !== undefined) return cacheDir;
  try {
    // <project>/node_modules/typescript/package.json -> <project>/node_modules/.cache/bluetick-ts
    const nodeModules = dirname(dirname(require.resolve('typescript/package.json')));
    cacheDir = join(nodeModules, '.cache', 'bluetick-ts');
    mkdirSync(cacheDir, { recursive: true });
  } catch {
    cacheDir = null;
  }
  return cacheDir;
}

function transpile(file, source) {
  ts ??= require('typescript');
  const out = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  return out.outputText;
}

function compiled(file) {
  const source = readFileSync(file, 'utf8');
  const folder = cacheFolder();
  if (!folder) return transpile(file, source);
  const key = createHash('sha256').update(CACHE_VERSION).update('\0').update(file).update('\0').update(source).digest('hex');
  const cached = join(folder, `${key}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    // Not cached yet.
  }
  const output = transpile(file, source);
  try {
    // Write then rename: several processes may compile the same file at once.
    const tmp = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(tmp, output);
    renameSync(tmp, cached);
  } catch {
    // A cache we cannot write is only slower.
  }
  return output;
}

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (
    parent !== undefined &&
    parent.startsWith('file:') &&
    parent.endsWith('.ts') &&
    (specifier.startsWith('./') || specifier.startsWith('../')) &&
    specifier.endsWith('.js')
  ) {
    const candidate = new URL(`${specifier.slice(0, -3)}.ts`, parent);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, format: 'module', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  return { format: 'module', source: compiled(file), shortCircuit: true };
}
