/**
 * @module ingest/raw-body
 *
 * Reads the exact bytes of a request body, whatever its content type, with a size limit.
 * The bytes are what the Meta signature covers and what the journal keeps, so nothing here
 * decodes, trims or parses.
 *
 * A declared `Content-Length` above the limit fails at once, without reading; a body that
 * streams past the limit (chunked, or lying about its length) fails as soon as it does.
 * Chunks are kept as they arrive and joined once at the end; a single-chunk body (the usual
 * webhook) is returned as is, without a copy.
 */
import type { IncomingMessage } from 'node:http';
import { BluetickError } from '../errors.js';

const EMPTY = Buffer.alloc(0);

/** Called exactly once: with the body, or with an error (`BT_ERR_INGEST_TOO_LARGE`, or the stream's own). */
export type RawBodyCallback = (error: Error | undefined, body: Buffer) => void;

function tooLarge(limit: number, seen: number | undefined): BluetickError {
  return new BluetickError(
    'BT_ERR_INGEST_TOO_LARGE',
    seen === undefined
      ? `the body is larger than the limit of ${limit} bytes`
      : `the body (${seen} bytes declared) is larger than the limit of ${limit} bytes`,
  );
}

/** The declared `Content-Length`, or `undefined` when absent or malformed. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Callback form, used on the ingest hot path (no promise per request).
 *
 * After a too-large error the stream is left paused and unread; the caller decides what
 * happens to the rest of the upload (the ingest path discards it within a budget while its
 * 413 is answered, then closes: `refusal-drain.ts`).
 */
export function readRawBody(req: IncomingMessage, limit: number, done: RawBodyCallback): void {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) {
    done(tooLarge(limit, declared), EMPTY);
    return;
  }

  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let settled = false;

  const settle = (error: Error | undefined, body: Buffer): void => {
    if (settled) return;
    settled = true;
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onError);
    req.removeListener('close', onClose);
    done(error, body);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit) {
      req.pause();
      settle(tooLarge(limit, undefined), EMPTY);
      return;
    }
    if (first === undefined) first = chunk;
    else if (chunks === undefined) chunks = [first, chunk];
    else chunks.push(chunk);
  };
  const onEnd = (): void => {
    settle(undefined, chunks !== undefined ? Buffer.concat(chunks, size) : (first ?? EMPTY));
  };
  const onError = (error: Error): void => settle(error, EMPTY);
  const onClose = (): void => {
    if (!req.complete) settle(new Error('the client closed the connection before the body was complete'), EMPTY);
  };

  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
  req.on('close', onClose);
}

/** Promise form of {@link readRawBody}. */
export function readRawBodyAsync(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readRawBody(req, limit, (error, body) => (error ? reject(error) : resolve(body)));
  });
}
