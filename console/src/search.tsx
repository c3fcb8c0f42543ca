/**
 * Search: the box in the top bar, and the results screen at `/search?q=` (messages,
 * contacts, templates and outbound records, newest first, from `GET /api/search`).
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { formatPhone } from './format.js';
import { Link, navigate, seg, useLocation } from './router.js';
import { Badge, Empty, Loaded, PageHeader, Table, Time, useApi } from './ui.js';

interface Hit {
  kind: 'message' | 'contact' | 'template' | 'outbound';
  ref: string;
  title: string;
  at: string;
  path: string;
}

/** Where a result opens in the console. */
function hrefOf(hit: Hit): string {
  switch (hit.kind) {
    case 'message':
    case 'outbound':
      return `/messages/${seg(hit.ref)}`;
    case 'template':
      return `/templates/${seg(hit.ref)}`;
    case 'contact':
      // Everything that names the number: its messages and records.
      return `/search?q=${encodeURIComponent(hit.ref)}`;
  }
}

const KIND_LABEL: Record<Hit['kind'], string> = { message: 'message', contact: 'contact', template: 'template', outbound: 'sent' };

export function SearchBox(): JSX.Element {
  const { path, search } = useLocation();
  const [q, setQ] = useState(path === '/search' ? (search.get('q') ?? '') : '');
  useEffect(() => {
    if (path === '/search') setQ(search.get('q') ?? '');
  }, [path, search.get('q')]);
  return (
    <form
      class="topbar-search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (q.trim() !== '') navigate(`/search?q=${encodeURIComponent(q.trim())}`);
      }}
    >
      <label for="top-search" class="sr-only">
        Search
      </label>
      <input id="top-search" type="search" placeholder="Search names, numbers, ids, text…" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
    </form>
  );
}

export function SearchResults(): JSX.Element {
  const { search } = useLocation();
  const q = search.get('q') ?? '';
  const state = useApi<{ items: Hit[] }>(q.trim() === '' ? null : '/api/search', { query: { q, limit: 100 } });
  return (
    <>
      <PageHeader title="Search">{q !== '' && <span class="muted small">Results for “{q}”</span>}</PageHeader>
      <section class="panel" aria-label="Search results">
        {q.trim() === '' ? (
          <Empty>Type a name, a number, a message id, a template name or words from a message in the search box.</Empty>
        ) : (
          <Loaded state={state} what="search results" endpoint="GET /api/search">
            {(data) =>
              data.items.length === 0 ? (
                <Empty>Nothing matches “{q}”. Every word must match the start of a word; events appear here moments after they arrive.</Empty>
              ) : (
                <Table label="Search results" columns={['Kind', 'Result', 'Reference', 'Latest']}>
                  {data.items.map((h) => (
                    <tr key={`${h.kind}:${h.ref}`} data-kind={h.kind}>
                      <td data-label="Kind">
                        <Badge tone={h.kind === 'message' ? 'info' : 'neutral'}>{KIND_LABEL[h.kind]}</Badge>
                      </td>
                      <td data-label="Result">
                        <Link href={hrefOf(h)}>{h.kind === 'contact' && /^\d+$/.test(h.title) ? formatPhone(h.title) : h.title}</Link>
                      </td>
                      <td data-label="Reference" class="mono small truncate" title={h.ref}>
                        {h.ref}
                      </td>
                      <td data-label="Latest" class="nowrap">
                        <Time value={h.at} />
                      </td>
                    </tr>
                  ))}
                </Table>
              )
            }
          </Loaded>
        )}
      </section>
    </>
  );
}
