import { describe, expect, it } from 'vitest';
import { closestName, editDistance, unknownEnvWarnings } from './env-names.js';
import { ENV, resolveConfig } from './resolve.js';

const KNOWN = Object.values(ENV);

describe('unknown BLUETICK_* variables', () => {
  it('counts swaps, drops and changes as one edit each', () => {
    expect(editDistance('AUTH', 'AUHT')).toBe(1);
    expect(editDistance('AUTH', 'AUT')).toBe(1);
    expect(editDistance('AUTH', 'AXTH')).toBe(1);
    expect(editDistance('', 'ABC')).toBe(3);
  });

  it('suggests the known name a typo was meant to be, and nothing for a stranger', () => {
    expect(closestName('BLUETICK_BASIC_AUHT', KNOWN)).toBe('BLUETICK_BASIC_AUTH');
    expect(closestName('BLUETICK_META_APP_SECRETS', KNOWN)).toBe('BLUETICK_META_APP_SECRET');
    expect(closestName('BLUETICK_ADMINTOKEN', KNOWN)).toBe('BLUETICK_ADMIN_TOKEN');
    expect(closestName('BLUETICK_TLS', KNOWN)).toBe('BLUETICK_TLS_CERT');
    expect(closestName('BLUETICK_FROBNICATE_EVERYTHING', KNOWN)).toBeUndefined();
  });

  it('warns once per unknown variable, never for known ones, the client URL or the test runs', () => {
    const warnings = unknownEnvWarnings(
      { BLUETICK_BASIC_AUHT: 'u:p', BLUETICK_PORT: '1', BLUETICK_URL: 'http://x', BLUETICK_TEST_POSTGRES_URL: 'postgres://x', BLUETICK_ZZZ_QQQ_XXXX: '1', HOME: '/' },
      KNOWN,
    );
    expect(warnings).toEqual([
      'BLUETICK_BASIC_AUHT is set but bluetick knows no such variable, so it is ignored; did you mean BLUETICK_BASIC_AUTH? (every variable: docs/configuration.md)',
      'BLUETICK_ZZZ_QQQ_XXXX is set but bluetick knows no such variable, so it is ignored (every variable: docs/configuration.md)',
    ]);
  });

  it('reaches the start-up warnings through resolveConfig', () => {
    const { warnings } = resolveConfig({ env: { BLUETICK_PROT: '9000' }, cwd: '/srv' });
    expect(warnings).toContainEqual(expect.stringContaining('BLUETICK_PROT is set but bluetick knows no such variable, so it is ignored; did you mean BLUETICK_PORT?'));
  });
});
