/**
 * @module acme/client-hello
 *
 * Pure: reads the server name (SNI) and the offered ALPN protocols from the first TLS record
 * of a connection, without decrypting or consuming anything. The TLS-ALPN-01 responder uses
 * it to tell a CA's validation connection (ALPN `acme-tls/1`) from an ordinary client before
 * the handshake picks a certificate, so clients never see a challenge certificate.
 *
 * Layout (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301 §3.1): record header (type 22, version,
 * length), handshake header (type 1, 24-bit length), version, 32 random bytes, session id,
 * cipher suites, compression methods, extensions.
 */

/** Largest record payload TLS allows (2^14) plus its 5-byte header. */
export const MAX_CLIENT_HELLO_BYTES = 16_384 + 5;

export type ClientHelloPeek =
  /** The buffer holds less than the first record; read more. */
  | { kind: 'need-more' }
  /** Not a TLS ClientHello (or malformed): let the TLS server deal with it. */
  | { kind: 'not-tls' }
  | { kind: 'hello'; serverName?: string; alpn: string[] };

const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

/**
 * @example
 * ```ts
 * const peek = peekClientHello(firstBytes);
 * if (peek.kind === 'hello' && peek.alpn.includes('acme-tls/1')) { ... }
 * ```
 */
export function peekClientHello(buf: Buffer): ClientHelloPeek {
  if (buf.length < 5) return buf.length > 0 && buf[0] !== 0x16 ? { kind: 'not-tls' } : { kind: 'need-more' };
  if (buf[0] !== 0x16 || buf[1] !== 0x03) return { kind: 'not-tls' };
  const recordLength = buf.readUInt16BE(3);
  if (recordLength > 16_384 + 2_048) return { kind: 'not-tls' };
  if (buf.length < 5 + recordLength) return { kind: 'need-more' };
  try {
    return parseHandshake(buf.subarray(5, 5 + recordLength));
  } catch {
    return { kind: 'not-tls' };
  }
}

class Reader {
  readonly buf: Buffer;
  #pos = 0;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  get remaining(): number {
    return this.buf.length - this.#pos;
  }
  u8(): number {
    this.#need(1);
    return this.buf[this.#pos++]!;
  }
  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }
  u24(): number {
    this.#need(3);
    const v = this.buf.readUIntBE(this.#pos, 3);
    this.#pos += 3;
    return v;
  }
  bytes(n: number): Buffer {
    this.#need(n);
    const v = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }
  #need(n: number): void {
    if (this.#pos + n > this.buf.length) throw new RangeError('truncated');
  }
}

function parseHandshake(payload: Buffer): ClientHelloPeek {
  const r = new Reader(payload);
  if (r.u8() !== 0x01) return { kind: 'not-tls' };
  const length = r.u24();
  // A ClientHello longer than one record is legal but rare; read what this record holds.
  const body = new Reader(r.bytes(Math.min(length, r.remaining)));
  body.bytes(2 + 32); // legacy_version, random
  body.bytes(body.u8()); // session id
  body.bytes(body.u16()); // cipher suites
  body.bytes(body.u8()); // compression methods
  const out: { kind: 'hello'; serverName?: string; alpn: string[] } = { kind: 'hello', alpn: [] };
  if (body.remaining === 0) return out;
  const extensions = new Reader(body.bytes(body.u16()));
  while (extensions.remaining >= 4) {
    const type = extensions.u16();
    const data = new Reader(extensions.bytes(extensions.u16()));
    if (type === EXT_SERVER_NAME) {
      const list = new Reader(data.bytes(data.u16()));
      while (list.remaining > 0) {
        const nameType = list.u8();
        const name = list.bytes(list.u16());
        if (nameType === 0) out.serverName = name.toString('ascii').toLowerCase();
      }
    } else if (type === EXT_ALPN) {
      const list = new Reader(data.bytes(data.u16()));
      while (list.remaining > 0) out.alpn.push(list.bytes(list.u8()).toString('latin1'));
    }
  }
  return out;
}
