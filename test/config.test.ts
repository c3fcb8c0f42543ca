/**
 * Configuration: the pure resolver (defaults, environment, flags, validation that names the
 * bad key, safety rules) and the loader that reads a real file from a temp folder.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { formatIssue, isLoopbackHost, resolveConfig, type ResolveInput } from '../src/config/resolve.js';
import { BluetickError, ConfigError } from '../src/errors.js';

const CWD = '/srv/app';

function resolve(input: Partial<ResolveInput>) {
  return resolveConfig({ cwd: CWD, ...input });
}

function messages(input: Partial<ResolveInput>): string[] {
  return resolve(input).errors.map(formatIssue);
}

describe('resolveConfig', () => {
  it('gives the documented defaults without a config file or environment', () => {
    const { config, errors, warnings } = resolve({});
    expect(errors).toEqual([]);
    expect(config!.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      dataDir: '/srv/app/data',
      behindProxy: false,
      trustProxy: false,
      publicHosts: [],
      loopbackOnly: true,
      minFreeDiskBytes: 1024 * 1024 * 1024,
      limits: {
        bodyBytes: 4 * 1024 * 1024,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 65_000,
        maxConnections: 4096,
        authFailures: 10,
        itemsPerPost: 50_000,
      },
      journal: { maxPending: 10_000, commitTimeoutMs: 5_000, maxAttempts: 3, rowBudgetMs: 5_000, burstShare: 0.05 },
    });
    expect(config!.channels).toEqual([
      { name: 'default', path: '/webhooks/default', provider: 'auto', basicAuth: [], meta: { appSecrets: [], verifyTokens: [] } },
    ]);
    expect(config!.log.level).toBe('info');
    expect(config!.adminToken).toBeUndefined();
    // No credentials: allowed on loopback, with a loud warning.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/UNAUTHENTICATED/);
  });

  it('takes the default channel credentials from the environment', () => {
    const { config, errors, warnings } = resolve({
      env: {
        BLUETICK_BASIC_AUTH: 'enablex:pa:ss-long-enough-16',
        BLUETICK_META_APP_SECRET: 'new-secret, old-secret',
        BLUETICK_META_VERIFY_TOKEN: 'verify-me',
        BLUETICK_ADMIN_TOKEN: 'admin-token-0123456789',
      },
    });
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(config!.channels[0]).toEqual({
      name: 'default',
      path: '/webhooks/default',
      provider: 'auto',
      basicAuth: [{ username: 'enablex', password: 'pa:ss-long-enough-16' }],
      meta: { appSecrets: ['new-secret', 'old-secret'], verifyTokens: ['verify-me'] },
    });
    expect(config!.adminToken).toBe('admin-token-0123456789');
  });

  it('layers flags over environment over the file over defaults', () => {
    const written = { server: { host: '127.0.0.2', port: 9000, dataDir: 'file-data' } };
    const fileOnly = resolve({ written, configDir: '/etc/bluetick' }).config!.server;
    expect([fileOnly.host, fileOnly.port, fileOnly.dataDir]).toEqual(['127.0.0.2', 9000, '/etc/bluetick/file-data']);

    const env = { BLUETICK_PORT: '9100', BLUETICK_DATA_DIR: 'env-data', BLUETICK_LOG_LEVEL: 'debug' };
    const withEnv = resolve({ written, env, configDir: '/etc/bluetick' }).config!;
    expect([withEnv.server.host, withEnv.server.port, withEnv.server.dataDir, withEnv.log.level]).toEqual([
      '127.0.0.2',
      9100,
      '/srv/app/env-data',
      'debug',
    ]);

    const withFlags = resolve({ written, env, flags: { port: '9200', dataDir: '/abs/data', host: '::1', logLevel: 'warn' } }).config!;
    expect([withFlags.server.host, withFlags.server.port, withFlags.server.dataDir, withFlags.log.level]).toEqual([
      '::1',
      9200,
      '/abs/data',
      'warn',
    ]);
  });

  it('reads channels from the file, with default paths, both credential spellings and per-channel providers', () => {
    const { config, errors } = resolve({
      written: {
        channels: [
          { name: 'enablex-in', provider: 'enablex', basicAuth: ['a:b', { username: 'c', password: 'd:e' }] },
          { name: 'meta', path: '/webhooks/meta/v2', provider: 'meta', meta: { appSecrets: ['s1'], verifyTokens: ['t1', 't2'] } },
        ],
      },
    });
    expect(errors).toEqual([]);
    expect(config!.channels.map((c) => [c.name, c.path, c.provider])).toEqual([
      ['enablex-in', '/webhooks/enablex-in', 'enablex'],
      ['meta', '/webhooks/meta/v2', 'meta'],
    ]);
    expect(config!.channels[0]!.basicAuth).toEqual([
      { username: 'a', password: 'b' },
      { username: 'c', password: 'd:e' },
    ]);
  });

  it('names the bad key in every validation error', () => {
    expect(
      messages({
        written: {
          server: { port: 'eighty', limits: { bodyBytes: -1 }, prot: 1 },
          channels: [
            { name: 'ok', basicAuth: ['u:p'] },
            { name: 'meta', meta: { appSecrets: [] } },
            { name: 'bad', basicAuth: ['no-colon'] },
            { name: 'x', provider: 'whatsapp', basicAuth: ['u:p'] },
          ],
          log: { level: 'loud' },
        },
      }),
    ).toEqual([
      'server.port: expected a number',
      'server.limits.bodyBytes: expected a positive integer',
      'server: unknown key "prot"',
      'channels[1].meta.appSecrets: expected a non-empty list',
      'channels[2].basicAuth[0]: expected "user:password"',
      'channels[3].provider: expected "auto", "meta" or "enablex"',
      'log.level: expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('takes the pipeline burst share in (0, 1] and names the key of any other value', () => {
    const written = (burstShare: unknown) => ({ written: { server: { journal: { burstShare } } } });
    expect(resolve(written(1)).config!.server.journal.burstShare).toBe(1);
    expect(resolve(written(0.5)).config!.server.journal.burstShare).toBe(0.5);
    expect(messages(written(0))).toEqual(['server.journal.burstShare: expected a number above 0']);
    expect(messages(written(1.5))).toEqual(['server.journal.burstShare: expected a number up to 1']);
    expect(messages(written('half'))).toEqual(['server.journal.burstShare: expected a number']);
  });

  it('rejects channel names and paths that could escape or collide', () => {
    for (const name of ['../etc', 'Upper', '-lead', 'a/b', 'a'.repeat(65), '']) {
      const errs = messages({ written: { channels: [{ name, basicAuth: ['u:p'] }] } });
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatch(/^channels\[0\]\.name: expected 1-64 characters/);
    }
    expect(messages({ written: { channels: [{ name: 'a', path: '/webhooks/../admin', basicAuth: ['u:p'] }] } })).toEqual([
      'channels[0].path: a path cannot contain "." or ".." segments',
    ]);
    expect(messages({ written: { channels: [{ name: 'a', path: '/api/a', basicAuth: ['u:p'] }] } })[0]).toMatch(
      /^channels\[0\]\.path: expected a path under \/webhooks\//,
    );
    expect(
      messages({
        written: {
          channels: [
            { name: 'a', basicAuth: ['u:p'] },
            { name: 'a', path: '/webhooks/other', basicAuth: ['u:p'] },
            { name: 'b', path: '/webhooks/a', basicAuth: ['u:p'] },
          ],
        },
      }),
    ).toEqual([
      'channels[1].name: "a" is already used by channels[0]',
      'channels[2].path: "/webhooks/a" is already used by channels[0]',
    ]);
  });

  it('names environment variables and flags when they are wrong', () => {
    expect(messages({ env: { BLUETICK_PORT: 'abc', BLUETICK_BEHIND_PROXY: 'maybe', BLUETICK_BASIC_AUTH: 'nopassword' } })).toEqual([
      'BLUETICK_PORT: expected an integer 0..65535',
      'BLUETICK_BEHIND_PROXY: expected true or false',
      'BLUETICK_BASIC_AUTH: expected "user:password"',
    ]);
    expect(messages({ flags: { port: '70000', logLevel: 'chatty' } })).toEqual([
      '--port: expected an integer 0..65535',
      '--log-level: expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
    expect(messages({ flags: { tlsCert: 'cert.pem' } })).toEqual(['--tls-key: required when --tls-cert is set']);
    expect(messages({ written: { server: { limits: { headersTimeoutMs: 60_000, requestTimeoutMs: 30_000 } } } })).toEqual([
      'server.limits.headersTimeoutMs: must not exceed server.limits.requestTimeoutMs (30000)',
    ]);
  });

  it('refuses plain HTTP on a non-loopback address as unsafe', () => {
    const { errors } = resolve({ flags: { host: '0.0.0.0' }, env: { BLUETICK_BASIC_AUTH: 'u:password-of-16-chars' } });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('BT_ERR_CONFIG_UNSAFE');
    expect(errors[0]!.path).toBe('server.host');
    expect(errors[0]!.message).toMatch(/without TLS/);
  });

  it('allows a non-loopback address with TLS, or behind a TLS proxy', () => {
    const env = { BLUETICK_BASIC_AUTH: 'u:password-of-16-chars' };
    const proxied = resolve({ flags: { host: '0.0.0.0', behindProxy: true }, env });
    expect(proxied.errors).toEqual([]);
    expect(proxied.config!.server.behindProxy).toBe(true);
    const tls = resolve({ flags: { host: '0.0.0.0', tlsCert: 'c.pem', tlsKey: 'k.pem' }, env });
    expect(tls.errors).toEqual([]);
    expect(tls.config!.server.tls).toEqual({ cert: '/srv/app/c.pem', key: '/srv/app/k.pem' });
  });

  it('refuses a channel without credentials on a non-loopback address, even behind a proxy', () => {
    const { errors } = resolve({ flags: { host: '10.0.0.5', behindProxy: true } });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('BT_ERR_CONFIG_UNSAFE');
    expect(errors[0]!.message).toMatch(/no credentials/);
    const written = { channels: [{ name: 'open' }, { name: 'closed', basicAuth: ['u:password-of-16-chars'] }] };
    const fromFile = resolve({ written, flags: { host: '10.0.0.5', behindProxy: true } });
    expect(fromFile.errors.map((e) => e.path)).toEqual(['channels[0]']);
  });

  it('warns when credential variables are ignored because the file declares channels', () => {
    const { warnings, errors } = resolve({
      written: { channels: [{ name: 'a', basicAuth: ['u:password-of-16-chars'] }] },
      env: { BLUETICK_BASIC_AUTH: 'x:y' },
    });
    expect(errors).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/^BLUETICK_BASIC_AUTH is ignored/)]);
  });

  it('counts a loopback bind behind a proxy as reachable: open channels are refused, naming the fix', () => {
    const { errors } = resolve({ flags: { host: '127.0.0.1', behindProxy: true } });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'BT_ERR_CONFIG_UNSAFE', path: expect.stringMatching(/^channels\[0\]/) });
    expect(errors[0]!.message).toMatch(/behind a proxy every request arrives from loopback/);
    expect(errors[0]!.message).toMatch(/BLUETICK_BASIC_AUTH=user:password or BLUETICK_META_APP_SECRET/);
    const direct = resolve({ flags: { host: '127.0.0.1' } });
    expect(direct.errors).toEqual([]);
    expect(direct.config!.server.loopbackOnly).toBe(true);
  });

  it('refuses secrets shorter than 16 characters outside loopback-only set-ups, saying why', () => {
    const proxied = { host: '127.0.0.1', behindProxy: true };
    const short = resolve({ flags: proxied, env: { BLUETICK_BASIC_AUTH: 'enablex:p', BLUETICK_ADMIN_TOKEN: 'x', BLUETICK_METRICS_TOKEN: 'm' } });
    expect(short.errors.map((e) => [e.code, e.path])).toEqual([
      ['BT_ERR_CONFIG_UNSAFE', 'BLUETICK_ADMIN_TOKEN'],
      ['BT_ERR_CONFIG_UNSAFE', 'BLUETICK_METRICS_TOKEN'],
      ['BT_ERR_CONFIG_UNSAFE', 'BLUETICK_BASIC_AUTH'],
    ]);
    expect(short.errors[0]!.message).toMatch(/has 1 characters; use at least 16 .* can be guessed/);
    const fromFile = resolve({ written: { server: { host: '0.0.0.0', behindProxy: true }, adminToken: 'short', channels: [{ name: 'a', basicAuth: ['u:p'] }] } });
    expect(fromFile.errors.map((e) => e.path)).toEqual(['adminToken', 'channels[0].basicAuth[0]']);
    // Loopback-only: allowed, with a warning each.
    const local = resolve({ env: { BLUETICK_BASIC_AUTH: 'enablex:p', BLUETICK_ADMIN_TOKEN: 'x' } });
    expect(local.errors).toEqual([]);
    expect(local.warnings).toEqual([expect.stringMatching(/^BLUETICK_ADMIN_TOKEN: .*allowed only/), expect.stringMatching(/^BLUETICK_BASIC_AUTH: .*allowed only/)]);
  });

  it('takes public host names and proxy trust, and warns about plain-http sinks to other hosts', () => {
    const { config, errors } = resolve({
      flags: { host: '127.0.0.1', behindProxy: true, trustProxy: true, publicHosts: ['Hooks.Example.com,admin.example.com'] },
      env: { BLUETICK_BASIC_AUTH: 'u:password-of-16-chars' },
    });
    expect(errors).toEqual([]);
    expect(config!.server).toMatchObject({ trustProxy: true, loopbackOnly: false, publicHosts: ['hooks.example.com', 'admin.example.com'] });
    expect(messages({ flags: { trustProxy: true } })).toEqual(['server.trustProxy: only applies with server.behindProxy (--behind-proxy)']);
    expect(messages({ env: { BLUETICK_PUBLIC_HOSTS: 'https://x.example.com/' } })[0]).toMatch(/^BLUETICK_PUBLIC_HOSTS: "https:\/\/x.example.com\/" is not a host name/);
    const sinks = resolve({
      written: {
        sinks: [
          { name: 'far', type: 'http', url: 'http://crm.example.com/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
          { name: 'near', type: 'http', url: 'http://127.0.0.1:9000/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
        ],
      },
      env: { BLUETICK_BASIC_AUTH: 'u:password-of-16-chars' },
    });
    expect(sinks.errors).toEqual([]);
    expect(sinks.warnings).toEqual([expect.stringMatching(/^sinks\[0\]\.url: .*crm\.example\.com over plain http/)]);
  });

  it('knows which hosts are loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bluetick-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file, resolves its relative paths against its folder, and reads only BLUETICK_ variables', async () => {
    const file = join(dir, 'bluetick.config.json');
    await writeFile(
      file,
      JSON.stringify({ server: { port: 9999, dataDir: 'store' }, channels: [{ name: 'enablex', basicAuth: ['u:p'] }] }),
    );
    const { config, file: used } = await loadConfig({ file, cwd: '/', env: { BLUETICK_LOG_LEVEL: 'warn', HOME: '/root' } });
    expect(used).toBe(file);
    expect(config.server.port).toBe(9999);
    expect(config.server.dataDir).toBe(join(dir, 'store'));
    expect(config.log.level).toBe('warn');
  });

  it('finds bluetick.config.json in the working directory when no file is named', async () => {
    await writeFile(join(dir, 'bluetick.config.json'), JSON.stringify({ server: { port: 1234 } }));
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.server.port).toBe(1234);
  });

  it('throws a ConfigError naming the bad key and the file', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ channels: [{ name: 'a', basicAuth: ['u:p'] }, { name: 'b', meta: { appSecrets: [] } }] }));
    const error = await loadConfig({ file, cwd: dir, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('BT_ERR_CONFIG_INVALID');
    expect((error as ConfigError).issues[0]).toBe('channels[1].meta.appSecrets: expected a non-empty list');
    expect((error as ConfigError).message).toContain(file);
  });

  it('throws a ConfigError for a file that is missing or not JSON', async () => {
    await expect(loadConfig({ file: join(dir, 'nope.json'), cwd: dir, env: {} })).rejects.toThrow(/--config: cannot read .*ENOENT/);
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ "server": ');
    await expect(loadConfig({ file, cwd: dir, env: {} })).rejects.toThrow(/not valid JSON/);
  });

  it('throws BT_ERR_CONFIG_UNSAFE for a valid but unsafe setup', async () => {
    const error = await loadConfig({ cwd: dir, env: { BLUETICK_BASIC_AUTH: 'u:password-of-16-chars' }, flags: { host: '0.0.0.0' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BluetickError);
    expect(error).not.toBeInstanceOf(ConfigError);
    expect((error as BluetickError).code).toBe('BT_ERR_CONFIG_UNSAFE');
    expect((error as BluetickError).message).toMatch(/server\.host: binding 0\.0\.0\.0 without TLS/);
  });
});

describe('retention', () => {
  const DAY = 86_400_000;

  it('keeps raw bodies 30 days, message content 90, statuses 400, account events for ever by default', () => {
    const { config } = resolve({});
    expect(config!.retention).toEqual({
      limits: { rawBodies: 30 * DAY, messageContent: 90 * DAY, statuses: 400 * DAY, accountEvents: null, deliveries: 30 * DAY, rejections: 30 * DAY },
      intervalMs: 300_000,
    });
  });

  it('reads days, hours, minutes and none per class', () => {
    const { config, errors } = resolve({ written: { retention: { rawBodies: '12h', messageContent: 'none', rejections: '45m' } } });
    expect(errors).toEqual([]);
    expect(config!.retention.limits.rawBodies).toBe(12 * 3_600_000);
    expect(config!.retention.limits.messageContent).toBeNull();
    expect(config!.retention.limits.rejections).toBe(45 * 60_000);
    expect(config!.retention.limits.deliveries).toBe(30 * DAY);
  });

  it('names the key of a limit it cannot read', () => {
    expect(messages({ written: { retention: { rawBodies: '30 days' } } }).join('\n')).toMatch(/retention\.rawBodies.*duration/);
    expect(messages({ written: { retention: { rawBodies: '0d' } } }).join('\n')).toMatch(/retention\.rawBodies/);
  });
});
