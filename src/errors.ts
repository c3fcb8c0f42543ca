/**
 * @module errors
 *
 * One error hierarchy with stable codes. Every error bluetick shows a user (an API answer, a
 * CLI message, a refusal to start, a thrown library error) is a `BluetickError` with a `code`
 * from {@link ERROR_CODES}; anything else that escapes is a bug. Each code has an entry in
 * `docs/reference/errors.md` (a test keeps the two in sync): what it means and what to do.
 *
 * Add new codes at the END of the catalog, with a message that says what to do, and document
 * them in `docs/reference/errors.md`.
 */

/** The catalog: code -> the default message (what happened, what to do) and, where it maps to HTTP, the status. */
export const ERROR_CODES = {
  BT_ERR_CONFIG_INVALID: { status: undefined, message: 'the configuration is invalid; fix the keys the message names (docs/configuration.md)' },
  BT_ERR_CONFIG_UNSAFE: {
    status: undefined,
    message: 'the configuration would expose plain HTTP or unauthenticated ingest; add TLS and channel credentials, or bind to loopback',
  },
  BT_ERR_INGEST_UNAUTHORIZED: { status: 401, message: 'the request did not pass the channel credentials; check the credentials the provider sends' },
  BT_ERR_INGEST_TOO_LARGE: { status: 413, message: 'the request body is larger than the limit; raise limits.bodyBytes if the provider sends bodies this large' },
  BT_ERR_INGEST_UNAVAILABLE: { status: 503, message: 'the journal cannot take the write in time; the provider retries, check the store and the log' },
  BT_ERR_STORE_MIGRATION: { status: undefined, message: 'a schema migration failed; fix the cause the message names and start again' },
  BT_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the store cannot be reached; check the database URL, the server and the data folder' },
  BT_ERR_NORMALIZE_NOT_JSON: { status: undefined, message: 'the body is not a JSON object; pass the raw webhook body exactly as received' },
  BT_ERR_CLI_USAGE: { status: undefined, message: 'the command line is invalid; see `bluetick <command> --help`' },
  BT_ERR_DISPATCH_NON_RETRIABLE: { status: undefined, message: 'the handler refused the event for good; it goes to dead letters' },
  BT_ERR_DISPATCH_RETRY_AFTER: { status: undefined, message: 'the handler asked for the event to be retried later' },
  BT_ERR_DISPATCH_BAD_REQUEST: { status: 400, message: 'the redrive or replay request cannot be served; name a configured route and select events' },
  BT_ERR_INIT_EXISTS: { status: undefined, message: 'the config file exists already; bluetick init never overwrites one (move it away or pass --config <other file>)' },
  BT_ERR_ADAPTER_BODY_CONSUMED: {
    status: 500,
    message:
      'a body parser read the webhook request before bluetick could see its exact bytes; mount the webhook handler before the parser, or keep the raw body (docs/reference/adapters.md)',
  },
  BT_ERR_API_BAD_REQUEST: { status: 400, message: 'a parameter or the body is invalid; `parameter` names it, fix it and send again' },
  BT_ERR_API_NOT_FOUND: { status: 404, message: 'nothing has that id; list the collection to find the right one' },
  BT_ERR_API_CONFLICT: { status: 409, message: 'the request conflicts with the current state; read it again and retry' },
  BT_ERR_CLI_FAILED: { status: undefined, message: 'the command could not finish; the message says why' },
  BT_ERR_ACME_ORDER: { status: undefined, message: 'a certificate order failed; it is retried with backoff, check DNS and the challenge ports' },
  BT_ERR_TOKEN_EXISTS: { status: 409, message: 'an API token with this name exists; pick another name or revoke the old token first' },
  BT_ERR_ERASURE_KEY_MISSING: { status: undefined, message: 'the erasure key file is missing while tombstones exist; restore <data>/erasure-key from a backup' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class BluetickError extends Error {
  readonly code: ErrorCode;
  readonly status: number | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, options);
    this.name = 'BluetickError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

/** Invalid configuration: the message names the bad key. */
export class ConfigError extends BluetickError {
  readonly issues: string[];
  constructor(issues: string[], options?: { cause?: unknown }) {
    super('BT_ERR_CONFIG_INVALID', `invalid configuration:\n  - ${issues.join('\n  - ')}`, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Thrown by the CLI to exit with a given code after printing only the message (and its
 * `BT_ERR_*` code). Exit code 2 is a usage error (`BT_ERR_CLI_USAGE`), others a command that
 * could not finish (`BT_ERR_CLI_FAILED`), unless a code is given.
 * @internal
 */
export class ExitError extends BluetickError {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, code?: ErrorCode) {
    super(code ?? (exitCode === 2 ? 'BT_ERR_CLI_USAGE' : 'BT_ERR_CLI_FAILED'), message);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}
