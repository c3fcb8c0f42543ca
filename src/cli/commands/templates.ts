/**
 * @module cli/commands/templates
 *
 * `bluetick templates`: every message template a running server has heard of, with its
 * current review status, reason, quality and category (`GET /api/templates`, all pages).
 * `--status PAUSED,DISABLED` narrows the list; `--json` prints one template per line.
 */
import { ApiClient } from '../api-client.js';

export interface TemplatesCommandOptions {
  url?: string;
  token?: string;
  status?: string;
  json?: boolean;
}

export interface TemplatesIo {
  stdout: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

interface TemplateView {
  key: string;
  templateId?: string;
  name?: string;
  language?: string;
  status?: string;
  reason?: string;
  quality?: string;
  category?: string;
  updatedAt: string;
}

/** A fixed-width table, one row per template. */
export function formatTemplates(items: TemplateView[]): string[] {
  if (items.length === 0) return ['no templates'];
  const rows = [
    ['TEMPLATE', 'LANGUAGE', 'STATUS', 'QUALITY', 'CATEGORY', 'UPDATED', 'ID', 'REASON'],
    ...items.map((t) => [
      t.name ?? '-',
      t.language ?? '-',
      t.status ?? '-',
      t.quality ?? '-',
      t.category ?? '-',
      t.updatedAt,
      t.templateId ?? t.key,
      t.reason !== undefined && t.reason !== 'NONE' ? t.reason : '',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

export async function runTemplates(opts: TemplatesCommandOptions, io: TemplatesIo): Promise<number> {
  const client = new ApiClient(opts, io.env);
  const items: TemplateView[] = [];
  let after: string | undefined;
  do {
    const page = await client.get<{ items: TemplateView[]; next?: string }>('/api/templates', { status: opts.status, limit: 500, after });
    items.push(...page.items);
    after = page.next;
  } while (after !== undefined);
  if (opts.json) {
    for (const t of items) io.stdout.write(`${JSON.stringify(t)}\n`);
  } else {
    io.stdout.write(`${formatTemplates(items).join('\n')}\n`);
  }
  return 0;
}
