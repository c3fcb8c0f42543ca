/**
 * Builds the web console into `dist/console/` (served by `src/api/routes/console.ts`).
 * Preact's JSX runtime is wired through Oxc, Vite's own transformer: no plugin needed.
 */
import { defineConfig } from 'vite';

const here = new URL('.', import.meta.url).pathname;

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: new URL('../dist/console/', import.meta.url).pathname,
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // A CSP without inline scripts: never inline the module-preload helper or small assets as scripts.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
