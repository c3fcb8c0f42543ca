/**
 * The overview's disk panel: what the store takes by data class (size, rows, oldest item),
 * the data folder's files, and the free space of their disk (`GET /api/storage`). The server
 * measures the store at most once a minute, so the panel asks at that pace.
 */
import type { JSX } from 'preact';
import { formatBytes, formatNumber, formatPercent } from './format.js';
import type { Storage } from './types.js';
import { Badge, Loaded, Table, Time, useApi } from './ui.js';

const STORAGE_POLL_MS = 60_000;

function DiskLine({ disk }: { disk: NonNullable<Storage['disk']> }): JSX.Element {
  return (
    <p class="small" data-testid="disk-free">
      Disk free: <strong>{formatBytes(disk.freeBytes)}</strong> of {formatBytes(disk.totalBytes)} ({formatPercent(disk.freeBytes, disk.totalBytes)}){' '}
      {disk.low ? (
        <Badge tone="bad" title="server.minFreeDiskBytes">
          under {formatBytes(disk.minFreeBytes)}
        </Badge>
      ) : (
        <Badge tone="ok">enough</Badge>
      )}
    </p>
  );
}

export function StoragePanel(): JSX.Element {
  const state = useApi<Storage>('/api/storage', { pollMs: STORAGE_POLL_MS });
  return (
    <section class="panel" aria-labelledby="storage" data-testid="storage-panel">
      <div class="panel-head">
        <h2 id="storage">Disk use</h2>
        {state.data && (
          <span class="muted small">
            {state.data.dialect} store {formatBytes(state.data.totalBytes)} · measured <Time value={state.data.measuredAt} />
          </span>
        )}
      </div>
      <Loaded state={state} what="disk use" endpoint="GET /api/storage">
        {(s) => (
          <>
            <Table label="Store size by data class" columns={['Data class', 'Size', 'Rows', 'Oldest', 'Kept']}>
              {s.classes.map((c) => (
                <tr key={c.name} data-class={c.name}>
                  <td data-label="Data class" title={c.tables.join(', ')}>
                    {c.label}
                  </td>
                  <td data-label="Size" class="nowrap" title={c.bytesEstimated ? 'a share of the events table, estimated from a sample of bodies' : undefined}>
                    {s.sizing === 'unavailable' ? '—' : `${c.bytesEstimated ? '~' : ''}${formatBytes(c.bytes)}`}
                  </td>
                  <td data-label="Rows">{c.rows === undefined ? <span class="muted">—</span> : formatNumber(c.rows)}</td>
                  <td data-label="Oldest" class="nowrap">
                    {c.oldestAt ? <Time value={c.oldestAt} /> : <span class="muted">—</span>}
                  </td>
                  <td data-label="Kept" class="nowrap" title={c.retention ? `retention.${c.retention.rule}` : undefined}>
                    {c.retention ? keptFor(c.retention) : <span class="muted">—</span>}
                  </td>
                </tr>
              ))}
            </Table>
            {s.files.length > 0 && (
              <p class="small muted">
                Files: {s.files.map((f) => `${f.name} ${formatBytes(f.bytes)}`).join(' · ')}
              </p>
            )}
            {s.disk && <DiskLine disk={s.disk} />}
          </>
        )}
      </Loaded>
    </section>
  );
}

/** `30d`, `90d, then redacted`, `for ever`. */
function keptFor(retention: { keep: string; action: 'deleted' | 'redacted' }): string {
  if (retention.keep === 'none') return 'for ever';
  return retention.action === 'redacted' ? `${retention.keep}, then redacted` : retention.keep;
}
