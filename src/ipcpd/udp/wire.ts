/**
 * The UDP layer's datagrams, byte for byte as the reference (WIRE.md §13):
 * every datagram starts with a 4-byte big-endian eid; eid 0 is management
 * (a 47-byte header, then for FLOW_REQ the 16-byte MD5 name hash, then the
 * OAP piggyback), any other eid is the receiver's flow and the rest one SDU.
 */
import type { QosSpec } from '../../lib/qos.js';
import { readQos, writeQos, type QosLayout } from '../../lib/qos-wire.js';

export const EID_LEN = 4;
export const MGMT_LEN = 47;
export const HASH_LEN = 16;
export const MgmtCode = { FLOW_REQ: 1, FLOW_REPLY: 2 } as const;
const QOS_AT: QosLayout = { bandwidth: 16, delay: 24, loss: 28, ber: 32, maxGap: 36, timeout: 40, availability: 45, inOrder: 46 };

/** Largest SDU in one datagram (the reference's limits). */
export const MAX_SDU_V4 = 8980;
export const MAX_SDU_V6 = 8952;

export interface FlowReq {
  code: typeof MgmtCode.FLOW_REQ;
  sEid: number;
  qos: QosSpec;
  hash: Uint8Array;
  pk: Uint8Array;
}

export interface FlowReply {
  code: typeof MgmtCode.FLOW_REPLY;
  sEid: number;
  dEid: number;
  response: number;
  pk: Uint8Array;
}

export type MgmtMsg = FlowReq | FlowReply;

function header(code: number, sEid: number, dEid: number, response: number, q: QosSpec | undefined, extra: number): Buffer {
  const b = Buffer.alloc(MGMT_LEN + extra);
  b.writeUInt32BE(0, 0);
  b.writeUInt32BE(sEid >>> 0, 4);
  b.writeUInt32BE(dEid >>> 0, 8);
  b.writeInt32BE(response | 0, 12);
  if (q) writeQos(b, QOS_AT, q);
  b[44] = code;
  return b;
}

export function encodeFlowReq(sEid: number, qos: QosSpec, hash: Uint8Array, pk: Uint8Array): Buffer {
  if (hash.length !== HASH_LEN) throw new RangeError(`udp name hashes are ${HASH_LEN} bytes (MD5)`);
  const b = header(MgmtCode.FLOW_REQ, sEid, 0, 0, qos, HASH_LEN + pk.length);
  b.set(hash, MGMT_LEN);
  b.set(pk, MGMT_LEN + HASH_LEN);
  return b;
}

export function encodeFlowReply(sEid: number, dEid: number, response: number, pk: Uint8Array): Buffer {
  const b = header(MgmtCode.FLOW_REPLY, sEid, dEid, response, undefined, pk.length);
  b.set(pk, MGMT_LEN);
  return b;
}

/** Decodes a management datagram (eid 0), or returns a reason it is malformed. */
export function decodeMgmt(b: Buffer): MgmtMsg | string {
  if (b.length < MGMT_LEN) return `management message of ${b.length} bytes is shorter than ${MGMT_LEN}`;
  if (b.readUInt32BE(0) !== 0) return 'not a management message';
  const code = b[44];
  const sEid = b.readUInt32BE(4);
  if (code === MgmtCode.FLOW_REQ) {
    if (b.length < MGMT_LEN + HASH_LEN) return 'flow request without a name hash';
    return {
      code,
      sEid,
      qos: readQos(b, QOS_AT),
      hash: b.subarray(MGMT_LEN, MGMT_LEN + HASH_LEN),
      pk: b.subarray(MGMT_LEN + HASH_LEN),
    };
  }
  if (code === MgmtCode.FLOW_REPLY) {
    return { code, sEid, dEid: b.readUInt32BE(8), response: b.readInt32BE(12), pk: b.subarray(MGMT_LEN) };
  }
  return `unknown management code ${code}`;
}
