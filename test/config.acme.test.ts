/** `server.acme` in the config file, the BLUETICK_ACME_* variables and the --acme-* flags. */
import { describe, expect, it } from 'vitest';
import { resolveConfig, type ResolveInput } from '../src/config/resolve.js';

const CHANNELS = [{ name: 'enablex', basicAuth: ['u:password-of-16-chars'] }];

function resolve(input: Omit<ResolveInput, 'cwd'>) {
  return resolveConfig({ cwd: '/srv/bluetick', ...input });
}

describe('ACME configuration', () => {
  it('fills every default from a minimal block and counts as TLS for a public bind', () => {
    const { config, errors } = resolve({
      written: { server: { host: '0.0.0.0', port: 443, acme: { domains: ['Hooks.Example.com'] } }, channels: CHANNELS },
    });
    expect(errors).toEqual([]);
    expect(config!.server.acme).toEqual({
      domains: ['hooks.example.com'],
      directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
      challenge: 'http-01',
      httpPort: 80,
      renewWhenRemaining: 1 / 3,
    });
    expect(config!.server.tls).toBeUndefined();
  });

  it('takes the flags alone, over the variables, over the file', () => {
    const { config, errors } = resolve({
      written: { server: { acme: { domains: ['file.example.com'], email: 'file@example.com' } }, channels: CHANNELS },
      env: { BLUETICK_ACME_DOMAINS: 'env-a.example.com, env-b.example.com', BLUETICK_ACME_EMAIL: 'env@example.com', BLUETICK_ACME_DIRECTORY: 'https://acme-staging-v02.api.letsencrypt.org/directory' },
      flags: { acmeDomains: ['flag.example.com', 'two.example.com,three.example.com'], acmeEmail: 'flag@example.com', acmeChallenge: 'tls-alpn-01', acmeHttpPort: '8080' },
    });
    expect(errors).toEqual([]);
    expect(config!.server.acme).toMatchObject({
      domains: ['flag.example.com', 'two.example.com', 'three.example.com'],
      email: 'flag@example.com',
      directoryUrl: 'https://acme-staging-v02.api.letsencrypt.org/directory',
      challenge: 'tls-alpn-01',
      httpPort: 8080,
    });

    const envOnly = resolve({ env: { BLUETICK_ACME_DOMAINS: 'env.example.com' } });
    expect(envOnly.config!.server.acme!.domains).toEqual(['env.example.com']);
    const flagsOnly = resolve({ flags: { acmeDomains: ['hooks.example.com'], acmeEmail: 'ops@example.com' } });
    expect(flagsOnly.config!.server.acme).toMatchObject({ domains: ['hooks.example.com'], email: 'ops@example.com' });
  });

  it('names the bad key', () => {
    const issues = (input: Omit<ResolveInput, 'cwd'>): string[] => resolve(input).errors.map((e) => `${e.path}: ${e.message}`);
    expect(issues({ written: { server: { acme: { domains: ['*.example.com'] } } } })[0]).toMatch(/^server\.acme\.domains\[0\]: expected a DNS name/);
    expect(issues({ written: { server: { acme: { domains: [] } } } })[0]).toBe('server.acme.domains: expected a non-empty list');
    expect(issues({ written: { server: { acme: { domains: ['a.example.com'], renewWhenRemaining: 1 } } } })[0]).toMatch(/^server\.acme\.renewWhenRemaining: expected a fraction/);
    expect(issues({ written: { server: { acme: { domains: ['a.example.com'], challenge: 'dns-01' } } } })[0]).toMatch(/^server\.acme\.challenge:/);
    expect(issues({ flags: { acmeDomains: ['https://hooks.example.com/'] } })[0]).toMatch(/^--acme-domain: "https:\/\/hooks\.example\.com\/" is not a DNS name/);
    expect(issues({ flags: { acmeDomains: ['127.0.0.1'] } })[0]).toMatch(/^--acme-domain: "127\.0\.0\.1" is not a DNS name/);
    expect(issues({ flags: { acmeDomains: ['a.example.com', 'A.example.com'] } })).toEqual(['--acme-domain: "a.example.com" is listed twice']);
    expect(issues({ flags: { acmeDomains: ['a.example.com'], acmeEmail: 'not-an-address' } })).toEqual(['--acme-email: expected an e-mail address']);
    expect(issues({ flags: { acmeDomains: ['a.example.com'], acmeDirectory: 'ftp://x' } })[0]).toMatch(/^--acme-directory: /);
    expect(issues({ flags: { acmeEmail: 'ops@example.com' } })).toEqual(['--acme-domain: required when --acme-email is set']);
    expect(issues({ flags: { acmeDomains: ['a.example.com'], acmeChallenge: 'dns-01' } })).toEqual(['--acme-challenge: expected "http-01" or "tls-alpn-01"']);
  });

  it('refuses ACME together with certificate files, a TLS proxy, or the same port for HTTP-01', () => {
    const paths = (input: Omit<ResolveInput, 'cwd'>): string[] => resolve(input).errors.map((e) => e.path);
    expect(paths({ flags: { acmeDomains: ['a.example.com'], tlsCert: 'c.pem', tlsKey: 'k.pem' } })).toEqual(['server.acme']);
    expect(paths({ flags: { acmeDomains: ['a.example.com'], behindProxy: true }, written: { channels: CHANNELS } })).toEqual(['server.acme']);
    expect(paths({ flags: { acmeDomains: ['a.example.com'], port: '80' } })).toEqual(['server.acme.httpPort']);
    expect(paths({ flags: { acmeDomains: ['a.example.com'], port: '80', acmeChallenge: 'tls-alpn-01' } })).toEqual([]);
  });

  it('still refuses plain HTTP on a public address without ACME, and says how to fix it', () => {
    const { errors } = resolve({ flags: { host: '0.0.0.0' }, written: { channels: CHANNELS } });
    expect(errors[0]).toMatchObject({ code: 'BT_ERR_CONFIG_UNSAFE', path: 'server.host' });
    expect(errors[0]!.message).toContain('server.acme (--acme-domain)');
  });
});
