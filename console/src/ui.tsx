/** Shared building blocks: data loading, states (loading, error, not available), ticks, badges. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, type RequestOptions } from './api.js';
import { formatTime } from './format.js';

export interface ApiState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `path` (skipped when null), again whenever `path` changes, and every `pollMs` when
 * given. Keeps the last good data while a reload runs or fails.
 */
export function useApi<T>(path: string | null, opts: { pollMs?: number; query?: RequestOptions['query'] } = {}): ApiState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const queryKey = JSON.stringify(opts.query ?? {});
  const lastKey = useRef<string | undefined>(undefined);

  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return;
    }
    const key = `${path}?${queryKey}`;
    if (lastKey.current !== key) {
      // A different resource: do not show the previous one's data meanwhile.
      setData(undefined);
      setError(undefined);
      lastKey.current = key;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (): Promise<void> => {
      setLoading(true);
      try {
        const body = await api<T>(path, { signal: controller.signal, query: opts.query });
        setData(body);
        setError(undefined);
      } catch (err) {
        if (controller.signal.aborted) return;
        setError(err);
        // No point polling an endpoint that does not exist or a token that was refused.
        if (err instanceof ApiError && (err.unavailable || err.status === 401)) return;
      } finally {
        if (!controller.signal.aborted) setLoading(false);
      }
      if (opts.pollMs !== undefined && !controller.signal.aborted) {
        timer = setTimeout(() => void load(), opts.pollMs);
      }
    };
    void load();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [path, queryKey, tick, opts.pollMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export function isUnavailable(error: unknown): boolean {
  return error instanceof ApiError && error.unavailable;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && !error.unavailable;
}

export function Loading({ label = 'Loading…' }: { label?: string }): JSX.Element {
  return (
    <p class="state state-loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }): JSX.Element {
  return <p class="state state-empty">{children}</p>;
}

/** The server has no such endpoint (yet): say so rather than showing made-up data. */
export function NotAvailable({ what, endpoint }: { what: string; endpoint: string }): JSX.Element {
  return (
    <div class="state state-unavailable" role="note">
      <strong>{what} is not available on this server.</strong>
      <span>
        The console reads it from <code>{endpoint}</code>, which this bluetick does not serve.
      </span>
    </div>
  );
}

export function ErrorNote({ error, what }: { error: unknown; what?: string }): JSX.Element {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div class="state state-error" role="alert">
      <strong>{what ? `Could not load ${what}.` : 'Something went wrong.'}</strong> <span>{message}</span>
    </div>
  );
}

/**
 * The usual ladder for a loaded resource: not available, error, loading, then the content.
 * Data already shown stays on screen while a poll fails.
 */
export function Loaded<T>({
  state,
  what,
  endpoint,
  children,
}: {
  state: ApiState<T>;
  what: string;
  endpoint: string;
  children: (data: T) => ComponentChildren;
}): JSX.Element {
  if (isUnavailable(state.error)) return <NotAvailable what={what} endpoint={endpoint} />;
  if (state.data === undefined) {
    if (state.error !== undefined) return <ErrorNote error={state.error} what={what} />;
    return <Loading />;
  }
  return (
    <>
      {state.error !== undefined && <ErrorNote error={state.error} what={`the latest ${what}`} />}
      {children(state.data)}
    </>
  );
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'neutral';

export function Badge({ tone = 'neutral', children, title }: { tone?: Tone; children: ComponentChildren; title?: string }): JSX.Element {
  return (
    <span class={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

/** A WhatsApp-style status mark: one grey tick sent, two grey delivered, two blue read. */
export function Ticks({ status, label = true }: { status: string | undefined; label?: boolean }): JSX.Element {
  const s = status ?? 'pending';
  const text =
    s === 'sent'
      ? 'Sent'
      : s === 'delivered'
        ? 'Delivered'
        : s === 'read'
          ? 'Read'
          : s === 'played'
            ? 'Played'
            : s === 'failed'
              ? 'Failed'
              : s === 'pending'
                ? 'Pending'
                : s;
  let icon: JSX.Element;
  if (s === 'failed') {
    icon = (
      <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" class="tick-failed">
        <circle cx="8" cy="8" r="7" fill="currentColor" />
        <rect x="7.1" y="3.6" width="1.8" height="5.6" rx="0.9" fill="#fff" />
        <circle cx="8" cy="11.6" r="1.1" fill="#fff" />
      </svg>
    );
  } else if (s === 'sent') {
    icon = (
      <svg viewBox="0 0 16 12" width="16" height="12" aria-hidden="true" class="tick-grey">
        <path d="M2 6.5 5.5 10 13.5 2" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
      </svg>
    );
  } else if (s === 'delivered' || s === 'read' || s === 'played') {
    icon = (
      <svg viewBox="0 0 20 12" width="20" height="12" aria-hidden="true" class={s === 'delivered' ? 'tick-grey' : 'tick-blue'}>
        <path d="M1 6.5 4.5 10 12.5 2" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
        <path d="M8.5 9.2 9.3 10 17.3 2" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
      </svg>
    );
  } else {
    icon = (
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" class="tick-grey">
        <circle cx="8" cy="8" r="6.2" fill="none" stroke="currentColor" stroke-width="1.6" />
        <path d="M8 4.5V8l2.4 1.6" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" />
      </svg>
    );
  }
  return (
    <span class={`ticks ticks-${s.replace(/[^a-z]/gi, '')}`} data-status={s} title={text}>
      {icon}
      {label ? <span class="ticks-label">{text}</span> : <span class="sr-only">{text}</span>}
    </span>
  );
}

/** A `<time>` with the full date-time in its title and machine-readable attribute. */
export function Time({ value, ms = false, children }: { value: string | number | undefined; ms?: boolean; children?: ComponentChildren }): JSX.Element {
  if (value === undefined || value === '') return <span class="muted">—</span>;
  const iso = typeof value === 'number' ? new Date(value).toISOString() : value;
  return (
    <time dateTime={iso} title={formatTime(value, true)}>
      {children ?? formatTime(value, ms)}
    </time>
  );
}

/** Pretty-printed JSON in a scrollable block. */
export function JsonBlock({ value, label }: { value: unknown; label: string }): JSX.Element {
  return (
    <pre class="code" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** A definition list of label/value pairs; undefined values are left out. */
export function Facts({ items }: { items: Array<[string, ComponentChildren | undefined]> }): JSX.Element {
  return (
    <dl class="facts">
      {items
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => (
          <div class="fact" key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }): JSX.Element {
  useEffect(() => {
    document.title = `${title} · bluetick`;
  }, [title]);
  return (
    <header class="page-header">
      <h1 id="page-title" tabIndex={-1}>
        {title}
      </h1>
      {children && <div class="page-actions">{children}</div>}
    </header>
  );
}

/** A "Load more" button for cursor-paged lists. */
export function MoreButton({ onClick, busy }: { onClick: () => void; busy: boolean }): JSX.Element {
  return (
    <div class="more">
      <button type="button" class="btn" onClick={onClick} disabled={busy}>
        {busy ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}

/** A table in its scrolling wrapper, with one header row naming the columns; `children` are the body rows. */
export function Table({
  label,
  columns,
  class: className = 'stack',
  children,
}: {
  label: string;
  columns: string[];
  class?: string;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <div class="table-wrap">
      <table class={className} aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
