/**
 * Templates board: every template with its review status, quality and category, coloured
 * by health, with its history. Paused and disabled templates come first and stand out.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { asPage } from './api.js';
import { plural } from './format.js';
import { seg } from './router.js';
import type { Template } from './types.js';
import { Badge, Empty, Loaded, PageHeader, Time, useApi, type Tone } from './ui.js';

const ATTENTION = new Set(['PAUSED', 'DISABLED', 'FLAGGED']);

export function statusTone(status: string | undefined): Tone {
  switch ((status ?? '').toUpperCase()) {
    case 'APPROVED':
    case 'REINSTATED':
      return 'ok';
    case 'PENDING':
    case 'IN_APPEAL':
    case 'PENDING_DELETION':
      return 'info';
    case 'PAUSED':
    case 'FLAGGED':
    case 'LIMIT_EXCEEDED':
      return 'warn';
    case 'REJECTED':
    case 'DISABLED':
    case 'DELETED':
    case 'ACCOUNT_RESTRICTION':
      return 'bad';
    default:
      return 'neutral';
  }
}

export function qualityTone(quality: string | undefined): Tone {
  switch ((quality ?? '').toUpperCase()) {
    case 'GREEN':
    case 'HIGH':
      return 'ok';
    case 'YELLOW':
    case 'MEDIUM':
      return 'warn';
    case 'RED':
    case 'LOW':
      return 'bad';
    default:
      return 'neutral';
  }
}

const RANK: Record<Tone, number> = { bad: 4, warn: 3, info: 2, ok: 1, neutral: 0 };

function health(t: Template): Tone {
  const a = statusTone(t.status);
  const b = qualityTone(t.quality);
  return RANK[a] >= RANK[b] ? a : b;
}

function needsAttention(t: Template): boolean {
  return ATTENTION.has((t.status ?? '').toUpperCase());
}

function historyLabel(type: string): string {
  if (type === 'template.components') return 'content';
  return type === 'template.status' ? 'status' : type === 'template.quality' ? 'quality' : 'category';
}

function TemplateCard({ t, open }: { t: Template; open: boolean }): JSX.Element {
  const tone = health(t);
  const attention = needsAttention(t);
  const history = [...t.history].reverse();
  return (
    <article
      class={`template health-${tone}${attention ? ' attention' : ''}`}
      id={`template-${t.key}`}
      data-status={t.status ?? ''}
      aria-labelledby={`tn-${seg(t.key)}`}
    >
      <div class="template-head">
        <div>
          <div class="template-name" id={`tn-${seg(t.key)}`}>
            {t.name ?? t.templateId ?? t.key}
          </div>
          <div class="small muted">
            {t.language ?? 'language not given'}
            {t.templateId ? ` · id ${t.templateId}` : ''}
          </div>
        </div>
        {attention && <Badge tone={tone === 'bad' ? 'bad' : 'warn'}>Needs attention</Badge>}
      </div>
      <div class="template-badges">
        <Badge tone={statusTone(t.status)} title="Review status">
          {t.status ?? 'status unknown'}
        </Badge>
        <Badge tone={qualityTone(t.quality)} title="Quality score">
          quality {t.quality ?? 'unknown'}
        </Badge>
        <Badge tone="neutral" title="Category">
          {t.category ?? 'category unknown'}
        </Badge>
      </div>
      {t.reason && t.reason !== 'NONE' && <p class="template-reason">Reason: {t.reason}</p>}
      {t.components?.body && (
        <p class="small" title="Content, from the latest components update">
          “{t.components.body}”{t.components.buttons?.length ? <span class="muted"> · {t.components.buttons.join(' · ')}</span> : null}
        </p>
      )}
      <div class="small muted">
        Updated <Time value={t.updatedAt} />
      </div>
      <details open={open}>
        <summary>History ({t.history.length})</summary>
        <ol class="history" reversed>
          {history.map((h) => (
            <li key={h.eventId}>
              <Time value={h.occurredAt ?? h.receivedAt} /> · {historyLabel(h.type)}{' '}
              <Badge tone={h.type === 'template.quality' ? qualityTone(h.status) : h.type === 'template.status' ? statusTone(h.status) : 'neutral'}>
                {h.status ?? (h.type === 'template.components' ? 'changed' : '?')}
              </Badge>
              {h.reason && h.reason !== 'NONE' ? <span class="muted"> {h.reason}</span> : null}
            </li>
          ))}
        </ol>
      </details>
    </article>
  );
}

export function Templates({ selected }: { selected?: string }): JSX.Element {
  const state = useApi<unknown>('/api/templates', { query: { limit: 1000 }, pollMs: 30_000 });
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const all = useMemo(() => (state.data === undefined ? [] : asPage<Template>(state.data).items), [state.data]);
  const statuses = useMemo(() => [...new Set(all.map((t) => t.status ?? ''))].filter((s) => s !== '').sort(), [all]);
  const shown = useMemo(() => {
    const q = filter.trim().toLowerCase();
    return all
      .filter((t) => status === '' || t.status === status)
      .filter((t) => q === '' || [t.name, t.templateId, t.language, t.category].some((v) => v?.toLowerCase().includes(q)))
      .sort((a, b) => RANK[health(b)] - RANK[health(a)] || (a.name ?? a.key).localeCompare(b.name ?? b.key));
  }, [all, filter, status]);
  const attention = shown.filter(needsAttention);
  const rest = shown.filter((t) => !needsAttention(t));

  useEffect(() => {
    if (selected && all.length > 0) document.getElementById(`template-${selected}`)?.scrollIntoView({ block: 'center' });
  }, [selected, all.length]);

  return (
    <>
      <PageHeader title="Templates">
        {all.length > 0 && (
          <span class="muted small">
            {plural(all.length, 'template')} · {all.filter(needsAttention).length} need attention
          </span>
        )}
      </PageHeader>
      <form class="panel filters" role="search" aria-label="Filter templates" onSubmit={(e) => e.preventDefault()}>
        <div class="field field-grow">
          <label for="t-search">Search</label>
          <input id="t-search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} placeholder="name, id, language, category" />
        </div>
        <div class="field">
          <label for="t-status">Status</label>
          <select id="t-status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">Any status</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </form>
      <Loaded state={state} what="templates" endpoint="GET /api/templates">
        {() =>
          all.length === 0 ? (
            <Empty>No template events yet. Template status, quality and category updates appear here.</Empty>
          ) : (
            <>
              {attention.length > 0 && (
                <section aria-labelledby="t-attention" class="grid">
                  <h2 id="t-attention">Paused or disabled</h2>
                  <div class="template-grid">
                    {attention.map((t) => (
                      <TemplateCard t={t} key={t.key} open={t.key === selected} />
                    ))}
                  </div>
                </section>
              )}
              <section aria-labelledby="t-all" class="grid">
                <h2 id="t-all">{attention.length > 0 ? 'Other templates' : 'All templates'}</h2>
                {rest.length === 0 ? (
                  <Empty>None.</Empty>
                ) : (
                  <div class="template-grid">
                    {rest.map((t) => (
                      <TemplateCard t={t} key={t.key} open={t.key === selected} />
                    ))}
                  </div>
                )}
              </section>
            </>
          )
        }
      </Loaded>
    </>
  );
}
