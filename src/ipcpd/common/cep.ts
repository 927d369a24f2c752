/**
 * CACEP, the connection establishment exchange (WIRE.md §11.3): the first SDU
 * each way on every N-1 connection the connection manager makes is a
 * `cep_msg` naming the component, its protocol, version and syntax, and the
 * sender's address. The requester checks the answer has the same protocol,
 * version and syntax; the acceptor only looks the component up by name and
 * answers an unknown one with an all-empty message.
 */
import { create, fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import { fail } from '../../common/errors.js';
import { cep_msgSchema } from '../../proto/gen/cep_pb.js';

/** Receivers read at most this many bytes; longer messages fail. */
export const CEP_MAX_LEN = 128;
/** Longest component name the reference accepts (bytes). */
export const CEP_STRLEN = 128;
/** Receive timeout of both sides (the reference's CONNMGR_RCV_TIMEOUT). */
export const CEP_RCV_TIMEOUT_MS = 1000;

/** `enum proto_concrete_syntax`. */
export const ProtoSyntax = { GPB: 0, ASN1: 1, FIXED: 2 } as const;

/** What identifies a component on the wire (everything but the address). */
export interface CepComponent {
  readonly compName: string;
  readonly protocol: string;
  readonly prefVersion: number;
  readonly prefSyntax: number;
}

/** One side's CEP message. */
export interface CepMsg extends CepComponent {
  /** Sender's address (0 for enrollment and broadcast). */
  readonly address: number;
}

const component = (compName: string, protocol: string, prefVersion: number, prefSyntax: number): CepComponent =>
  Object.freeze({ compName, protocol, prefVersion, prefSyntax });

/** Enrollment, unicast and broadcast: "Enrollment"/"OEP"/1/GPB, address 0. */
export const CEP_ENROLLMENT = component('Enrollment', 'OEP', 1, ProtoSyntax.GPB);
/** Unicast data transfer: "Data Transfer"/"dtp"/1/FIXED, own address. */
export const CEP_DT_UNICAST = component('Data Transfer', 'dtp', 1, ProtoSyntax.FIXED);
/** Unicast routing (link-state): "Management"/"LSP"/1/GPB, own address. */
export const CEP_MGMT = component('Management', 'LSP', 1, ProtoSyntax.GPB);
/** Broadcast data transfer: "Data Transfer"/""/0/GPB, address 0. */
export const CEP_DT_BROADCAST = component('Data Transfer', '', 0, ProtoSyntax.GPB);

/** The answer to a request for a component the acceptor does not have. */
export const CEP_UNKNOWN: CepMsg = Object.freeze({ compName: '', protocol: '', prefVersion: 0, prefSyntax: 0, address: 0 });

/** A component's message with the sender's address filled in. */
export function cepMsg(c: CepComponent, address = 0): CepMsg {
  return Object.freeze({ compName: c.compName, protocol: c.protocol, prefVersion: c.prefVersion, prefSyntax: c.prefSyntax, address });
}

const utf8Len = (s: string): number => Buffer.byteLength(s, 'utf8');
const isI32 = (v: number): boolean => Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff;

/**
 * Encodes a CEP message (all required fields, the repeated and optional ones
 * left out, as the reference sends it). RangeError for values the reference
 * cannot send (negative syntax, non-i32 version, bad address, a name longer
 * than 128 bytes); EMSGSIZE when the result exceeds 128 bytes.
 */
export function encodeCep(i: CepMsg): Uint8Array {
  if (!isI32(i.prefVersion)) throw new RangeError(`CEP version ${i.prefVersion} is not an i32`);
  if (!isI32(i.prefSyntax) || i.prefSyntax < 0) throw new RangeError(`CEP syntax ${i.prefSyntax} is invalid`);
  if (!Number.isSafeInteger(i.address) || i.address < 0) throw new RangeError(`CEP address ${i.address} is invalid`);
  if (utf8Len(i.compName) > CEP_STRLEN) throw new RangeError(`component name longer than ${CEP_STRLEN} bytes`);
  const b = toBinary(
    cep_msgSchema,
    create(cep_msgSchema, {
      compName: i.compName,
      protocol: i.protocol,
      prefVersion: i.prefVersion,
      prefSyntax: i.prefSyntax,
      address: BigInt(i.address),
    }),
  );
  if (b.length > CEP_MAX_LEN) fail('EMSGSIZE', `CEP message of ${b.length} bytes exceeds ${CEP_MAX_LEN}`);
  return b;
}

/**
 * Decodes a CEP message, or returns why it is refused: longer than 128 bytes,
 * not protobuf, a required field missing, a component name over 128 bytes,
 * or an address beyond 2^53.
 */
export function decodeCep(b: Uint8Array): CepMsg | string {
  if (b.length > CEP_MAX_LEN) return `CEP message of ${b.length} bytes exceeds ${CEP_MAX_LEN}`;
  let m;
  try {
    m = fromBinary(cep_msgSchema, b);
  } catch (e) {
    return `CEP message does not unpack: ${(e as Error).message}`;
  }
  const f = cep_msgSchema.field;
  for (const k of ['compName', 'protocol', 'prefVersion', 'prefSyntax', 'address'] as const) {
    if (!isFieldSet(m, f[k])) return `CEP message lacks ${k}`;
  }
  if (utf8Len(m.compName) > CEP_STRLEN) return `CEP component name longer than ${CEP_STRLEN} bytes`;
  if (m.address > BigInt(Number.MAX_SAFE_INTEGER)) return `CEP address ${m.address} exceeds 2^53`;
  return { compName: m.compName, protocol: m.protocol, prefVersion: m.prefVersion, prefSyntax: m.prefSyntax, address: Number(m.address) };
}

/** The requester's check on the answer: same protocol, version and syntax. */
export function cepCompatible(ours: CepComponent, theirs: CepComponent): boolean {
  return ours.protocol === theirs.protocol && ours.prefVersion === theirs.prefVersion && ours.prefSyntax === theirs.prefSyntax;
}

/** The least a CEP exchange needs from a flow. read() rejects on timeout. */
export interface CepChannel {
  write(b: Uint8Array): Promise<void>;
  read(timeoutMs: number): Promise<Uint8Array>;
}

/**
 * Requester side: send ours, wait for the answer (1 s by default), check it.
 * Resolves with the peer's message; rejects with EPROTO (malformed or
 * incompatible answer, e.g. the empty one for an unknown component) or
 * whatever the channel throws.
 */
export async function cepRequest(ch: CepChannel, ours: CepMsg, timeoutMs = CEP_RCV_TIMEOUT_MS): Promise<CepMsg> {
  await ch.write(encodeCep(ours));
  const peer = decodeCep(await ch.read(timeoutMs));
  if (typeof peer === 'string') fail('EPROTO', peer);
  if (!cepCompatible(ours, peer)) {
    fail(
      'EPROTO',
      `CEP for ${ours.compName}: asked ${ours.protocol}/${ours.prefVersion}/${ours.prefSyntax}, ` +
        `got ${peer.protocol || '""'}/${peer.prefVersion}/${peer.prefSyntax}`,
    );
  }
  return peer;
}

export interface CepAccepted {
  /** Our component's message, as answered. */
  ours: CepMsg;
  /** The requester's message. */
  peer: CepMsg;
}

/**
 * Acceptor side: wait for the request (1 s by default), look the component up
 * by name in `comps` and answer with its message. A request for an unknown
 * component gets the all-empty answer and then rejects with ENOENT; a
 * malformed one rejects with EPROTO without an answer. Either way the caller
 * deallocates the flow. The acceptor does not check protocol/version/syntax.
 */
export async function cepAccept(
  ch: CepChannel,
  comps: ReadonlyMap<string, CepMsg>,
  timeoutMs = CEP_RCV_TIMEOUT_MS,
): Promise<CepAccepted> {
  const peer = decodeCep(await ch.read(timeoutMs));
  if (typeof peer === 'string') fail('EPROTO', peer);
  const ours = comps.get(peer.compName);
  if (!ours) {
    await ch.write(encodeCep(CEP_UNKNOWN));
    fail('ENOENT', `connection request for unknown component "${peer.compName}"`);
  }
  await ch.write(encodeCep(ours));
  return { ours, peer };
}
