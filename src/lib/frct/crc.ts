/**
 * CRC-32 trailer (WIRE.md §9): IEEE 802.3 reflected polynomial 0xEDB88320,
 * init and final XOR 0xFFFFFFFF ("123456789" -> 0xCBF43926), appended as 4
 * bytes big-endian and covering everything before it. Uses zlib.crc32 when
 * the running Node has it (20.15+), a table implementation otherwise.
 */
import * as zlib from 'node:zlib';

export const CRC_LEN = 4;

let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}

/** Table implementation; exported so tests can check it against zlib. */
export function crc32Table(data: Uint8Array): number {
  table ??= makeTable();
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

/** CRC-32 of data as an unsigned 32-bit number. */
export function crc32(data: Uint8Array): number {
  return native ? native(data) >>> 0 : crc32Table(data);
}

/** A new buffer: data followed by its CRC-32, big-endian. */
export function appendCrc(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length + CRC_LEN);
  out.set(data, 0);
  out.writeUInt32BE(crc32(data), data.length);
  return out;
}

/**
 * In place: the CRC-32 of buf[0, len) written big-endian at buf[len, len + 4)
 * (buf has room for it, e.g. a PDU built with 4 bytes of tail room).
 */
export function writeCrc(buf: Buffer, len: number): void {
  buf.writeUInt32BE(crc32(len === buf.length ? buf : buf.subarray(0, len)), len);
}

/**
 * Check the trailing CRC-32; returns the data without the trailer (a view on
 * the same memory) or undefined when it is too short or does not match.
 */
export function verifyCrc(pdu: Uint8Array): Buffer | undefined {
  if (pdu.length < CRC_LEN) return undefined;
  const buf = Buffer.isBuffer(pdu) ? pdu : Buffer.from(pdu.buffer, pdu.byteOffset, pdu.length);
  const body = buf.subarray(0, buf.length - CRC_LEN);
  if (crc32(body) !== buf.readUInt32BE(buf.length - CRC_LEN)) return undefined;
  return body;
}
