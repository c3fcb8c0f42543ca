/**
 * @module cli/commands/normalize
 *
 * `bluetick normalize [FILE]`: one raw body (a file, or stdin) -> its events as
 * NDJSON, one per line. Touches no store; the contract in executable form.
 *
 * Exit codes: 0 events printed; 1 the file could not be read; 2 the body is not a
 * JSON object (or an option is invalid). Errors are one line on stderr.
 */
import { readFile } from 'node:fs/promises';
import { normalize, serializeEvent } from '../../events/normalize.js';
import { isoFromEpochMs } from '../../events/time.js';

export interface NormalizeCommandOptions {
  /** Path of the body; stdin when absent. */
  file?: string;
  /** Channel name written on every event; default `default`. */
  channel?: string;
  /** Receive time as ISO-8601 (or epoch ms digits); default now. Fix it for reproducible output. */
  receivedAt?: string;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const COMMAND = 'bluetick normalize';

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function parseTime(text: string): number | undefined {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return isoFromEpochMs(ms) !== undefined ? ms : undefined;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Resolves once the stream has taken the text, so an exit right after loses nothing. */
function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => resolve());
  });
}

export async function runNormalize(opts: NormalizeCommandOptions): Promise<number> {
  const channel = opts.channel ?? 'default';
  let receivedAt = Date.now();
  if (opts.receivedAt !== undefined) {
    const parsed = parseTime(opts.receivedAt);
    if (parsed === undefined) {
      await write(opts.stderr, `${COMMAND}: --received-at is not an ISO-8601 time: ${JSON.stringify(opts.receivedAt)}\n`);
      return 2;
    }
    receivedAt = parsed;
  }

  let raw: Buffer;
  const source = opts.file ?? 'stdin';
  try {
    raw = opts.file !== undefined ? await readFile(opts.file) : await readAll(opts.stdin);
  } catch (error) {
    await write(opts.stderr, `${COMMAND}: cannot read ${source}: ${errorText(error)}\n`);
    return 1;
  }

  const result = normalize(raw, { channel, receivedAt });
  if (!result.ok) {
    await write(opts.stderr, `${COMMAND}: ${source}: ${result.cause}\n`);
    return 2;
  }
  let out = '';
  for (const event of result.events) out += `${serializeEvent(event)}\n`;
  await write(opts.stdout, out);
  return 0;
}
