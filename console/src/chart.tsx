/** A small inline SVG line chart: time on x, one or more series on y. No library. */
import type { JSX } from 'preact';
import { formatClock } from './format.js';

export interface Series {
  name: string;
  className: string;
  points: Array<[number, number | undefined]>;
  area?: boolean;
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (value <= m * exp) return m * exp;
  }
  return 10 * exp;
}

function formatTick(value: number): string {
  if (value >= 1000) return `${Math.round(value / 100) / 10}k`;
  if (value >= 10 || Number.isInteger(value)) return String(Math.round(value));
  return value.toFixed(1);
}

export function LineChart({
  series,
  from,
  to,
  unit,
  label,
}: {
  series: Series[];
  from: number;
  to: number;
  unit: string;
  label: string;
}): JSX.Element {
  const width = 560;
  const height = 170;
  const left = 40;
  const right = 10;
  const top = 10;
  const bottom = 24;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = series.flatMap((s) => s.points.map(([, v]) => v).filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const max = niceMax(Math.max(0, ...values) * 1.1);
  const span = Math.max(1, to - from);
  const x = (t: number): number => left + ((t - from) / span) * plotW;
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const ticks = [0, max / 2, max];
  const timeTicks = [from, from + span / 2, to];

  const paths = series.map((s) => {
    let d = '';
    let pen = false;
    let firstX: number | undefined;
    let lastX: number | undefined;
    for (const [t, v] of s.points) {
      if (v === undefined || !Number.isFinite(v)) {
        pen = false;
        continue;
      }
      const px = x(t).toFixed(1);
      const py = y(v).toFixed(1);
      d += `${pen ? 'L' : 'M'}${px},${py}`;
      pen = true;
      firstX ??= x(t);
      lastX = x(t);
    }
    const area =
      s.area && d !== '' && firstX !== undefined && lastX !== undefined && !d.slice(1).includes('M')
        ? `${d}L${lastX.toFixed(1)},${y(0).toFixed(1)}L${firstX.toFixed(1)},${y(0).toFixed(1)}Z`
        : undefined;
    return { s, d, area };
  });

  const latest = series.map((s) => {
    const last = [...s.points].reverse().find(([, v]) => v !== undefined);
    return `${s.name} ${last && last[1] !== undefined ? `${formatTick(last[1])} ${unit}` : 'no data'}`;
  });

  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}. Latest: ${latest.join(', ')}.`}>
      {ticks.map((t) => (
        <g key={t}>
          <line class="grid-line" x1={left} x2={width - right} y1={y(t)} y2={y(t)} />
          <text class="axis-label" x={left - 6} y={y(t) + 3.5} text-anchor="end">
            {formatTick(t)}
          </text>
        </g>
      ))}
      <line class="axis" x1={left} x2={width - right} y1={y(0)} y2={y(0)} />
      {timeTicks.map((t, i) => (
        <text
          key={i}
          class="axis-label"
          x={x(t)}
          y={height - 6}
          text-anchor={i === 0 ? 'start' : i === timeTicks.length - 1 ? 'end' : 'middle'}
        >
          {formatClock(t).slice(0, 5)}
        </text>
      ))}
      {paths.map(({ s, d, area }) => (
        <g key={s.name}>
          {area && <path class={`area-${s.className.replace('series-', '')}`} d={area} />}
          {d !== '' && <path class={s.className} d={d} />}
        </g>
      ))}
    </svg>
  );
}
