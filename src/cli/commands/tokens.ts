/**
 * @module cli/commands/tokens
 *
 * `bluetick tokens [list]`, `bluetick tokens create NAME --role ROLE [--mask-text]` and
 * `bluetick tokens revoke NAME`: API tokens with a role, through a running server's `/api`
 * (with the admin token). A new token's text is printed once; the server keeps its digest.
 */
import { ExitError } from '../../errors.js';
import { ROLES } from '../../store/access.js';
import { ApiClient } from '../api-client.js';

export interface TokensOptions {
  url?: string;
  token?: string;
  data?: string;
  role?: string;
  maskText?: boolean;
  json?: boolean;
}

export interface TokensIo {
  stdout: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

interface TokenView {
  name: string;
  role: string;
  prefix: string;
  maskText: boolean;
  createdAt: string;
  lastUsedAt?: string;
  revokedAt?: string;
  token?: string;
}

function line(t: TokenView): string {
  const state = t.revokedAt !== undefined ? `revoked ${t.revokedAt}` : t.lastUsedAt !== undefined ? `last used ${t.lastUsedAt}` : 'never used';
  return [t.name, t.role, `${t.prefix}…`, t.maskText ? 'text masked' : '', `created ${t.createdAt}`, state].filter(Boolean).join('  ');
}

export async function runTokens(action: string, names: string[], opts: TokensOptions, io: TokensIo): Promise<number> {
  const out = (text: string) => io.stdout.write(`${text}\n`);
  const one = (): string => {
    if (names.length !== 1) throw new ExitError(2, `tokens ${action}: give one token name`);
    return names[0]!;
  };
  if (action === 'list') {
    if (names.length > 0) throw new ExitError(2, 'tokens list takes no names');
    const { items } = await new ApiClient(opts, io.env).get<{ items: TokenView[] }>('/api/tokens');
    if (opts.json) for (const t of items) out(JSON.stringify(t));
    else if (items.length === 0) out('no tokens yet (bluetick tokens create NAME --role viewer)');
    else for (const t of items) out(line(t));
    return 0;
  }
  if (action === 'create') {
    const name = one();
    if (opts.role === undefined || !(ROLES as readonly string[]).includes(opts.role)) {
      throw new ExitError(2, `tokens create: --role must be one of ${ROLES.join(', ')}`);
    }
    const body = { name, role: opts.role, ...(opts.maskText ? { maskText: true } : {}) };
    const created = await new ApiClient(opts, io.env).post<TokenView>('/api/tokens', body);
    if (opts.json) out(JSON.stringify(created));
    else {
      out(`${created.name} (${created.role}${created.maskText ? ', text masked' : ''}): ${created.token}`);
      out('This is the only time the token is shown; the server keeps only its digest.');
    }
    return 0;
  }
  if (action === 'revoke') {
    const name = one();
    const revoked = await new ApiClient(opts, io.env).delete<TokenView>(`/api/tokens/${encodeURIComponent(name)}`);
    out(opts.json ? JSON.stringify(revoked) : `${revoked.name}: revoked ${revoked.revokedAt ?? ''}; it stops working at once`);
    return 0;
  }
  throw new ExitError(2, `tokens: unknown action "${action}" (expected list, create or revoke)`);
}
