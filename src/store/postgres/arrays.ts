/**
 * @module store/postgres/arrays
 *
 * Array parameters in PostgreSQL's binary format, for the set-based writes of a recording
 * batch (one array per column, thousands of elements each).
 *
 * Why: `pg` sends a JS array as a text literal (`{"a","b\"c"}`), built by escaping every
 * element with two regex passes and concatenating the result, then measures and copies the
 * whole string again to write it; the server then parses the literal back. For a batch of
 * 8 000 events (a 570-byte JSON body each) that was about 120 µs of client CPU per event, most
 * of it in those strings and the garbage they leave. The binary form is a length-prefixed
 * copy of each element's UTF-8 bytes: no escaping on either side. `pg` passes a Buffer
 * through untouched and marks it binary, and the server reads it with the type the
 * statement declares (`$1::text[]`, `$1::bigint[]`).
 *
 * An array holding anything else than its element type (a number in a text column, a
 * fraction in a bigint column) is returned as it is, so `pg` sends it the usual way and the
 * server answers as it always did.
 */

const TEXT_OID = 25;
const INT8_OID = 20;
/** ndim, flags, element type, then length and lower bound of the one dimension. */
const HEADER_BYTES = 20;
const TWO_32 = 4_294_967_296;

/** A query parameter holding an array: its binary form, or the values as they are (see {@link encode}). */
export type Param = Buffer | readonly unknown[];

function header(buf: Buffer, n: number, hasNull: boolean, oid: number): number {
  if (n === 0) {
    // An empty array has no dimensions.
    buf.writeInt32BE(0, 0);
    buf.writeInt32BE(0, 4);
    buf.writeInt32BE(oid, 8);
    return 12;
  }
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeInt32BE(oid, 8);
  buf.writeInt32BE(n, 12);
  buf.writeInt32BE(1, 16);
  return HEADER_BYTES;
}

/** How one element type is measured and written: its size in bytes (undefined: not of this type) and its bytes. */
interface ElementCodec<T> {
  oid: number;
  size(value: T): number | undefined;
  /** Writes the value's bytes at `at`; returns how many. */
  write(buf: Buffer, value: T, at: number): number;
}

const TEXT: ElementCodec<unknown> = {
  oid: TEXT_OID,
  size: (v) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : undefined),
  write: (buf, v, at) => buf.write(v as string, at, 'utf8'),
};

const INT8: ElementCodec<unknown> = {
  oid: INT8_OID,
  size: (v) => (Number.isSafeInteger(v) ? 8 : undefined),
  write(buf, v, at) {
    // Two's complement in two halves: the high word is signed, the low one is not.
    const high = Math.floor((v as number) / TWO_32);
    buf.writeInt32BE(high, at);
    buf.writeUInt32BE((v as number) - high * TWO_32, at + 4);
    return 8;
  },
};

/**
 * The binary form of a one-dimensional array: each element as its length and bytes, -1 for
 * NULL. An element of another type leaves `values` as they are (sent the usual way).
 */
function encode(values: readonly unknown[], codec: ElementCodec<unknown>): Param {
  let size = HEADER_BYTES;
  let hasNull = false;
  for (const v of values) {
    if (v === null || v === undefined) {
      hasNull = true;
      size += 4;
      continue;
    }
    const n = codec.size(v);
    if (n === undefined) return values;
    size += 4 + n;
  }
  const buf = Buffer.allocUnsafe(size);
  let at = header(buf, values.length, hasNull, codec.oid);
  for (const v of values) {
    if (v === null || v === undefined) {
      buf.writeInt32BE(-1, at);
      at += 4;
    } else {
      const n = codec.write(buf, v, at + 4);
      buf.writeInt32BE(n, at);
      at += 4 + n;
    }
  }
  return at === size ? buf : buf.subarray(0, at);
}

/** A `text[]` parameter: strings, `null` or `undefined` (NULL). */
export function textArray(values: ReadonlyArray<string | null | undefined>): Param {
  return encode(values, TEXT);
}

/** A `bigint[]` parameter: safe integers, `null` or `undefined` (NULL). */
export function bigintArray(values: ReadonlyArray<number | null | undefined>): Param {
  return encode(values, INT8);
}

/** The array parameter for a column of this SQL type. */
export function columnArray(type: 'text' | 'bigint', values: ReadonlyArray<unknown>): Param {
  return type === 'text' ? textArray(values as Array<string | null>) : bigintArray(values as Array<number | null>);
}
