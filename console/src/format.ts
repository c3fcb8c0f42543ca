/** Formatting helpers: times, durations, numbers. */

export function toMs(value: string | number | undefined | null): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `2025-06-15 14:03:22` in local time; with `ms`, `.123` too. */
export function formatTime(value: string | number | undefined | null, ms = false): string {
  const t = toMs(value);
  if (t === undefined) return '—';
  const d = new Date(t);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return ms ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** `14:03:22` (local), for rows that are all from today. */
export function formatClock(value: string | number | undefined | null): string {
  const t = toMs(value);
  if (t === undefined) return '—';
  const d = new Date(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const sign = ms < 0 ? '−' : '';
  const a = Math.abs(ms);
  if (a < 1_000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(a / 1_000).toFixed(a < 10_000 ? 1 : 0)} s`;
  if (a < 3_600_000) {
    const s = Math.round(a / 1_000);
    const m = Math.floor(s / 60);
    return `${sign}${m} min${s % 60 > 0 ? ` ${s % 60} s` : ''}`;
  }
  if (a < 86_400_000) {
    const mins = Math.round(a / 60_000);
    const h = Math.floor(mins / 60);
    return `${sign}${h} h${mins % 60 > 0 ? ` ${mins % 60} min` : ''}`;
  }
  const hours = Math.round(a / 3_600_000);
  const d = Math.floor(hours / 24);
  return `${sign}${d} d${hours % 24 > 0 ? ` ${hours % 24} h` : ''}`;
}

/** `5 min ago`, `in 3 h`. */
export function formatRelative(value: string | number | undefined | null, now = Date.now()): string {
  const t = toMs(value);
  if (t === undefined) return '—';
  const diff = t - now;
  if (Math.abs(diff) < 5_000) return 'just now';
  return diff < 0 ? `${formatDuration(-diff)} ago` : `in ${formatDuration(diff)}`;
}

export function formatNumber(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '—';
  const p = (part / whole) * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/** A phone number / wa_id as `+91 99999 99999`-ish: only spaced for reading, never altered. */
export function formatPhone(value: string | undefined): string {
  if (value === undefined || value === '') return '—';
  if (!/^\d{8,15}$/.test(value)) return value;
  return `+${value}`;
}

/** `1 conversation`, `3 conversations`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatNumber(n)} ${n === 1 ? one : many}`;
}
