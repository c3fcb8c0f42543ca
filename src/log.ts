/**
 * @module log
 *
 * The pino logger factory. Logs redact, by default, what must not end up in a log
 * aggregator: credentials and signatures, app secrets and tokens, phone numbers / wa_ids,
 * and message text. Redaction is by key path (pino's `redact`), so callers log structured
 * objects and never interpolate such values into the message string.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/schema.js';

export type { Logger } from 'pino';

const SECRET_KEYS = [
  'authorization',
  'password',
  'appSecret',
  'appSecrets',
  'verifyToken',
  'verifyTokens',
  'adminToken',
  'token',
  'secret',
  'basicAuth',
  '"x-hub-signature-256"',
  'cookie',
];
const PERSONAL_KEYS = [
  'from',
  'wa_id',
  'recipient_id',
  'recipientId',
  'phone',
  'display_phone_number',
  'displayPhoneNumber',
  'contactName',
  'profile',
  'text',
  'body',
  'caption',
];

/**
 * Paths redacted by default: each key at the top level and one or two levels down
 * (`headers.authorization`, `req.headers.authorization`, `event.from`, ...).
 */
export const REDACT_PATHS: readonly string[] = [...SECRET_KEYS, ...PERSONAL_KEYS].flatMap((key) => {
  const quoted = key.startsWith('"');
  const top = quoted ? `[${key}]` : key;
  const nested = quoted ? top : `.${key}`;
  return [top, `*${nested}`, `*.*${nested}`];
});

export interface LoggerOptions {
  level?: LogLevel | string;
  /** Where lines go; defaults to stdout. */
  destination?: DestinationStream;
  /** Turn default redaction off (for local debugging only). Default true. */
  redact?: boolean;
  /** Bound fields on every line. */
  base?: Record<string, unknown>;
}

/**
 * @example
 * ```ts
 * const logger = createLogger({ level: 'debug' });
 * logger.info({ headers: { authorization: 'Basic abc' } }, 'seen'); // authorization: "[redacted]"
 * ```
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: { name: 'bluetick', ...opts.base },
    ...(opts.redact === false ? {} : { redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } }),
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
