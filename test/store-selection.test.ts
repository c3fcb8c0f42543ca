/**
 * Choosing the store: `store.url` in the config file < BLUETICK_DATABASE_URL < `--store`, a
 * bare DATABASE_URL never followed (only warned about), and
 * `bluetick migrate` (with `--print`) on both backends, run as the built bin.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { loadMigrations } from '../src/store/migrate.js';
import { parsePostgresUrl } from '../src/store/postgres/url.js';
import { ensureBuilt, runBin } from './helpers/dist.js';
import { describePostgres, dropSchema, schemaName, urlFor } from './helpers/postgres.js';

const PG_A = 'postgres://a@db-a/x?schema=from_file';
const PG_B = 'postgres://b@db-b/x?schema=from_env';
const PG_C = 'postgres://c@db-c/x?schema=from_flag';

describe('store selection in the config', () => {
  const resolve = (input: Omit<Parameters<typeof resolveConfig>[0], 'cwd'>) => resolveConfig({ cwd: '/srv', ...input });

  it('uses the SQLite data folder when no URL is given anywhere', () => {
    const { config } = resolve({});
    expect(config?.store).toBeUndefined();
  });

  it('takes store.url from the file, BLUETICK_DATABASE_URL over it, and --store over both, saying which', () => {
    expect(resolve({ written: { store: { url: PG_A } } }).config?.store).toEqual({
      url: PG_A,
      source: 'store.url',
      journalLeaseMs: 30_000,
      pipelineThread: 'own-thread',
    });
    expect(resolve({ written: { store: { url: PG_A } }, env: { BLUETICK_DATABASE_URL: PG_B } }).config?.store).toMatchObject({
      url: PG_B,
      source: 'BLUETICK_DATABASE_URL',
    });
    expect(
      resolve({ written: { store: { url: PG_A, journalLeaseMs: 5_000 } }, env: { BLUETICK_DATABASE_URL: PG_B }, flags: { store: PG_C } }).config
        ?.store,
    ).toEqual({ url: PG_C, source: '--store', journalLeaseMs: 5_000, pipelineThread: 'own-thread' });
  });

  it('takes where the PostgreSQL pipeline runs from the file, and names the key of a value it does not know', () => {
    expect(resolve({ written: { store: { url: PG_A, pipelineThread: 'in-process' } } }).config?.store?.pipelineThread).toBe('in-process');
    expect(resolve({ written: { store: { url: PG_A, pipelineThread: 'worker' } } }).errors).toEqual([
      expect.objectContaining({ code: 'BT_ERR_CONFIG_INVALID', path: 'store.pipelineThread', message: expect.stringMatching(/own-thread, in-process/) }),
    ]);
  });

  it('never follows a bare DATABASE_URL: it stays on SQLite and warns how to opt in', () => {
    const { config, warnings } = resolve({ env: { DATABASE_URL: PG_B } });
    expect(config?.store).toBeUndefined();
    expect(warnings).toContainEqual(expect.stringMatching(/^DATABASE_URL is set but ignored: .*export BLUETICK_DATABASE_URL="\$DATABASE_URL"/));
    // Copied into BLUETICK_DATABASE_URL it is used, and the warning goes away.
    const opted = resolve({ env: { DATABASE_URL: PG_B, BLUETICK_DATABASE_URL: PG_B } });
    expect(opted.config?.store?.url).toBe(PG_B);
    expect(opted.warnings.filter((w) => w.startsWith('DATABASE_URL'))).toEqual([]);
    // A different URL in each: the bluetick one wins, and the other is still called out.
    expect(resolve({ env: { DATABASE_URL: PG_A, BLUETICK_DATABASE_URL: PG_B } }).warnings).toContainEqual(expect.stringMatching(/^DATABASE_URL is set but ignored/));
  });

  it('names the setting at fault when the URL is not a usable PostgreSQL URL', () => {
    expect(resolve({ flags: { store: 'mysql://u@h/db' } }).errors).toEqual([
      expect.objectContaining({ code: 'BT_ERR_CONFIG_INVALID', path: '--store', message: expect.stringMatching(/postgres:\/\//) }),
    ]);
    expect(resolve({ env: { BLUETICK_DATABASE_URL: 'postgres://u@h/db?schema=Bad-Name' } }).errors).toEqual([
      expect.objectContaining({ path: 'BLUETICK_DATABASE_URL', message: expect.stringMatching(/schema/) }),
    ]);
    expect(resolve({ written: { store: { url: 'sqlite:./x.db' } } }).errors[0]?.path).toBe('store.url');
  });
});

describe('bluetick migrate', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-migrate-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the SQL of a fresh SQLite store without creating it, applies it, then has nothing to do', async () => {
    const names = (await loadMigrations('sqlite')).map((m) => m.name);
    const printed = await runBin(['migrate', '--data', 'data', '--print'], { cwd: dir });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain(`not yet applied to ${join(dir, 'data', 'bluetick.db')}: ${names.join(', ')}`);
    for (const name of names) expect(printed.stdout).toContain(`-- ${name}\nBEGIN;`);
    expect(existsSync(join(dir, 'data', 'bluetick.db'))).toBe(false);

    const applied = await runBin(['migrate', '--data', 'data'], { cwd: dir });
    expect(applied).toMatchObject({ code: 0, stderr: '' });
    expect(applied.stdout).toBe(`applied ${names.join(', ')} to ${join(dir, 'data', 'bluetick.db')}\n`);
    expect((await runBin(['migrate', '--data', 'data'], { cwd: dir })).stdout).toMatch(/^nothing to apply: .* is up to date\n$/);
    expect((await runBin(['migrate', '--data', 'data', '--print'], { cwd: dir })).stdout).toMatch(/^-- nothing to apply/);
  });

  it('refuses a store URL it cannot use, naming the flag', async () => {
    const result = await runBin(['migrate', '--store', 'redis://localhost'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--store: .*postgres:\/\//);
  });

  it('reports an unreachable PostgreSQL server in one line without the password', async () => {
    const result = await runBin(['migrate', '--store', 'postgres://u:hunter2@127.0.0.1:1/db'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('bluetick: cannot use the PostgreSQL store at postgres://u:***@127.0.0.1:1/db: connect ECONNREFUSED 127.0.0.1:1 (BT_ERR_STORE_UNAVAILABLE)\n');
  });

  describePostgres('on PostgreSQL', () => {
    const schemas: string[] = [];
    afterAll(async () => {
      for (const s of schemas) await dropSchema(s);
    });

    it('prints a script a DBA can run as is, after which migrate has nothing to apply', async () => {
      const schema = schemaName('migrate_cli');
      schemas.push(schema);
      const url = urlFor(schema);
      const printed = await runBin(['migrate', '--print'], { cwd: dir, env: { BLUETICK_DATABASE_URL: url } });
      expect(printed.code).toBe(0);
      expect(printed.stdout).toContain(`CREATE SCHEMA IF NOT EXISTS "${schema}";`);
      // Run it the way psql would: one simple-protocol script on a plain connection.
      const client = new pg.Client({ connectionString: parsePostgresUrl(urlFor('public')).connectionString });
      await client.connect();
      try {
        await client.query(printed.stdout);
      } finally {
        await client.end();
      }
      const again = await runBin(['migrate', '--store', url], { cwd: dir });
      expect(again).toMatchObject({ code: 0, stderr: '' });
      expect(again.stdout).toContain('nothing to apply');
    });
  });
});

