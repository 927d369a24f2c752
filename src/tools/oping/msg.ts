/**
 * The oping message: a 24-byte header at the start of a `size`-byte SDU,
 * the rest zero.
 *
 *   offset 0  type     u32 big-endian (0 request, 1 reply)
 *   offset 4  id       u32 big-endian (sequence number, from 0)
 *   offset 8  tv_sec   u64 little-endian (host order on the reference's platforms)
 *   offset 16 tv_nsec  u64 little-endian
 *
 * The timestamp is the client's monotonic send time; the server echoes it.
 */

export const ECHO_REQUEST = 0;
export const ECHO_REPLY = 1;
/** Bytes of header at the start of every oping SDU. */
export const MSG_HEADER_SIZE = 24;
/** Largest SDU oping reads (and largest `-s`). */
export const OPING_BUF_SIZE = 1500;
/** Smallest `-s`. */
export const OPING_MIN_SIZE = 64;

export interface OpingMsg {
  type: number;
  id: number;
  tvSec: bigint;
  tvNsec: bigint;
}

const NS_PER_S = 1_000_000_000n;

/** Splits a nanosecond timestamp into the message's (tv_sec, tv_nsec). */
export function splitNs(ns: bigint): { tvSec: bigint; tvNsec: bigint } {
  return { tvSec: ns / NS_PER_S, tvNsec: ns % NS_PER_S };
}

/** Encodes a message into a zero-filled buffer of `size` bytes (at least the header). */
export function encodeMsg(msg: OpingMsg, size: number = MSG_HEADER_SIZE): Buffer {
  if (!Number.isInteger(size) || size < MSG_HEADER_SIZE) {
    throw new RangeError(`oping message needs at least ${MSG_HEADER_SIZE} bytes, got ${size}`);
  }
  const buf = Buffer.alloc(size);
  buf.writeUInt32BE(msg.type >>> 0, 0);
  buf.writeUInt32BE(msg.id >>> 0, 4);
  buf.writeBigUInt64LE(BigInt.asUintN(64, msg.tvSec), 8);
  buf.writeBigUInt64LE(BigInt.asUintN(64, msg.tvNsec), 16);
  return buf;
}

/**
 * Decodes the header of a received SDU. A short SDU reads as if the
 * missing bytes were zero.
 */
export function decodeMsg(data: Uint8Array): OpingMsg {
  let buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < MSG_HEADER_SIZE) {
    const padded = Buffer.alloc(MSG_HEADER_SIZE);
    buf.copy(padded);
    buf = padded;
  }
  return {
    type: buf.readUInt32BE(0),
    id: buf.readUInt32BE(4),
    tvSec: buf.readBigUInt64LE(8),
    tvNsec: buf.readBigUInt64LE(16),
  };
}

/** The server's answer to a request: the same bytes with type set to reply. */
export function makeReply(data: Uint8Array): Buffer {
  const out = Buffer.from(data);
  const type = Buffer.alloc(4);
  type.writeUInt32BE(ECHO_REPLY, 0);
  type.copy(out, 0, 0, Math.min(4, out.length));
  return out;
}
