/**
 * OEP, the enrollment messages (WIRE.md §11.4), exchanged on a flow to the
 * enroller after CEP "Enrollment"/"OEP"/1/GPB:
 *
 *   enrollee → enroller  enroll_req  { id: 8 random bytes }
 *   enroller → enrollee  enroll_resp { id (echo), t_sec, t_nsec (realtime), response,
 *                                      conf: the enroller's bootstrap config iff response >= 0 }
 *   enrollee → enroller  enroll_ack  { id, result (0 = success) }
 *
 * Every message is at most 1024 bytes. Decoders refuse what protobuf-c would
 * refuse (missing required fields, nested ones included) and, stricter than
 * the reference (which checks the id length of requests only), an id that is
 * not 8 bytes in any message.
 */
import { randomBytes } from 'node:crypto';
import { create, fromBinary, isFieldSet, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { fail } from '../../common/errors.js';
import { ipcpConfigFromMsg, ipcpConfigToMsg } from '../../common/convert.js';
import type { IpcpConfig } from '../../common/ipcp-types.js';
import {
  enroll_ack_msgSchema,
  enroll_req_msgSchema,
  enroll_resp_msgSchema,
  type enroll_ack_msg,
  type enroll_req_msg,
  type enroll_resp_msg,
} from '../../proto/gen/enroll_pb.js';

export const ENROLL_ID_LEN = 8;
export const ENROLL_MAX_LEN = 1024;
/** The enrollee warns when the clocks differ by more than this (ms). */
export const ENROLL_WARN_TIME_OFFSET_MS = 20;

export interface EnrollReq {
  id: Uint8Array;
}

export interface EnrollResp {
  id: Uint8Array;
  /** Enroller's CLOCK_REALTIME (i64 seconds). */
  tSec: bigint;
  tNsec: number;
  response: number;
  /**
   * Present iff response >= 0: the enroller's bootstrap configuration (for
   * unicast, `unicast.dhtPeer` = the enroller's address).
   */
  conf?: IpcpConfig;
}

export interface EnrollAck {
  id: Uint8Array;
  result: number;
}

/** A fresh 8-byte enrollment id. */
export function newEnrollId(random: (n: number) => Uint8Array = (n) => randomBytes(n)): Uint8Array {
  const id = random(ENROLL_ID_LEN);
  if (id.length !== ENROLL_ID_LEN) throw new RangeError(`random source gave ${id.length} bytes`);
  return id;
}

const LEGACY_REQUIRED = 3; // FeatureSet_FieldPresence.LEGACY_REQUIRED

/** Name of the first required field missing anywhere in m, or undefined. */
function missingRequired(desc: DescMessage, m: object, path = ''): string | undefined {
  for (const f of desc.fields) {
    const name = path + f.name;
    const set = isFieldSet(m as never, f);
    if (f.presence === LEGACY_REQUIRED && !set) return name;
    if (!set) continue;
    const v = (m as Record<string, unknown>)[f.localName];
    if (v === undefined) continue; // a oneof member (none in these schemas)
    if (f.fieldKind === 'message') {
      const r = missingRequired(f.message, v as object, `${name}.`);
      if (r) return r;
    } else if (f.fieldKind === 'list' && f.listKind === 'message') {
      for (const e of v as object[]) {
        const r = missingRequired(f.message, e, `${name}[].`);
        if (r) return r;
      }
    }
  }
  return undefined;
}

function checkId(id: Uint8Array): void {
  if (id.length !== ENROLL_ID_LEN) throw new RangeError(`enrollment id must be ${ENROLL_ID_LEN} bytes, not ${id.length}`);
}

function checkI32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) throw new RangeError(`${what} ${v} is not an i32`);
}

function sized(b: Uint8Array, what: string): Uint8Array {
  if (b.length > ENROLL_MAX_LEN) fail('EMSGSIZE', `${what} of ${b.length} bytes exceeds ${ENROLL_MAX_LEN}`);
  return b;
}

function unpack<T extends object>(desc: DescMessage, b: Uint8Array, what: string): T | string {
  if (b.length > ENROLL_MAX_LEN) return `${what} of ${b.length} bytes exceeds ${ENROLL_MAX_LEN}`;
  let m: T;
  try {
    m = fromBinary(desc, b) as unknown as T;
  } catch (e) {
    return `${what} does not unpack: ${(e as Error).message}`;
  }
  const miss = missingRequired(desc, m);
  if (miss) return `${what} lacks ${miss}`;
  const id = (m as { id?: Uint8Array }).id;
  if (id && id.length !== ENROLL_ID_LEN) return `${what} id of ${id.length} bytes, not ${ENROLL_ID_LEN}`;
  return m;
}

export function encodeEnrollReq(r: EnrollReq): Uint8Array {
  checkId(r.id);
  return sized(toBinary(enroll_req_msgSchema, create(enroll_req_msgSchema, { id: r.id })), 'enroll request');
}

export function decodeEnrollReq(b: Uint8Array): EnrollReq | string {
  const m = unpack<enroll_req_msg>(enroll_req_msgSchema, b, 'enroll request');
  return typeof m === 'string' ? m : { id: m.id };
}

/**
 * Encodes a response; conf is written iff response >= 0 (then it is required,
 * RangeError without it). EMSGSIZE beyond 1024 bytes.
 */
export function encodeEnrollResp(r: EnrollResp): Uint8Array {
  checkId(r.id);
  checkI32(r.response, 'response');
  checkI32(r.tNsec, 't_nsec');
  if (r.tSec < -(1n << 63n) || r.tSec >= 1n << 63n) throw new RangeError(`t_sec ${r.tSec} is not an i64`);
  const msg = create(enroll_resp_msgSchema, { id: r.id, tSec: r.tSec, tNsec: r.tNsec, response: r.response });
  if (r.response >= 0) {
    if (!r.conf) throw new RangeError('a positive enrollment response carries the configuration');
    msg.conf = ipcpConfigToMsg(r.conf);
  }
  return sized(toBinary(enroll_resp_msgSchema, msg), 'enroll response');
}

/**
 * Decodes a response. conf is required when response >= 0 and ignored (not
 * returned) when response < 0, as the reference ignores it.
 */
export function decodeEnrollResp(b: Uint8Array): EnrollResp | string {
  const m = unpack<enroll_resp_msg>(enroll_resp_msgSchema, b, 'enroll response');
  if (typeof m === 'string') return m;
  const r: EnrollResp = { id: m.id, tSec: m.tSec, tNsec: m.tNsec, response: m.response };
  if (m.response < 0) return r;
  if (!m.conf) return 'enroll response accepts but carries no configuration';
  r.conf = ipcpConfigFromMsg(m.conf);
  return r;
}

export function encodeEnrollAck(a: EnrollAck): Uint8Array {
  checkId(a.id);
  checkI32(a.result, 'result');
  return sized(toBinary(enroll_ack_msgSchema, create(enroll_ack_msgSchema, { id: a.id, result: a.result })), 'enroll ack');
}

export function decodeEnrollAck(b: Uint8Array): EnrollAck | string {
  const m = unpack<enroll_ack_msg>(enroll_ack_msgSchema, b, 'enroll ack');
  return typeof m === 'string' ? m : { id: m.id, result: m.result };
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The enrollee's checks on a decoded response (undefined = accept): the id
 * echoes ours, the response is not negative, the configuration is for our
 * IPCP type.
 */
export function checkEnrollResp(r: EnrollResp, id: Uint8Array, type: number): string | undefined {
  if (!sameId(r.id, id)) return 'enrollment id mismatch';
  if (r.response < 0) return `enroller denied the request: ${r.response}`;
  if (!r.conf) return 'enroll response carries no configuration';
  if (r.conf.type !== type) return `enroller is of IPCP type ${r.conf.type}, not ${type}`;
  return undefined;
}

/**
 * The enrollee's clock-offset check: true when |enroller time − send time|
 * minus the round trip exceeds 20 ms (the reference only warns). Times in ms.
 */
export function clockOffsetTooLarge(sentAtMs: number, receivedAtMs: number, r: EnrollResp): boolean {
  const rtt = receivedAtMs - sentAtMs;
  const remote = Number(r.tSec) * 1000 + r.tNsec / 1e6;
  return Math.abs(remote - sentAtMs) - rtt > ENROLL_WARN_TIME_OFFSET_MS;
}
