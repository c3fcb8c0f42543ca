/**
 * @module version
 *
 * bluetick's own version, read from `package.json` (the CLI's `--version`, the OpenAPI
 * document, the trigger's user agent). `0.0.0` when the file cannot be read.
 */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
