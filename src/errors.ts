/**
 * @module errors
 *
 * One error hierarchy with stable codes. Every error bluetick throws on purpose is a
 * `BluetickError` with a `code` from {@link ERROR_CODES}; anything else is a bug.
 */

/** The catalog: code -> what it means and, where it maps to HTTP, the status. */
export const ERROR_CODES = {
  BT_ERR_CONFIG_INVALID: { status: undefined, message: 'the configuration is invalid' },
  BT_ERR_CONFIG_UNSAFE: { status: undefined, message: 'the configuration would expose plain HTTP or unauthenticated ingest' },
  BT_ERR_INGEST_UNAUTHORIZED: { status: 401, message: 'the request did not pass the channel credentials' },
  BT_ERR_INGEST_TOO_LARGE: { status: 413, message: 'the request body is larger than the limit' },
  BT_ERR_INGEST_UNAVAILABLE: { status: 503, message: 'the journal cannot take the write in time' },
  BT_ERR_STORE_MIGRATION: { status: undefined, message: 'a schema migration failed' },
  BT_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the store cannot be reached' },
  BT_ERR_NORMALIZE_NOT_JSON: { status: undefined, message: 'the body is not a JSON object' },
  BT_ERR_CLI_USAGE: { status: undefined, message: 'the command line is invalid' },
  BT_ERR_DISPATCH_NON_RETRIABLE: { status: undefined, message: 'the handler refused the event for good; it goes to dead letters' },
  BT_ERR_DISPATCH_RETRY_AFTER: { status: undefined, message: 'the handler asked for the event to be retried later' },
  BT_ERR_DISPATCH_BAD_REQUEST: { status: 400, message: 'the redrive or replay request cannot be served' },
  BT_ERR_TOKEN_EXISTS: { status: 409, message: 'an API token with this name exists; pick another name or revoke the old token first' },
  BT_ERR_INIT_EXISTS: { status: undefined, message: 'the config file exists already; bluetick init never overwrites one (move it away or pass --config <other file>)' },
  BT_ERR_ADAPTER_BODY_CONSUMED: {
    status: 500,
    message:
      'a body parser read the webhook request before bluetick could see its exact bytes; mount the webhook handler before the parser, or keep the raw body (docs/reference/adapters.md)',
  },
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

/** Thrown by the CLI to exit with a given code after printing only the message. */
export class ExitError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}
