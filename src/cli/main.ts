/**
 * @module cli/main
 *
 * The `bluetick` command line. Parses argv, runs one command, and turns whatever it throws
 * into an exit code in ONE place:
 * - `BluetickError` (config, unsafe binding, ...) and `ExitError`: the message and its
 *   `BT_ERR_*` code, no stack;
 * - usage errors: commander has printed them; exit 2;
 * - anything else is a bug: the stack, and a request to report it.
 *
 * Importing this module runs the CLI; `bin/bluetick` does exactly that.
 */
import { Command, CommanderError } from 'commander';
import { BluetickError, ExitError } from '../errors.js';
import { packageVersion } from '../version.js';
import { runNormalize } from './commands/normalize.js';
import type { ServeCommandOptions } from './commands/serve.js';
import type { TriggerCommandOptions } from './commands/trigger.js';

/** `--config`, `--data`, `--store`: the options of the commands that open the store themselves. */
function withStoreOptions(command: Command): Command {
  return command
    .option('--config <file>', 'config file (default: ./bluetick.config.json when it exists)')
    .option('--data <dir>', 'data directory for the SQLite store (default: ./data)')
    .option('--store <url>', 'PostgreSQL URL, postgres://user:pass@host/db?schema=name (default: BLUETICK_DATABASE_URL)');
}

/** `--url`, `--token`, `--data`: the options of the commands that ask a running server's `/api`. */
function withServerOptions(command: Command): Command {
  return command
    .option('--url <url>', 'the server (default: BLUETICK_URL or http://127.0.0.1:8080)')
    .option('--token <token>', 'admin token (default: BLUETICK_ADMIN_TOKEN, else <data>/admin-token for a server on this machine)')
    .option('--data <dir>', "the local server's data folder, where its generated admin token is kept (default: BLUETICK_DATA_DIR or ./data)");
}

/**
 * A user-facing message with its code at the end of the first line, so it can be looked up in
 * docs/reference/errors.md: `cannot reach bluetick at ... (BT_ERR_CLI_FAILED)`.
 */
export function withCode(message: string, code: string): string {
  const end = message.indexOf('\n');
  const first = end === -1 ? message : message.slice(0, end);
  const rest = end === -1 ? '' : message.slice(end);
  return first.endsWith(':') ? `${first.slice(0, -1)} (${code}):${rest}` : `${first} (${code})${rest}`;
}

/** Maps anything a command throws to an exit code, printing what the user needs to see. */
export function exitCodeFor(error: unknown, stderr: NodeJS.WritableStream): number {
  if (error instanceof CommanderError) {
    // Commander already printed the message (or the help / version text).
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof ExitError) {
    if (error.message) stderr.write(`bluetick: ${withCode(error.message, error.code)}\n`);
    return error.exitCode;
  }
  if (error instanceof BluetickError) {
    stderr.write(`bluetick: ${withCode(error.message, error.code)}\n`);
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

  // Before any command: variables from --env-file join the environment (what is set already wins).
  program
    .option('--env-file <file>', 'read environment variables (BLUETICK_*) from this file first; variables already set win')
    .hook('preAction', async () => {
      const file = program.opts<{ envFile?: string }>().envFile;
      if (file === undefined) return;
      const { applyEnvFile } = await import('./env-file.js');
      applyEnvFile(file, process.env, process.cwd());
    });

  program
    .command('serve')
    .description('receive webhooks: verify, journal durably, answer 200, normalize into events')
    .option('--config <file>', 'config file (default: ./bluetick.config.json when it exists)')
    .option('--port <n>', 'port to listen on (default: 8080)')
    .option('--host <h>', 'address to bind (default: 127.0.0.1)')
    .option('--data <dir>', 'data directory for the SQLite store (default: ./data)')
    .option('--store <url>', 'use PostgreSQL, shared by every bluetick process: postgres://user:pass@host/db?schema=name (default: BLUETICK_DATABASE_URL)')
    .option('--tls-cert <file>', 'PEM certificate chain; serves HTTPS, reloaded when the file changes')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--behind-proxy', 'a TLS-terminating proxy is in front: allow plain HTTP on a non-loopback address (credentials required)')
    .option('--trust-proxy', 'with --behind-proxy: the proxy sets X-Forwarded-For, so its last entry is the client address')
    .option('--public-host <name>', 'a host name clients use to reach the API and console (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--acme-domain <name>', 'get and renew a certificate for this name from an ACME CA (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--acme-email <address>', 'contact address for the ACME account')
    .option('--acme-directory <url>', "ACME directory URL (default: Let's Encrypt production)")
    .option('--acme-challenge <type>', 'http-01 (needs port 80) or tls-alpn-01 (on the TLS port) (default: http-01)')
    .option('--acme-http-port <n>', 'port of the HTTP-01 listener (default: 80)')
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
    .command('init')
    .description('write a commented sample config (bluetick.config.json) with generated secrets; never overwrites')
    .option('--config <file>', 'where to write it (default: ./bluetick.config.json)')
    .action(async (opts: import('./commands/init.js').InitCommandOptions) => {
      const { runInit } = await import('./commands/init.js');
      code = await runInit(opts, { stdout: process.stdout, cwd: process.cwd() });
    });

  withStoreOptions(program.command('migrate').description('bring the store schema up to date (serve does this at start too); --print shows the SQL instead'))
    .option('--print', 'print the SQL of the migrations not yet applied; change nothing')
    .action(async (opts: import('./commands/migrate.js').MigrateCommandOptions) => {
      const { runMigrate } = await import('./commands/migrate.js');
      code = await runMigrate(opts, { stdout: process.stdout, env: process.env, cwd: process.cwd() });
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

  program
    .command('trigger')
    .description('send realistic WhatsApp notifications (any kind, either body shape) to a webhook URL and report the answers')
    .argument('[kinds...]', 'notification kinds, e.g. text status-read template-approved, or "all" (see --list)')
    .option('--url <url>', 'webhook URL to POST to')
    .option('--list', 'list the notification kinds and exit')
    .option('--shape <shape>', 'body shape: meta or enablex (default: meta)')
    .option('--basic <user:pass>', 'send HTTP Basic credentials (EnableX)')
    .option('--meta-secret <secret>', 'sign each body into X-Hub-Signature-256 with this app secret (Meta)')
    .option('--count <n>', 'notifications to send (with --conversation: conversations) (default: one of each kind)')
    .option('--rate <n>', 'POSTs per second (default: as fast as --concurrency allows)')
    .option('--batch <n>', 'notifications per POST (default: 1)')
    .option('--concurrency <n>', 'POSTs in flight at most (default: 8)')
    .option('--duplicate <p>', 'fraction of POSTs delivered a second time, byte for byte (default: 0)')
    .option('--reorder', 'deliver the statuses of each message out of order')
    .option('--conversation', 'send conversations: a customer writes, the business replies, statuses flow, maybe a reaction')
    .option('--seed <text>', 'seed for ids and content, to replay a run exactly')
    .option('--timeout <seconds>', 'per-request timeout (default: 10)')
    .option('--insecure', 'accept any TLS certificate (self-signed test set-ups)')
    .option('--dry-run', 'print the bodies and headers instead of sending them')
    .option('--json', 'NDJSON output: one line per POST, then a summary line')
    .option('--verbose', 'print a line per POST even for long runs')
    .action(async (kinds: string[], opts: TriggerCommandOptions) => {
      const { runTrigger } = await import('./commands/trigger.js');
      code = await runTrigger(kinds, opts, { stdout: process.stdout, userAgent: `bluetick-trigger/${packageVersion()}` });
    });

  const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
  withServerOptions(
    program
      .command('dead-letters')
      .description('list dead deliveries, redrive them (by id, a filter, or all), or drop them, on a running server')
      .argument('[action]', 'list, redrive or drop', 'list')
      .argument('[ids...]', 'delivery ids to redrive or drop'),
  )
    .option('--route <name>', 'only this route')
    .option('--sink <name>', 'only this sink')
    .option('--event <id>', 'only deliveries of this event')
    .option('--all', 'redrive every dead letter')
    .option('--limit <n>', 'list at most n (default: 50)')
    .option('--after <cursor>', 'list after this cursor')
    .option('--json', 'NDJSON output')
    .action(async (action: string, ids: string[], opts: import('./commands/dead-letters.js').DeadLettersOptions) => {
      const { runDeadLetters } = await import('./commands/dead-letters.js');
      code = await runDeadLetters(action, ids, opts, { stdout: process.stdout, env: process.env });
    });

  withServerOptions(
    program
      .command('sinks')
      .description("show the sinks' circuit breakers and backlogs, or probe a paused sink now, on a running server")
      .argument('[action]', 'list or probe', 'list')
      .argument('[names...]', 'the sink to probe'),
  )
    .option('--json', 'NDJSON output')
    .action(async (action: string, names: string[], opts: import('./commands/sinks.js').SinksOptions) => {
      const { runSinks } = await import('./commands/sinks.js');
      code = await runSinks(action, names, opts, { stdout: process.stdout, env: process.env });
    });

  withServerOptions(
    program
      .command('tokens')
      .description('create, list or revoke API tokens with a role (admin, operator, viewer, sender) on a running server')
      .argument('[action]', 'list, create or revoke', 'list')
      .argument('[names...]', 'the token to create or revoke'),
  )
    .option('--role <role>', 'with create: admin, operator, viewer or sender')
    .option('--mask-text', 'with create: mask message text in every answer to this token (for viewers)')
    .option('--json', 'JSON output')
    .action(async (action: string, names: string[], opts: import('./commands/tokens.js').TokensOptions) => {
      const { runTokens } = await import('./commands/tokens.js');
      code = await runTokens(action, names, opts, { stdout: process.stdout, env: process.env });
    });

  withServerOptions(
    program
      .command('erase')
      .description("erase one person's data (events, journal items, projections, deliveries) on a running server and print the receipt")
      .requiredOption('--contact <id>', 'any identifier of the person: phone number, business-scoped user id or @username'),
  )
    .option('--json', 'JSON output')
    .action(async (opts: import('./commands/erase.js').EraseOptions) => {
      const { runErase } = await import('./commands/erase.js');
      code = await runErase(opts, { stdout: process.stdout, env: process.env });
    });

  withServerOptions(
    program
      .command('replay')
      .description('deliver stored events again to one route (by id, time range or filter) on a running server')
      .requiredOption('--route <name>', 'the route to deliver to')
      .option('--event <id>', 'an event id (repeatable)', collect)
      .option('--since <time>', 'events received at or after (ISO-8601 or epoch ms)')
      .option('--until <time>', 'events received before (ISO-8601 or epoch ms)')
      .option('--type <types>', 'event types, comma-separated')
      .option('--channel <name>', 'events of this channel')
      .option('--phone-number-id <id>', 'events of this business phone number id')
      .option('--from <wa_id>', 'events from this contact')
      .option('--dry-run', 'list what would be sent; send nothing')
      .option('--limit <n>', 'at most n events (default: 1000)'),
  )
    .option('--json', 'JSON output')
    .action(async (opts: import('./commands/replay.js').ReplayOptions) => {
      const { runReplay } = await import('./commands/replay.js');
      code = await runReplay(opts, { stdout: process.stdout, env: process.env });
    });

  program
    .command('doctor')
    .description(
      'check what a host is ready for, local testing or EnableX/Meta (public HTTPS, CA-signed certificate): certificate, TLS, webhook answer, ' +
        'credentials, store, clock, plain HTTP, every sink. Exit 0: ready for EnableX/Meta; 3: local testing only; 1: not ready',
    )
    .option('--url <url>', 'webhook URL (or origin) providers post to (default: derived from the config)')
    .option('--config <file>', 'config file (default: ./bluetick.config.json when it exists)')
    .option('--ca <file>', 'also trust the CA certificate(s) in this PEM file, e.g. a test CA (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--resolve <host:address>', 'connect to address for host, e.g. hooks.example.com:203.0.113.7 (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--http-port <n>', 'port of the plain-HTTP exposure probe (default: the ACME HTTP-01 port, else 80)')
    .option('--timeout <ms>', 'timeout of each network step (default: 5000)')
    .option('--json', 'JSON output')
    .action(async (opts: import('./commands/doctor.js').DoctorCommandOptions) => {
      const { runDoctorCommand } = await import('./commands/doctor.js');
      code = await runDoctorCommand(opts, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), version: packageVersion() });
    });

  withServerOptions(program.command('tail').description("follow a running server's live events (/api/stream), reconnecting without gaps"))
    .option('--type <types>', 'only these event types, comma-separated')
    .option('--channel <name>', 'only events received on this channel')
    .option('--after <seq>', 'start after this event seq (default: with the next event)')
    .option('--count <n>', 'exit after n events')
    .option('--json', 'NDJSON output: one stored event per line')
    .action(async (opts: import('./commands/tail.js').TailCommandOptions) => {
      const { runTail } = await import('./commands/tail.js');
      code = await runTail(opts, { stdout: process.stdout, stderr: process.stderr, env: process.env, signals: process });
    });

  withServerOptions(program.command('listen').description('forward a remote server\'s live events to a local URL, signed, in order, resuming after restarts'))
    .requiredOption('--forward <url>', 'the local URL to POST each event to, e.g. http://localhost:3000/hook')
    .option('--secret <whsec>', 'Standard Webhooks secret to sign with (default: BLUETICK_LISTEN_SECRET, else one generated and kept in the state file)')
    .option('--type <types>', 'only these event types, comma-separated')
    .option('--channel <name>', 'only events received on this channel')
    .option('--raw', "forward the provider's original bodies, byte for byte with their signature header, instead of events")
    .option('--state <file>', 'where the cursor (last event acknowledged) is kept (default: under ~/.bluetick/listen/)')
    .option('--after <seq>', 'start after this event seq instead of the saved cursor')
    .option('--count <n>', 'exit after forwarding n events')
    .action(async (opts: import('./commands/listen.js').ListenCommandOptions) => {
      const { runListen } = await import('./commands/listen.js');
      code = await runListen(opts, { stdout: process.stdout, stderr: process.stderr, env: process.env, signals: process });
    });

  withServerOptions(
    program
      .command('status')
      .description(
        "a message's delivery status: each step's time, failures, timeline and reactions; without an id, disk use by data class and free disk space (from a running server)",
      )
      .argument('[message-id]', 'the WhatsApp message id (wamid...)'),
  )
    .option('--json', 'JSON output')
    .action(async (messageId: string | undefined, opts: import('./commands/status.js').StatusCommandOptions) => {
      const { runStatus } = await import('./commands/status.js');
      code = await runStatus(messageId, opts, { stdout: process.stdout, env: process.env });
    });

  withServerOptions(program.command('templates').description('message templates with their current status, quality and category (from a running server)'))
    .option('--status <statuses>', 'only these statuses, comma-separated (e.g. PAUSED,DISABLED)')
    .option('--json', 'NDJSON output: one template per line')
    .action(async (opts: import('./commands/templates.js').TemplatesCommandOptions) => {
      const { runTemplates } = await import('./commands/templates.js');
      code = await runTemplates(opts, { stdout: process.stdout, env: process.env });
    });

  withStoreOptions(
    program.command('rebuild').description('drop the projections (messages, conversations, contacts, templates) and recompute them from the stored events'),
  )
    .option('--batch <n>', 'events per transaction (default: 1000)')
    .option('--json', 'JSON output')
    .action(async (opts: import('./commands/rebuild.js').RebuildCommandOptions) => {
      const { runRebuild } = await import('./commands/rebuild.js');
      code = await runRebuild(opts, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
    });

  withStoreOptions(
    program
      .command('export')
      .description('stream the recorded events (or with --raw the exact bodies received) as NDJSON or CSV, read from the store itself'),
  )
    .option('--since <time>', 'received at or after this time (ISO-8601 or epoch ms)')
    .option('--until <time>', 'received before this time (ISO-8601 or epoch ms)')
    .option('--type <types>', 'only these event types, comma-separated')
    .option('--channel <name>', 'only this channel')
    .option('--format <format>', 'ndjson (default) or csv')
    .option('--raw', 'the journal: each body exactly as received, with its headers (ndjson)')
    .option('-o, --output <file>', 'write to this new file (0600) instead of stdout')
    .action(async (opts: import('./commands/export.js').ExportCommandOptions) => {
      const { runExport } = await import('./commands/export.js');
      code = await runExport(opts, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
    });

  withStoreOptions(
    program.command('prune').description('delete or redact what is older than its retention limit now (the server also does it in the background)'),
  )
    .option('--dry-run', 'count what would go, change nothing')
    .option('--json', 'JSON output')
    .action(async (opts: import('./commands/prune.js').PruneCommandOptions) => {
      const { runPrune } = await import('./commands/prune.js');
      code = await runPrune(opts, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
    });

  withStoreOptions(
    program
      .command('backup')
      .description('a consistent copy of the SQLite store, taken while the server runs (PostgreSQL: pg_dump)')
      .argument('<file>', 'the new backup file (never overwritten)'),
  )
    .option('--json', 'JSON output')
    .action(async (file: string, opts: import('./commands/backup.js').BackupCommandOptions) => {
      const { runBackup } = await import('./commands/backup.js');
      code = await runBackup(file, opts, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
    });

  withStoreOptions(
    program
      .command('restore')
      .description('check a backup and install it as the SQLite store (the server must be stopped)')
      .argument('<file>', 'a file written by bluetick backup'),
  )
    .option('--force', 'move the current store aside (kept as *.before-restore-<time>) and install the backup')
    .option('--json', 'JSON output')
    .action(async (file: string, opts: import('./commands/backup.js').RestoreCommandOptions) => {
      const { runRestore } = await import('./commands/backup.js');
      code = await runRestore(file, opts, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
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
