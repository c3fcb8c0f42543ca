/**
 * Access: the audit log (who redrove, replayed, erased, created or revoked a token, which
 * tokens were used, which calls a role was refused) and, for admins, the API tokens with
 * their roles, a form to create one (its text shown once) and revoke buttons.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, asPage } from './api.js';
import { can, whoami } from './role.js';
import { Badge, Empty, Loaded, PageHeader, Table, Time, useApi, type Tone } from './ui.js';

interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target?: string;
  detail?: string;
}

interface ApiToken {
  name: string;
  role: string;
  prefix: string;
  maskText: boolean;
  createdAt: string;
  createdBy?: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

const ROLES: Array<{ value: string; hint: string }> = [
  { value: 'viewer', hint: 'reads everything but tokens and the audit log' },
  { value: 'operator', hint: 'reads, redrives, replays, drops dead letters, probes sinks' },
  { value: 'sender', hint: 'records outbound messages (POST /api/outbound), nothing else' },
  { value: 'admin', hint: 'everything, tokens included' },
];

function actionTone(e: AuditEntry): Tone {
  if (e.action === 'access.refused') return 'bad';
  if (e.action === 'token.use') return 'neutral';
  if (e.detail !== undefined && !/^status 2\d\d\b/.test(e.detail)) return 'warn';
  return 'info';
}

function AuditLog(): JSX.Element {
  const [hideUse, setHideUse] = useState(true);
  const state = useApi<unknown>('/api/audit', { pollMs: 10_000, query: { order: 'desc', limit: 200 } });
  return (
    <section class="panel" aria-labelledby="a-log">
      <div class="panel-head">
        <h2 id="a-log">Audit log</h2>
        <label class="check small">
          <input type="checkbox" checked={hideUse} onChange={(e) => setHideUse((e.target as HTMLInputElement).checked)} /> Hide token use
        </label>
      </div>
      <Loaded state={state} what="audit log" endpoint="GET /api/audit">
        {(data) => {
          const items = asPage<AuditEntry>(data).items.filter((e) => !hideUse || e.action !== 'token.use');
          if (items.length === 0) return <Empty>Nothing recorded yet: redrives, replays, erasures and token changes appear here.</Empty>;
          return (
            <Table label="Audit log, newest first" columns={['When', 'Who', 'Action', 'On', 'Detail']} class="stack audit">
              {items.map((e) => (
                <tr key={e.id} data-audit-action={e.action}>
                  <td data-label="When" class="nowrap">
                    <Time value={e.at} />
                  </td>
                  <td data-label="Who">
                    {e.actor} <span class="muted small">{e.role}</span>
                  </td>
                  <td data-label="Action">
                    <Badge tone={actionTone(e)}>{e.action}</Badge>
                  </td>
                  <td data-label="On" class="mono small">
                    {e.target ?? ''}
                  </td>
                  <td data-label="Detail" class="mono small truncate" title={e.detail}>
                    {e.detail ?? ''}
                  </td>
                </tr>
              ))}
            </Table>
          );
        }}
      </Loaded>
    </section>
  );
}

function NewToken({ onCreated }: { onCreated: () => void }): JSX.Element {
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [mask, setMask] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [created, setCreated] = useState<{ name: string; token: string } | undefined>(undefined);

  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      const t = await api<ApiToken & { token: string }>('/api/tokens', { method: 'POST', body: { name: name.trim(), role, ...(mask ? { maskText: true } : {}) } });
      setCreated({ name: t.name, token: t.token });
      setName('');
      onCreated();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="grid"
      aria-label="Create an API token"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div class="filters">
        <div class="field">
          <label for="t-name">Name</label>
          <input id="t-name" value={name} required maxLength={64} pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" spellcheck={false} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="t-role">Role</label>
          <select id="t-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.value}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-check">
          <label class="check">
            <input type="checkbox" checked={mask} onChange={(e) => setMask((e.target as HTMLInputElement).checked)} /> Mask message text
          </label>
        </div>
      </div>
      <div class="confirm-row">
        <button type="submit" class="btn btn-primary" disabled={busy || name.trim() === ''}>
          {busy ? 'Creating…' : 'Create token'}
        </button>
      </div>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
      {created && (
        <div class="state state-ok" role="status">
          <p>
            Token <strong>{created.name}</strong>, shown this once (the server keeps only its digest):
          </p>
          <p>
            <code class="mono token-text">{created.token}</code>
          </p>
        </div>
      )}
    </form>
  );
}

function Tokens(): JSX.Element {
  const state = useApi<unknown>('/api/tokens');
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const revoke = async (name: string): Promise<void> => {
    setBusy(name);
    try {
      await api(`/api/tokens/${encodeURIComponent(name)}`, { method: 'DELETE' });
    } finally {
      setBusy(undefined);
      state.reload();
    }
  };
  return (
    <section class="panel" aria-labelledby="a-tokens">
      <h2 id="a-tokens">API tokens</h2>
      <p class="small muted">The admin token from the server's configuration (or its data folder) is not listed: it always has every right.</p>
      <Loaded state={state} what="tokens" endpoint="GET /api/tokens">
        {(data) => {
          const items = asPage<ApiToken>(data).items;
          if (items.length === 0) return <Empty>No tokens yet. Create one per person or script, with the least role it needs.</Empty>;
          return (
            <Table label="API tokens" columns={['Name', 'Role', 'Token', 'Created', 'Last used', '']}>
              {items.map((t) => (
                <tr key={t.name} class={t.revokedAt !== undefined ? 'stale' : undefined}>
                  <td data-label="Name">{t.name}</td>
                  <td data-label="Role">
                    <Badge tone={t.role === 'admin' ? 'warn' : 'info'}>{t.role}</Badge>
                    {t.maskText ? <span class="muted small"> text masked</span> : null}
                  </td>
                  <td data-label="Token" class="mono small">
                    {t.prefix}…
                  </td>
                  <td data-label="Created" class="nowrap">
                    <Time value={t.createdAt} />
                  </td>
                  <td data-label="Last used" class="nowrap">
                    {t.lastUsedAt !== undefined ? <Time value={t.lastUsedAt} /> : <span class="muted">never</span>}
                  </td>
                  <td data-label="" class="nowrap">
                    {t.revokedAt !== undefined ? (
                      <span class="muted small">
                        revoked <Time value={t.revokedAt} />
                      </span>
                    ) : (
                      <button type="button" class="btn btn-small" disabled={busy !== undefined} onClick={() => void revoke(t.name)} aria-label={`Revoke token ${t.name}`}>
                        {busy === t.name ? 'Revoking…' : 'Revoke'}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          );
        }}
      </Loaded>
      <h3 class="access-new">New token</h3>
      <p class="small muted">{ROLES.map((r) => `${r.value}: ${r.hint}`).join(' · ')}</p>
      <NewToken onCreated={state.reload} />
    </section>
  );
}

export function Access(): JSX.Element {
  const who = whoami();
  return (
    <>
      <PageHeader title="Access">
        <span class="muted small">
          Signed in as {who.name} ({who.role})
        </span>
      </PageHeader>
      {can().admin && <Tokens />}
      {can().audit ? <AuditLog /> : <Empty>The {who.role} role cannot read the audit log.</Empty>}
    </>
  );
}
