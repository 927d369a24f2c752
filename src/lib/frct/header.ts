/**
 * The 12-byte FRCT header (WIRE.md §7.1), byte-exact with the reference:
 *
 *   offset 0  u8      flags
 *   offset 1  u24 BE  window (receiver's right window edge, low 24 bits)
 *   offset 4  u32 BE  seqno
 *   offset 8  u32 BE  ackno
 *
 * Pure encode/decode plus builders for every packet kind the engine emits;
 * the builders can leave `tail` bytes free after the PDU for the owner's
 * CRC (so it is written in place, not appended by copying).
 */
import { u32 } from './seq.js';

export const FRCT_HDR_LEN = 12;

export const FrctFlag = {
  /** The PDU carries user data. */
  DATA: 0x01,
  /** Data run flag: the sender had nothing unacknowledged (start of a run). */
  DRF: 0x02,
  /** ackno is valid. */
  ACK: 0x04,
  /** window is valid. */
  FC: 0x08,
  /** Rendez-vous: window probe. */
  RDVS: 0x10,
  /** First fragment (defined, unused). */
  FFGM: 0x20,
  /** More fragments (defined, unused). */
  MFGM: 0x40,
} as const;

export interface FrctHeader {
  flags: number;
  /** 24-bit window field (0 .. 0xFFFFFF). */
  window: number;
  seqno: number;
  ackno: number;
}

/** Write h into buf at offset (buf must have 12 bytes there); returns buf. */
export function encodeHeader(h: FrctHeader, buf: Buffer = Buffer.allocUnsafe(FRCT_HDR_LEN), offset = 0): Buffer {
  if (buf.length - offset < FRCT_HDR_LEN) throw new RangeError('FRCT header: buffer too short');
  buf[offset] = h.flags & 0xff;
  const w = h.window & 0xffffff;
  buf[offset + 1] = (w >>> 16) & 0xff;
  buf[offset + 2] = (w >>> 8) & 0xff;
  buf[offset + 3] = w & 0xff;
  buf.writeUInt32BE(u32(h.seqno), offset + 4);
  buf.writeUInt32BE(u32(h.ackno), offset + 8);
  return buf;
}

/** Read the header at offset; throws RangeError when fewer than 12 bytes are there. */
export function decodeHeader(buf: Uint8Array, offset = 0): FrctHeader {
  if (buf.length - offset < FRCT_HDR_LEN) throw new RangeError('FRCT header: PDU too short');
  const flags = buf[offset]!;
  const window = (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!;
  const seqno = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  const ackno = ((buf[offset + 8]! << 24) | (buf[offset + 9]! << 16) | (buf[offset + 10]! << 8) | buf[offset + 11]!) >>> 0;
  return { flags, window, seqno, ackno };
}

/**
 * Write a header from its fields at offset 0 of buf (at least 12 bytes): the
 * allocation-free form of encodeHeader for the engine's hot paths.
 */
export function writeHeader(buf: Uint8Array, flags: number, window: number, seqno: number, ackno: number): void {
  buf[0] = flags;
  buf[1] = window >>> 16;
  buf[2] = window >>> 8;
  buf[3] = window;
  buf[4] = seqno >>> 24;
  buf[5] = seqno >>> 16;
  buf[6] = seqno >>> 8;
  buf[7] = seqno;
  buf[8] = ackno >>> 24;
  buf[9] = ackno >>> 16;
  buf[10] = ackno >>> 8;
  buf[11] = ackno;
}

/** The u32 BE at offset off (the seqno at 4, the ackno at 8). */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** The 24-bit window field. */
export function readWindow(buf: Uint8Array): number {
  return (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!;
}

const SLAB = 256 * 1024;
const SLAB_MAX_ITEM = 16 * 1024;
let slab: Buffer = Buffer.allocUnsafeSlow(0);
let slabOff = 0;

/**
 * An uninitialised buffer of n bytes for a PDU. Small ones are views into a
 * shared 256 KiB slab (Node's own pool is 8 KiB, so 1.4 KB PDUs would make
 * a new pool every fifth packet); a slab is freed once none of its PDUs is
 * referenced any more.
 */
export function allocPdu(n: number): Buffer {
  if (n > SLAB_MAX_ITEM) return Buffer.allocUnsafe(n);
  if (slabOff + n > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    slabOff = 0;
  }
  const b = slab.subarray(slabOff, slabOff + n);
  slabOff = (slabOff + n + 7) & ~7;
  return b;
}

/** A fresh buffer holding header h followed by a copy of payload (and `tail` more bytes, left uninitialised). */
export function buildPdu(h: FrctHeader, payload?: Uint8Array, tail = 0): Buffer {
  const len = payload ? payload.length : 0;
  const buf = allocPdu(FRCT_HDR_LEN + len + tail);
  writeHeader(buf, h.flags & 0xff, h.window & 0xffffff, u32(h.seqno), u32(h.ackno));
  if (payload && len > 0) buf.set(payload, FRCT_HDR_LEN);
  return buf;
}

/** Data PDU: DATA [+DRF] [+FC window] [+ACK ackno]. */
export function dataPdu(
  seqno: number,
  payload: Uint8Array,
  opts: { drf?: boolean; rwe?: number; ackno?: number } = {},
  tail = 0,
): Buffer {
  let flags: number = FrctFlag.DATA;
  if (opts.drf) flags |= FrctFlag.DRF;
  let window = 0;
  let ackno = 0;
  if (opts.rwe !== undefined) {
    flags |= FrctFlag.FC;
    window = opts.rwe & 0xffffff;
  }
  if (opts.ackno !== undefined) {
    flags |= FrctFlag.ACK;
    ackno = opts.ackno;
  }
  return buildPdu({ flags, window, seqno, ackno }, payload, tail);
}

/** Delayed / solicited acknowledgement: ACK+FC, seqno 0. */
export function ackPdu(ackno: number, rwe: number, tail = 0): Buffer {
  return buildPdu({ flags: FrctFlag.ACK | FrctFlag.FC, window: rwe & 0xffffff, seqno: 0, ackno }, undefined, tail);
}

/** Window update (the reference's answer to a rendez-vous): FC only. */
export function windowUpdatePdu(rwe: number, tail = 0): Buffer {
  return buildPdu({ flags: FrctFlag.FC, window: rwe & 0xffffff, seqno: 0, ackno: 0 }, undefined, tail);
}

/**
 * Rendez-vous (window probe). The reference sends RDVS with all fields 0;
 * o7s sends RDVS+DRF with seqno = the sender's next sequence number (see the
 * notes at the top of frct.ts). Call with no argument for the reference form.
 */
export function rdvsPdu(nextSeqno?: number, tail = 0): Buffer {
  if (nextSeqno === undefined) return buildPdu({ flags: FrctFlag.RDVS, window: 0, seqno: 0, ackno: 0 }, undefined, tail);
  return buildPdu({ flags: FrctFlag.RDVS | FrctFlag.DRF, window: 0, seqno: nextSeqno, ackno: 0 }, undefined, tail);
}

/** Final acknowledgement at deallocation: ACK only. */
export function finalAckPdu(ackno: number, tail = 0): Buffer {
  return buildPdu({ flags: FrctFlag.ACK, window: 0, seqno: 0, ackno }, undefined, tail);
}
