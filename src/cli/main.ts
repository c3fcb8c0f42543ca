/**
 * @module cli/main
 *
 * The `bluetick` command line. Parses argv, runs one command, and turns whatever it throws
 * into an exit code in ONE place:
 * - `BluetickError` (config, unsafe binding, ...) and `ExitError`: the message only, no stack;
 * - usage errors: commander has printed them; exit 2;
 * - anything else is a bug: the stack, and a request to report it.
 *
 * Importing this module runs the CLI; `bin/bluetick` does exactly that.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { BluetickError, ExitError } from '../errors.js';
import { runNormalize } from './commands/normalize.js';
import type { ServeCommandOptions } from './commands/serve.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Maps anything a command throws to an exit code, printing what the user needs to see. */
export function exitCodeFor(error: unknown, stderr: NodeJS.WritableStream): number {
  if (error instanceof CommanderError) {
    // Commander already printed the message (or the help / version text).
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof ExitError) {
    if (error.message) stderr.write(`bluetick: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof BluetickError) {
    stderr.write(`bluetick: ${error.message}\n`);
    return 1;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  stderr.write(`bluetick: unexpected error; this is a bug.\n${detail}\nPlease report it with the output above.\n`);
  return 70;
}

/** Runs the CLI with `argv` (as in `process.argv`) and resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = new Command();
  program
    .name('bluetick')
    .description('A durable webhook host for WhatsApp notifications (EnableX and Meta Cloud API).')
    .version(packageVersion(), '-v, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('serve')
    .description('receive webhooks: verify, journal durably, answer 200, normalize into events')
    .option('--config <file>', 'config file (default: ./bluetick.config.json when it exists)')
    .option('--port <n>', 'port to listen on (default: 8080)')
    .option('--host <h>', 'address to bind (default: 127.0.0.1)')
    .option('--data <dir>', 'data directory for the SQLite store (default: ./data)')
    .option('--tls-cert <file>', 'PEM certificate chain; serves HTTPS, reloaded when the file changes')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--behind-proxy', 'a TLS-terminating proxy is in front: allow plain HTTP on a non-loopback address')
    // Checked by the config resolver, like every other setting, so the error reads the same.
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default: info)')
    .action(async (opts: ServeCommandOptions) => {
      // Loaded on demand: the server's dependencies take most of a second to import, and
      // `normalize` or `--help` should not pay for them.
      const { runServe } = await import('./commands/serve.js');
      code = await runServe(opts, {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        cwd: process.cwd(),
        signals: process,
        exit: (c) => process.exit(c),
      });
    });

  program
    .command('normalize')
    .description('print the events of one raw webhook body (file or stdin) as NDJSON; touches no store')
    .argument('[file]', 'file holding the raw body (default: stdin)')
    .option('--channel <name>', 'channel name written on the events (default: default)')
    .option('--received-at <time>', 'receive time, ISO-8601 or epoch ms (default: now)')
    .action(async (file: string | undefined, opts: { channel?: string; receivedAt?: string }) => {
      code = await runNormalize({
        ...(file !== undefined ? { file } : {}),
        ...(opts.channel !== undefined ? { channel: opts.channel } : {}),
        ...(opts.receivedAt !== undefined ? { receivedAt: opts.receivedAt } : {}),
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    });

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    return exitCodeFor(error, process.stderr);
  }
  return code;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // Exit once nothing is left to do; a forgotten handle must not keep a finished command alive.
    setTimeout(() => process.exit(code), 1_000).unref();
  },
  (error: unknown) => {
    process.exitCode = exitCodeFor(error, process.stderr);
  },
);
