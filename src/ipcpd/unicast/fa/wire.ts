/**
 * Flow allocator messages of the unicast layer (WIRE.md §11.2), carried in
 * DT PDUs to eid 0. A fixed 61-byte big-endian header, then for FLOW_REQ the
 * destination name hash (the layer's hash length) and for FLOW_REQ and
 * FLOW_REPLY the OAP piggyback. FLOW_UPDATE is the bare header.
 *
 *   0 s_addr u64 · 8 r_eid u64 · 16 s_eid u64 · 24 bandwidth u64 ·
 *   32 response i32 · 36 delay · 40 loss · 44 ber · 48 max_gap · 52 timeout (u32) ·
 *   56 ece u16 · 58 code u8 · 59 availability u8 · 60 in_order u8
 */
import { fail } from '../../../common/errors.js';
import type { QosSpec } from '../../../lib/qos.js';
import { readQos, writeQos, type QosLayout } from '../../../lib/qos-wire.js';

export const FA_HDR_LEN = 61;
/** Receivers drop FA messages longer than this. */
export const FA_MAX_LEN = 2048;
export const FaCode = { FLOW_REQ: 0, FLOW_REPLY: 1, FLOW_UPDATE: 2 } as const;
const QOS_AT: QosLayout = { bandwidth: 24, delay: 36, loss: 40, ber: 44, maxGap: 48, timeout: 52, availability: 59, inOrder: 60 };

export type FaCode = (typeof FaCode)[keyof typeof FaCode];

/**
 * One FA message: every header field, as on the wire. What each code uses:
 * FLOW_REQ sAddr, sEid, qos, hash, pk; FLOW_REPLY rEid, sEid, response, pk;
 * FLOW_UPDATE rEid, ece. The others are zero when sent and ignored (but
 * still decoded) when received, as in the reference.
 */
export interface FaMsg {
  code: FaCode;
  /** Requester's address. */
  sAddr: number;
  /** Eid at the receiver of this message. */
  rEid: bigint;
  /** Eid at the sender of this message. */
  sEid: bigint;
  /** Requested QoS (FLOW_REQ; undefined = all zero). Decoded for FLOW_REQ only. */
  qos: QosSpec | undefined;
  response: number;
  ece: number;
  /** Destination name hash (FLOW_REQ only, the layer's hash length). */
  hash: Uint8Array | undefined;
  /** OAP piggyback (FLOW_REQ, FLOW_REPLY); decoded as a view into the message. */
  pk: Uint8Array | undefined;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const EMPTY = new Uint8Array(0);

function u64(v: bigint, what: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new RangeError(`${what} ${v} is not a u64`);
  return v;
}

/**
 * Encodes one FA message. RangeError for fields that do not fit (eids, a
 * non-i32 response, a non-u16 ece, an unsafe address) or that the code does
 * not carry (a hash outside FLOW_REQ, a FLOW_REQ without one, a payload on
 * FLOW_UPDATE); EMSGSIZE when the message would exceed 2048 bytes.
 */
export function encodeFa(m: FaMsg): Buffer {
  if (m.code !== FaCode.FLOW_REQ && m.code !== FaCode.FLOW_REPLY && m.code !== FaCode.FLOW_UPDATE) {
    throw new RangeError(`unknown flow allocator message code ${m.code}`);
  }
  if (!Number.isSafeInteger(m.sAddr) || m.sAddr < 0) throw new RangeError(`address ${m.sAddr} is not valid`);
  if (!Number.isInteger(m.response) || m.response < -0x8000_0000 || m.response > 0x7fff_ffff) {
    throw new RangeError(`response ${m.response} is not an i32`);
  }
  if (!Number.isInteger(m.ece) || m.ece < 0 || m.ece > 0xffff) throw new RangeError(`ece ${m.ece} is not a u16`);
  if ((m.code === FaCode.FLOW_REQ) !== (m.hash !== undefined)) throw new RangeError('a name hash goes with FLOW_REQ, and only there');
  if (m.code === FaCode.FLOW_UPDATE && m.pk !== undefined && m.pk.length > 0) throw new RangeError('FLOW_UPDATE carries no payload');
  const hash = m.hash ?? EMPTY;
  const pk = m.pk ?? EMPTY;
  const total = FA_HDR_LEN + hash.length + pk.length;
  if (total > FA_MAX_LEN) fail('EMSGSIZE', `flow allocator message of ${total} bytes exceeds ${FA_MAX_LEN}`);
  const b = Buffer.alloc(total);
  b.writeBigUInt64BE(BigInt(m.sAddr), 0);
  b.writeBigUInt64BE(u64(m.rEid, 'r_eid'), 8);
  b.writeBigUInt64BE(u64(m.sEid, 's_eid'), 16);
  b.writeInt32BE(m.response, 32);
  if (m.qos) writeQos(b, QOS_AT, m.qos);
  b.writeUInt16BE(m.ece, 56);
  b[58] = m.code;
  b.set(hash, FA_HDR_LEN);
  b.set(pk, FA_HDR_LEN + hash.length);
  return b;
}


/** FLOW_REQ: requester address and eid, requested QoS, name hash, OAP request. */
export function encodeFlowReq(sAddr: number, sEid: bigint, qos: QosSpec, hash: Uint8Array, pk: Uint8Array): Buffer {
  return encodeFa({ code: FaCode.FLOW_REQ, sAddr, rEid: 0n, sEid, qos, response: 0, ece: 0, hash, pk });
}

/** FLOW_REPLY: rEid = the requester's eid, sEid = ours, OAP response. */
export function encodeFlowReply(rEid: bigint, sEid: bigint, response: number, pk: Uint8Array): Buffer {
  return encodeFa({ code: FaCode.FLOW_REPLY, sAddr: 0, rEid, sEid, qos: undefined, response, ece: 0, hash: undefined, pk });
}

/** FLOW_UPDATE: congestion feedback to the peer's eid. */
export function encodeFlowUpdate(rEid: bigint, ece: number): Buffer {
  return encodeFa({ code: FaCode.FLOW_UPDATE, sAddr: 0, rEid, sEid: 0n, qos: undefined, response: 0, ece, hash: undefined, pk: undefined });
}

/**
 * Decodes an FA message, or returns why it is dropped: size outside 61..2048,
 * unknown code, a FLOW_REQ too short for the layer's hash (hashLen bytes),
 * or an s_addr beyond 2^53. Hash and pk are views into `bytes`; FLOW_UPDATE
 * ignores trailing bytes. Only an invalid hashLen (a caller bug) throws, a
 * RangeError.
 */
export function decodeFa(bytes: Uint8Array, hashLen: number): FaMsg | string {
  if (!Number.isInteger(hashLen) || hashLen < 0) throw new RangeError(`hash length ${hashLen} is invalid`);
  const len = bytes.length;
  if (len < FA_HDR_LEN) return `flow allocator message of ${len} bytes is shorter than ${FA_HDR_LEN}`;
  if (len > FA_MAX_LEN) return `flow allocator message of ${len} bytes exceeds ${FA_MAX_LEN}`;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, len);
  const code = b[58]!;
  if (code !== FaCode.FLOW_REQ && code !== FaCode.FLOW_REPLY && code !== FaCode.FLOW_UPDATE) {
    return `unknown flow allocator message code ${code}`;
  }
  if (code === FaCode.FLOW_REQ && len < FA_HDR_LEN + hashLen) return `flow request of ${len} bytes lacks a ${hashLen}-byte name hash`;
  const sAddr = b.readBigUInt64BE(0);
  if (sAddr > MAX_SAFE) return `flow allocator message address ${sAddr} exceeds 2^53`;
  const m: FaMsg = {
    code,
    sAddr: Number(sAddr),
    rEid: b.readBigUInt64BE(8),
    sEid: b.readBigUInt64BE(16),
    qos: undefined,
    response: b.readInt32BE(32),
    ece: b.readUInt16BE(56),
    hash: undefined,
    pk: undefined,
  };
  if (code === FaCode.FLOW_REQ) {
    m.qos = readQos(b, QOS_AT);
    m.hash = bytes.subarray(FA_HDR_LEN, FA_HDR_LEN + hashLen);
    m.pk = bytes.subarray(FA_HDR_LEN + hashLen);
  } else if (code === FaCode.FLOW_REPLY) {
    m.pk = bytes.subarray(FA_HDR_LEN);
  }
  return m;
}

