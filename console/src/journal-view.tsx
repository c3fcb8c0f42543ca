/** A journal row (one POST as received): its raw body, its headers with secrets masked, and its facts. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { formatBytes } from './format.js';
import type { JournalBody, JournalRow } from './types.js';
import { Badge, Facts, Table, Time, type Tone } from './ui.js';

const SECRET_HEADER = /authorization|signature|secret|token|cookie|api[-_]?key|password/i;

/** The server masks secrets before storing headers; anything that still looks like one is masked here too. */
export function maskHeader(name: string, value: string): { value: string; masked: boolean } {
  if (!SECRET_HEADER.test(name)) return { value, masked: false };
  if (/\*{3}|…|redacted|masked/i.test(value)) return { value, masked: true };
  const scheme = /^(Basic|Bearer|sha256=)\s*/i.exec(value)?.[0] ?? '';
  return { value: `${scheme}••••••`, masked: true };
}

export function verifiedByText(v: JournalRow['verifiedBy'] | undefined): string {
  switch (v) {
    case 'basic':
      return 'HTTP Basic auth (the user and password set for the channel)';
    case 'meta-signature':
      return 'Meta X-Hub-Signature-256 (HMAC-SHA256 of the raw body with the app secret)';
    case 'meta-signature-escaped':
      return "Meta X-Hub-Signature-256, computed over the body with non-ASCII characters escaped (as Meta signs them)";
    case 'none':
      return 'no credentials: the channel accepts unauthenticated POSTs (loopback only)';
    default:
      return 'unknown';
  }
}

export function journalStateTone(state: JournalRow['state']): Tone {
  switch (state) {
    case 'processed':
      return 'ok';
    case 'duplicate':
      return 'neutral';
    case 'pending':
      return 'info';
    default:
      return 'bad';
  }
}

function decodeBase64(b64: string): string {
  try {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  } catch {
    return '';
  }
}

/** The body exactly as received; an optional pretty-printed view for JSON. */
export function RawBody({ body, label = 'Raw body' }: { body: JournalBody | undefined; label?: string }): JSX.Element {
  const [pretty, setPretty] = useState(false);
  if (!body) return <p class="muted">The body is not available.</p>;
  const text = body.text;
  let formatted: string | undefined;
  if (text !== undefined) {
    try {
      formatted = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      formatted = undefined;
    }
  }
  const shown = text === undefined ? decodeBase64(body.base64) : pretty && formatted !== undefined ? formatted : text;
  return (
    <div class="raw-body">
      <div class="panel-head">
        <span class="muted small">
          {formatBytes(body.size)}
          {text === undefined ? ' · not valid UTF-8: invalid bytes shown as �' : pretty ? ' · formatted for reading' : ' · exactly as received'}
        </span>
        {formatted !== undefined && (
          <label class="small check">
            <input type="checkbox" checked={pretty} onChange={(e) => setPretty((e.target as HTMLInputElement).checked)} />
            Format JSON
          </label>
        )}
      </div>
      <pre class="code code-wrap" tabIndex={0} aria-label={label} data-testid="raw-body">
        {shown}
      </pre>
    </div>
  );
}

export function HeadersTable({ headers }: { headers: Record<string, string> }): JSX.Element {
  const entries = Object.entries(headers).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <p class="muted">No headers were kept.</p>;
  return (
    <Table label="Request headers (secrets masked)" class="headers" columns={['Header', 'Value']}>
      {entries.map(([name, value]) => {
        const m = maskHeader(name, value);
        return (
          <tr key={name}>
            <td>{name}</td>
            <td class={m.masked ? 'masked' : undefined}>
              {m.value}
              {m.masked && <span class="sr-only"> (masked)</span>}
            </td>
          </tr>
        );
      })}
    </Table>
  );
}

export function JournalFacts({ row, duplicates }: { row: JournalRow; duplicates?: number }): JSX.Element {
  return (
    <Facts
      items={[
        ['Journal row', <span class="mono">#{row.id}</span>],
        ['Received', <Time value={row.receivedAt} ms />],
        ['Channel', row.channel],
        ['Remote address', row.remoteAddress],
        ['Verified by', row.verifiedBy],
        [
          'State',
          <>
            <Badge tone={journalStateTone(row.state)}>{row.state}</Badge>
            {row.cause ? <span class="small"> {row.cause}</span> : null}
          </>,
        ],
        ['Normalized', row.processedAt ? <Time value={row.processedAt} ms /> : undefined],
        ['Items → events', `${row.eventCount} events, ${row.newEventCount} new`],
        ['Body size', formatBytes(row.body?.size ?? row.size)],
        ['This event redelivered', duplicates === undefined ? undefined : duplicates === 0 ? 'never' : `${duplicates} time${duplicates === 1 ? '' : 's'} by later POSTs`],
      ]}
    />
  );
}
