/**
 * The 12-byte FRCT header (WIRE.md §7.1), byte-exact with the reference:
 *
 *   offset 0  u8      flags
 *   offset 1  u24 BE  window (receiver's right window edge, low 24 bits)
 *   offset 4  u32 BE  seqno
 *   offset 8  u32 BE  ackno
 *
 * Pure encode/decode plus builders for every packet kind the engine emits.
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

/** A fresh buffer holding header h followed by a copy of payload. */
export function buildPdu(h: FrctHeader, payload?: Uint8Array): Buffer {
  const len = payload ? payload.length : 0;
  const buf = Buffer.allocUnsafe(FRCT_HDR_LEN + len);
  encodeHeader(h, buf, 0);
  if (payload && len > 0) buf.set(payload, FRCT_HDR_LEN);
  return buf;
}

/** Data PDU: DATA [+DRF] [+FC window] [+ACK ackno]. */
export function dataPdu(
  seqno: number,
  payload: Uint8Array,
  opts: { drf?: boolean; rwe?: number; ackno?: number } = {},
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
  return buildPdu({ flags, window, seqno, ackno }, payload);
}

/** Delayed / solicited acknowledgement: ACK+FC, seqno 0. */
export function ackPdu(ackno: number, rwe: number): Buffer {
  return buildPdu({ flags: FrctFlag.ACK | FrctFlag.FC, window: rwe & 0xffffff, seqno: 0, ackno });
}

/** Window update (the reference's answer to a rendez-vous): FC only. */
export function windowUpdatePdu(rwe: number): Buffer {
  return buildPdu({ flags: FrctFlag.FC, window: rwe & 0xffffff, seqno: 0, ackno: 0 });
}

/**
 * Rendez-vous (window probe). The reference sends RDVS with all fields 0;
 * o7s sends RDVS+DRF with seqno = the sender's next sequence number (see the
 * notes at the top of frct.ts). Call with no argument for the reference form.
 */
export function rdvsPdu(nextSeqno?: number): Buffer {
  if (nextSeqno === undefined) return buildPdu({ flags: FrctFlag.RDVS, window: 0, seqno: 0, ackno: 0 });
  return buildPdu({ flags: FrctFlag.RDVS | FrctFlag.DRF, window: 0, seqno: nextSeqno, ackno: 0 });
}

/** Final acknowledgement at deallocation: ACK only. */
export function finalAckPdu(ackno: number): Buffer {
  return buildPdu({ flags: FrctFlag.ACK, window: 0, seqno: 0, ackno });
}
