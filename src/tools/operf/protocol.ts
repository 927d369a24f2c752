/**
 * operf on the wire. After allocating the flow the client sends one
 * 4-byte configuration SDU, the test type as a u32 in host order
 * (little-endian on the reference's platforms): 0 unidirectional, 1
 * bidirectional. Then come `size`-byte test packets whose first 4 bytes
 * are the u32 little-endian sequence number (from 0), the rest zero. In a
 * bidirectional test the server sends every packet back unchanged.
 */

export const TEST_TYPE_UNI = 0;
export const TEST_TYPE_BI = 1;

/** Bytes in the configuration SDU. */
export const OPERF_CONFIG_SIZE = 4;
/** Largest packet (and largest `-s`). */
export const OPERF_BUF_SIZE = 1024 * 1024;
/** Smallest `-s`. */
export const OPERF_MIN_SIZE = 64;

export function encodeConfig(testType: number): Buffer {
  const buf = Buffer.alloc(OPERF_CONFIG_SIZE);
  buf.writeUInt32LE(testType >>> 0, 0);
  return buf;
}

/** The test type of a configuration SDU, or undefined when it is not exactly 4 bytes. */
export function decodeConfig(data: Uint8Array): number | undefined {
  if (data.length !== OPERF_CONFIG_SIZE) return undefined;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32LE(0);
}

/** Puts sequence number `seq` in the first 4 bytes of `pkt` (u32 little-endian). */
export function writeSeq(pkt: Buffer, seq: number): void {
  pkt.writeUInt32LE(seq >>> 0, 0);
}

/** The sequence number of a test packet; a packet shorter than 4 bytes reads as if zero-padded. */
export function readSeq(data: Uint8Array): number {
  if (data.length >= 4) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32LE(0);
  const b = Buffer.alloc(4);
  b.set(data);
  return b.readUInt32LE(0);
}
