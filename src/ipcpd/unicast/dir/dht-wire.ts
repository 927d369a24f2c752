/**
 * DHT directory messages (WIRE.md §11.6): one protobuf `dht_msg` (proto2, as
 * packed by protobuf-c) per SDU on DT eid 1.
 *
 * `encodeDhtMsg` turns a typed record into bytes; `decodeDhtMsg` does the
 * reverse and applies every check the reference makes before it acts on a
 * message, plus the ones protobuf-c makes while unpacking:
 *
 *  - structure: known fields with the wrong wire type, groups, truncated or
 *    overlong varints / lengths, field number 0 are refused (protobuf-c fails
 *    the unpack); unknown fields are skipped;
 *  - presence: every `required` field, at every level, must be there;
 *  - semantics: src.id is hash-length and src.addr is non-zero; the code is
 *    0..4 and carries its sub-message(s) (STORE: store; FIND_*_REQ: find;
 *    FIND_NODE_RSP: node; FIND_VALUE_RSP: node and val); request, response
 *    and store keys are hash-length; a stored value is non-empty.
 *
 * Checks the reference does not make but that keep bad input out of the
 * routing table (the reference would read past a short ID): every contact in
 * a response has a hash-length ID and a non-zero address; values in a
 * FIND_VALUE_RSP are non-empty; addresses fit the 32-bit flat address space.
 * The reference accepts an unknown code after the source check and then does
 * nothing with it; here it is malformed.
 *
 * Whether a response matches an outstanding request is the DHT's business
 * (dht.ts), not the codec's.
 */
import { create, fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import { OuroborosError } from '../../../common/errors.js';
import {
  dht_contact_msgSchema,
  dht_find_node_rsp_msgSchema,
  dht_find_req_msgSchema,
  dht_find_value_rsp_msgSchema,
  dht_msgSchema,
  dht_store_msgSchema,
  type dht_contact_msg,
} from '../../../proto/gen/dht_pb.js';

export const DhtCode = {
  STORE: 0,
  FIND_NODE_REQ: 1,
  FIND_NODE_RSP: 2,
  FIND_VALUE_REQ: 3,
  FIND_VALUE_RSP: 4,
} as const;
export type DhtCode = (typeof DhtCode)[keyof typeof DhtCode];

export const DHT_CODE_NAMES: readonly string[] = ['STORE', 'FIND_NODE_REQ', 'FIND_NODE_RSP', 'FIND_VALUE_REQ', 'FIND_VALUE_RSP'];

/** Most values a FIND_VALUE_RSP carries (the reference's DHT_MAX_VALS). */
export const DHT_MAX_VALS = 8;

/** A node: its DHT ID (hash length) and its IPCP address (u32 here, a uint64 field on the wire). */
export interface DhtContact {
  id: Uint8Array;
  addr: number;
}

export interface DhtStoreMsg {
  code: typeof DhtCode.STORE;
  src: DhtContact;
  key: Uint8Array;
  val: Uint8Array;
  /** Absolute expiry, Unix time in seconds (u32). */
  exp: number;
}

export interface DhtFindReqMsg {
  code: typeof DhtCode.FIND_NODE_REQ | typeof DhtCode.FIND_VALUE_REQ;
  src: DhtContact;
  cookie: bigint;
  key: Uint8Array;
}

export interface DhtFindNodeRspMsg {
  code: typeof DhtCode.FIND_NODE_RSP;
  src: DhtContact;
  cookie: bigint;
  key: Uint8Array;
  contacts: DhtContact[];
}

export interface DhtFindValueRspMsg {
  code: typeof DhtCode.FIND_VALUE_RSP;
  src: DhtContact;
  cookie: bigint;
  key: Uint8Array;
  contacts: DhtContact[];
  values: Uint8Array[];
}

export type DhtMessage = DhtStoreMsg | DhtFindReqMsg | DhtFindNodeRspMsg | DhtFindValueRspMsg;

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

function contactMsg(c: DhtContact): dht_contact_msg {
  if (!Number.isInteger(c.addr) || c.addr < 0 || c.addr > U32_MAX) throw new OuroborosError('EINVAL', `bad DHT address ${c.addr}`);
  return create(dht_contact_msgSchema, { id: c.id, addr: BigInt(c.addr) });
}

function cookieOf(c: bigint): bigint {
  if (c < 0n || c > U64_MAX) throw new OuroborosError('EINVAL', 'DHT cookie out of range');
  return c;
}

/** Packs a message. Throws EINVAL for values that do not fit their fields. */
export function encodeDhtMsg(m: DhtMessage): Uint8Array {
  const msg = create(dht_msgSchema, { code: m.code, src: contactMsg(m.src) });
  switch (m.code) {
    case DhtCode.STORE:
      if (!Number.isInteger(m.exp) || m.exp < 0 || m.exp > U32_MAX) throw new OuroborosError('EINVAL', `bad DHT expiry ${m.exp}`);
      msg.store = create(dht_store_msgSchema, { key: m.key, val: m.val, exp: m.exp });
      break;
    case DhtCode.FIND_NODE_REQ:
    case DhtCode.FIND_VALUE_REQ:
      msg.find = create(dht_find_req_msgSchema, { cookie: cookieOf(m.cookie), key: m.key });
      break;
    case DhtCode.FIND_NODE_RSP:
    case DhtCode.FIND_VALUE_RSP:
      msg.node = create(dht_find_node_rsp_msgSchema, {
        cookie: cookieOf(m.cookie),
        key: m.key,
        contacts: m.contacts.map(contactMsg),
      });
      // The reference always attaches `val` to a FIND_VALUE_RSP, even empty,
      // and refuses one without it.
      if (m.code === DhtCode.FIND_VALUE_RSP) msg.val = create(dht_find_value_rsp_msgSchema, { values: m.values });
      break;
    default:
      throw new OuroborosError('EINVAL', `unknown DHT code ${(m as { code: number }).code}`);
  }
  return toBinary(dht_msgSchema, msg);
}

// --- structural check (what protobuf-c refuses while unpacking) ------------

const VARINT = 0;
const LEN = 2;

/** Per message type: field number -> [wire type, sub-message schema]. */
type Shape = Map<number, [number, Shape | undefined]>;
const CONTACT: Shape = new Map([
  [1, [LEN, undefined]],
  [2, [VARINT, undefined]],
]);
const FIND: Shape = new Map([
  [1, [VARINT, undefined]],
  [2, [LEN, undefined]],
]);
const NODE: Shape = new Map<number, [number, Shape | undefined]>([
  [1, [VARINT, undefined]],
  [2, [LEN, undefined]],
  [3, [LEN, CONTACT]],
]);
const VAL: Shape = new Map([[1, [LEN, undefined]]]);
const STORE: Shape = new Map([
  [1, [LEN, undefined]],
  [2, [LEN, undefined]],
  [3, [VARINT, undefined]],
]);
const MSG: Shape = new Map<number, [number, Shape | undefined]>([
  [1, [VARINT, undefined]],
  [2, [LEN, CONTACT]],
  [3, [LEN, STORE]],
  [4, [LEN, FIND]],
  [5, [LEN, NODE]],
  [6, [LEN, VAL]],
]);

class Malformed extends Error {}

/** Reads a varint at `pos`; exact up to 2^53, which covers every tag and length. */
function varint(b: Uint8Array, pos: number, end: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Malformed('truncated varint');
    const x = b[pos++]!;
    v += (x & 0x7f) * mul;
    mul *= 128;
    if ((x & 0x80) === 0) return [v, pos];
  }
  throw new Malformed('varint longer than 10 bytes');
}

function walk(b: Uint8Array, pos: number, end: number, shape: Shape): void {
  while (pos < end) {
    let tag: number;
    [tag, pos] = varint(b, pos, end);
    const no = Math.floor(tag / 8);
    const wt = tag & 7;
    if (no === 0 || no > 0x1fffffff) throw new Malformed(`bad field number ${no}`);
    const known = shape.get(no);
    if (known && known[0] !== wt) throw new Malformed(`field ${no} has wire type ${wt}, expected ${known[0]}`);
    switch (wt) {
      case 0:
        [, pos] = varint(b, pos, end);
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        let len: number;
        [len, pos] = varint(b, pos, end);
        if (len > end - pos) throw new Malformed(`field ${no} overruns the message`);
        if (known?.[1]) walk(b, pos, pos + len, known[1]);
        pos += len;
        break;
      }
      default:
        throw new Malformed(`unsupported wire type ${wt} (field ${no})`);
    }
    if (pos > end) throw new Malformed(`field ${no} overruns the message`);
  }
}

// --- decoding -----------------------------------------------------------------

function bad(why: string): OuroborosError {
  return new OuroborosError('EINVAL', `malformed DHT message: ${why}`);
}

function addrOf(a: bigint, what: string): number {
  if (a === 0n) throw new Malformed(`${what} address 0`);
  if (a > BigInt(U32_MAX)) throw new Malformed(`${what} address ${a} beyond 32 bits`);
  return Number(a);
}

function contactOf(c: dht_contact_msg, hashLen: number, what: string): DhtContact {
  if (!isFieldSet(c, dht_contact_msgSchema.field.id) || !isFieldSet(c, dht_contact_msgSchema.field.addr))
    throw new Malformed(`${what} contact without id or addr`);
  if (c.id.length !== hashLen) throw new Malformed(`${what} id of ${c.id.length} bytes, expected ${hashLen}`);
  return { id: c.id.slice(), addr: addrOf(c.addr, what) };
}

/**
 * Unpacks and validates one message for a layer whose hash length is
 * `hashLen`. Anything malformed is returned as an EINVAL OuroborosError; this
 * function does not throw.
 */
export function decodeDhtMsg(sdu: Uint8Array, hashLen: number): DhtMessage | OuroborosError {
  try {
    walk(sdu, 0, sdu.length, MSG);
    const m = fromBinary(dht_msgSchema, sdu, { readUnknownFields: false });
    if (!isFieldSet(m, dht_msgSchema.field.code)) throw new Malformed('no code');
    if (!m.src) throw new Malformed('no src');
    const src = contactOf(m.src, hashLen, 'src');
    const key = (k: Uint8Array, what: string): Uint8Array => {
      if (k.length !== hashLen) throw new Malformed(`${what} key of ${k.length} bytes, expected ${hashLen}`);
      return k.slice();
    };
    switch (m.code) {
      case DhtCode.STORE: {
        const s = m.store;
        if (!s) throw new Malformed('STORE without store');
        if (!isFieldSet(s, dht_store_msgSchema.field.key) || !isFieldSet(s, dht_store_msgSchema.field.val) || !isFieldSet(s, dht_store_msgSchema.field.exp))
          throw new Malformed('store without key, val or exp');
        if (s.val.length === 0) throw new Malformed('empty store value');
        return { code: DhtCode.STORE, src, key: key(s.key, 'store'), val: s.val.slice(), exp: s.exp };
      }
      case DhtCode.FIND_NODE_REQ:
      case DhtCode.FIND_VALUE_REQ: {
        const f = m.find;
        if (!f) throw new Malformed(`${DHT_CODE_NAMES[m.code]} without find`);
        if (!isFieldSet(f, dht_find_req_msgSchema.field.cookie) || !isFieldSet(f, dht_find_req_msgSchema.field.key))
          throw new Malformed('find without cookie or key');
        return { code: m.code, src, cookie: f.cookie, key: key(f.key, 'request') };
      }
      case DhtCode.FIND_NODE_RSP:
      case DhtCode.FIND_VALUE_RSP: {
        const n = m.node;
        if (!n) throw new Malformed(`${DHT_CODE_NAMES[m.code]} without node`);
        if (!isFieldSet(n, dht_find_node_rsp_msgSchema.field.cookie) || !isFieldSet(n, dht_find_node_rsp_msgSchema.field.key))
          throw new Malformed('node response without cookie or key');
        const k = key(n.key, 'response');
        const contacts = n.contacts.map((c) => contactOf(c, hashLen, 'response'));
        if (m.code === DhtCode.FIND_NODE_RSP) return { code: DhtCode.FIND_NODE_RSP, src, cookie: n.cookie, key: k, contacts };
        if (!m.val) throw new Malformed('FIND_VALUE_RSP without val');
        if (m.val.values.some((v) => v.length === 0)) throw new Malformed('empty value');
        return { code: DhtCode.FIND_VALUE_RSP, src, cookie: n.cookie, key: k, contacts, values: m.val.values.map((v) => v.slice()) };
      }
      default:
        throw new Malformed(`unknown code ${m.code}`);
    }
  } catch (e) {
    return bad(e instanceof Error ? e.message : String(e));
  }
}

/** A directory value: the IPCP address as 8 bytes, big-endian. */
export function addrToValue(addr: number): Uint8Array {
  const v = new Uint8Array(8);
  new DataView(v.buffer).setBigUint64(0, BigInt(addr));
  return v;
}

/** The address in a directory value, or undefined if it is not an 8-byte value holding a 32-bit address. */
export function valueToAddr(v: Uint8Array): number | undefined {
  if (v.length !== 8) return undefined;
  const a = new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0);
  return a > BigInt(U32_MAX) ? undefined : Number(a);
}
