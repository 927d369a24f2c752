/**
 * A minimal DER reader and writer: just what SubjectPublicKeyInfo, PKCS#8
 * and X.509 handling in o7s need (definite lengths only, no BER).
 */

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One parsed element: `buf.subarray(start, end)` is its content, `raw` the whole TLV. */
export interface Tlv {
  tag: number;
  start: number;
  end: number;
  raw: Buffer;
  content: Buffer;
}

export class DerError extends Error {
  override name = 'DerError';
}

/** Reads the element at `off`; throws DerError when it does not fit in `buf`. */
export function readTlv(buf: Buffer, off = 0, limit = buf.length): Tlv {
  if (off + 2 > limit) throw new DerError('truncated DER element');
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported DER length');
    if (p + n > limit) throw new DerError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  const end = p + len;
  if (end > limit) throw new DerError('DER element longer than its container');
  return { tag, start: p, end, raw: buf.subarray(off, end), content: buf.subarray(p, end) };
}

/** The elements inside a constructed element (or a whole buffer). */
export function children(buf: Buffer, parent?: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent ? parent.start : 0;
  const end = parent ? parent.end : buf.length;
  while (p < end) {
    const t = readTlv(buf, p, end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Parses a buffer that must hold exactly one element of the given tag. */
export function parseOne(buf: Buffer, tag?: number): Tlv {
  const t = readTlv(buf, 0);
  if (t.end !== buf.length) throw new DerError('trailing bytes after DER element');
  if (tag !== undefined && t.tag !== tag) throw new DerError(`expected DER tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

export function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return t;
}

export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new DerError('empty OID');
  const parts: number[] = [];
  let v = 0;
  for (const b of content) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...parts].join('.');
}

/** The bytes of a BIT STRING without its unused-bits octet (which must be 0). */
export function bitStringBytes(t: Tlv): Buffer {
  if (t.tag !== Tag.BIT_STRING || t.content.length < 1 || t.content[0] !== 0) throw new DerError('bad BIT STRING');
  return t.content.subarray(1);
}

/** An unsigned INTEGER's magnitude (leading zero removed). */
export function uintBytes(t: Tlv): Buffer {
  if (t.tag !== Tag.INTEGER || t.content.length === 0) throw new DerError('bad INTEGER');
  let c = t.content;
  while (c.length > 1 && c[0] === 0) c = c.subarray(1);
  return c;
}

export function decodeTime(t: Tlv): Date {
  const s = t.content.toString('latin1');
  let m: RegExpExecArray | null;
  if (t.tag === Tag.UTC_TIME && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    return new Date(Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, Number(m[2]) - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  }
  if (t.tag === Tag.GENERALIZED_TIME && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    return new Date(Date.UTC(+m[1]!, Number(m[2]) - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  }
  throw new DerError(`bad time ${JSON.stringify(s)}`);
}

// ---- writer -------------------------------------------------------------------------------

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | out.length, ...out]);
}

export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const seq = (...c: Uint8Array[]): Buffer => tlv(Tag.SEQUENCE, ...c);
export const set = (...c: Uint8Array[]): Buffer => tlv(Tag.SET, ...c);
export const octets = (b: Uint8Array): Buffer => tlv(Tag.OCTET_STRING, b);
export const bitString = (b: Uint8Array): Buffer => tlv(Tag.BIT_STRING, Buffer.from([0]), b);
export const utf8 = (s: string): Buffer => tlv(Tag.UTF8_STRING, Buffer.from(s, 'utf8'));
export const bool = (v: boolean): Buffer => tlv(Tag.BOOLEAN, Buffer.from([v ? 0xff : 0]));
/** Context-specific constructed [n] (EXPLICIT tagging). */
export const explicit = (n: number, ...c: Uint8Array[]): Buffer => tlv(0xa0 | n, ...c);
/** Context-specific primitive [n] (IMPLICIT tagging of a primitive type). */
export const implicitPrim = (n: number, b: Uint8Array): Buffer => tlv(0x80 | n, b);

/** An INTEGER from a non-negative number, bigint or big-endian magnitude. */
export function uint(v: number | bigint | Uint8Array): Buffer {
  let b: Buffer;
  if (v instanceof Uint8Array) {
    b = Buffer.from(v);
  } else {
    let x = BigInt(v);
    const bytes: number[] = [];
    do {
      bytes.unshift(Number(x & 0xffn));
      x >>= 8n;
    } while (x > 0n);
    b = Buffer.from(bytes);
  }
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  if (b.length === 0) b = Buffer.from([0]);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(Tag.INTEGER, b);
}

export function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  if (p.length < 2 || p.some((x) => !Number.isInteger(x) || x < 0)) throw new DerError(`bad OID ${dotted}`);
  const out: number[] = [];
  const enc = (v: number) => {
    const tmp = [v & 0x7f];
    v = Math.floor(v / 128);
    while (v > 0) {
      tmp.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...tmp);
  };
  enc(p[0]! * 40 + p[1]!);
  for (const x of p.slice(2)) enc(x);
  return tlv(Tag.OID, Buffer.from(out));
}

/** UTCTime for years 1950-2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const two = (n: number) => String(n).padStart(2, '0');
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(Tag.UTC_TIME, Buffer.from(two(y % 100) + rest, 'latin1'));
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(String(y).padStart(4, '0') + rest, 'latin1'));
}

// ---- PEM ------------------------------------------------------------------------------------

export interface PemBlock {
  label: string;
  der: Buffer;
}

/** All PEM blocks in a text, in order. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push({ label: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') });
  return out;
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
