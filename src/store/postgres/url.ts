/**
 * @module store/postgres/url
 *
 * Pure: turns a `postgres://` URL into what the backend needs: a connection string whose
 * every session runs in one schema, the schema's name, a display form without the
 * password, and the notification channel names. No `pg` import, so the config resolver and
 * `store/open` can check a URL without loading the driver.
 *
 * The schema comes from `?schema=name`, else from `options=-c search_path=name` (its first
 * entry), else `public`. It is always set as the session's `search_path` at connection
 * start-up (no extra round trip), so the migration files stay unqualified and two
 * deployments, or two test files, can share one database in separate schemas.
 */
import { createHash } from 'node:crypto';
import { BluetickError } from '../../errors.js';

/** Logical channels a process can be woken on; see `Store.subscribe`. */
export type ChannelName = 'journal' | 'events' | 'deliveries';
export const CHANNEL_NAMES: readonly ChannelName[] = ['journal', 'events', 'deliveries'];

export interface PostgresLocation {
  /** For `pg`: the URL without `schema`, with `search_path` in the start-up options. */
  connectionString: string;
  schema: string;
  /** The URL with its password masked, for banners and logs. */
  display: string;
  /** NOTIFY channel per logical channel, scoped to the schema (channels are database-wide). */
  channels: Record<ChannelName, string>;
}

/** Lower-case identifiers only: they need no quoting in `search_path` or in SQL. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const SEARCH_PATH_OPTION = /(?:^|\s)(?:-c\s*|--)search_path=(\S*)/;

/** True for the URLs the PostgreSQL backend takes (`postgres://` or `postgresql://`). */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(value);
}

/**
 * @example
 * parsePostgresUrl('postgres://app:secret@db:5432/bluetick?schema=prod').schema // 'prod'
 */
export function parsePostgresUrl(url: string): PostgresLocation {
  if (!isPostgresUrl(url)) {
    throw new BluetickError('BT_ERR_CONFIG_INVALID', 'the store URL must start with postgres:// or postgresql://');
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BluetickError('BT_ERR_CONFIG_INVALID', 'the store URL is not a valid URL');
  }
  const params = u.searchParams;
  const options = params.get('options') ?? '';
  const fromOptions = SEARCH_PATH_OPTION.exec(options)?.[1]?.split(',')[0]?.replace(/^"|"$/g, '');
  const schema = params.get('schema') ?? (fromOptions || 'public');
  if (!SCHEMA_NAME.test(schema)) {
    throw new BluetickError(
      'BT_ERR_CONFIG_INVALID',
      `the store schema "${schema}" must be 1-63 characters of a-z, 0-9 and "_", not starting with a digit`,
    );
  }
  params.delete('schema');
  const otherOptions = options.replace(SEARCH_PATH_OPTION, ' ').trim();
  params.set('options', `${otherOptions} -c search_path=${schema}`.trim());

  const display = new URL(u.toString());
  if (display.password !== '') display.password = '***';
  display.searchParams.delete('options');
  if (schema !== 'public') display.searchParams.set('schema', schema);

  return {
    connectionString: u.toString(),
    schema,
    display: display.toString(),
    channels: {
      journal: channelFor(schema, 'journal'),
      events: channelFor(schema, 'events'),
      deliveries: channelFor(schema, 'deliveries'),
    },
  };
}

/** `bluetick.<schema>.<name>`, hashed when it would pass PostgreSQL's 63-byte identifier limit. */
function channelFor(schema: string, name: ChannelName): string {
  const plain = `bluetick.${schema}.${name}`;
  if (plain.length <= 63) return plain;
  return `bluetick.${createHash('sha1').update(schema).digest('hex').slice(0, 16)}.${name}`;
}
