/**
 * @module cli/commands/erase
 *
 * `bluetick erase --contact <phone|BSUID|username>`: erases one person on a running server
 * (`DELETE /api/contacts/{id}`, admin only) and prints the receipt: what was deleted or
 * redacted, per table. The erase runs inside the server, on the store's own connection, so
 * it never races the pipeline.
 */
import { ExitError } from '../../errors.js';
import type { ErasureReceipt } from '../../store/erasure.js';
import { ApiClient } from '../api-client.js';

export interface EraseOptions {
  url?: string;
  token?: string;
  data?: string;
  contact?: string;
  json?: boolean;
}

export interface EraseIo {
  stdout: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

/** The receipt as lines a person reads: one per table, then the tombstones. */
export function receiptLines(receipt: ErasureReceipt): string[] {
  const lines = [`erased ${receipt.identifiers.length} identifier form(s) of one person`];
  const tables = Object.entries(receipt.tables).sort(([a], [b]) => a.localeCompare(b));
  if (tables.length === 0) lines.push('  nothing stored about them');
  for (const [table, n] of tables) {
    const parts = [n.deleted > 0 ? `${n.deleted} deleted` : '', n.redacted > 0 ? `${n.redacted} redacted` : ''].filter(Boolean);
    lines.push(`  ${table.padEnd(20)} ${parts.join(', ')}`);
  }
  lines.push(`  tombstones           ${receipt.tombstones} recorded (redelivered notifications about them are dropped)`);
  if (!receipt.walTruncated) lines.push('  note: the write-ahead log empties at the next checkpoint (a reader held it)');
  return lines;
}

export async function runErase(opts: EraseOptions, io: EraseIo): Promise<number> {
  const id = opts.contact?.trim();
  if (id === undefined || id === '') throw new ExitError(2, 'erase: give --contact <phone|BSUID|username>');
  const receipt = await new ApiClient(opts, io.env).delete<ErasureReceipt>(`/api/contacts/${encodeURIComponent(id)}`);
  const out = (text: string) => io.stdout.write(`${text}\n`);
  if (opts.json) out(JSON.stringify(receipt));
  else for (const line of receiptLines(receipt)) out(line);
  return 0;
}
