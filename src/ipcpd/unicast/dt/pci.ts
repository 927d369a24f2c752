/**
 * The unicast layer's data transfer PCI (WIRE.md §11.1), byte for byte as the
 * reference writes it on a little-endian host:
 *
 *   dst address (addrSize bytes, LE) ‖ qos cube (1) ‖ ttl (1) ‖ ecn (1) ‖ eid (8, LE)
 *
 * 15 bytes with the default 4-byte addresses. There is no source address and
 * no length: the PDU's length is the N-1 SDU's. This sits on the per-packet
 * path, so the codec works in place on caller-owned buffers, keeps the 64-bit
 * eid as two u32 numbers (no bigint per packet) and can decode into a reused
 * object.
 */

/** Eids below this are the IPCP's own components; flows start here. */
export const EID_FIRST_FLOW = 64;
/** Internal component eids, in the reference's registration order. */
export const EID_FA = 0;
export const EID_DHT = 1;

export const DEFAULT_ADDR_SIZE = 4;
/** The only eid size the reference supports (others are forced back to it). */
export const EID_SIZE = 8;
export const DEFAULT_MAX_TTL = 60;

const QC_LEN = 1;
const TTL_LEN = 1;
const ECN_LEN = 1;
const TWO32 = 0x1_0000_0000;

/** A PCI layout. Only eidSize 8 exists: the codec always uses 8. */
export interface PciConfig {
  readonly addrSize: number;
  readonly eidSize: number;
}

/** Offsets from the start of the PCI: qc at addrSize, then ttl, ecn, eid. */
const ttlOff = (c: PciConfig): number => c.addrSize + QC_LEN;
const ecnOff = (c: PciConfig): number => c.addrSize + QC_LEN + TTL_LEN;

/**
 * Builds (and checks) a layout. addrSize must be an integer in 1..8
 * (RangeError otherwise); any eidSize other than 8 is replaced by 8, as the
 * reference does (compare the result's eidSize with the request to warn).
 * The codec functions trust their cfg: check it once with this.
 */
export function pciConfig(addrSize: number = DEFAULT_ADDR_SIZE, eidSize: number = EID_SIZE): PciConfig {
  if (!Number.isInteger(addrSize) || addrSize < 1 || addrSize > 8) {
    throw new RangeError(`DT address size ${addrSize} is not in 1..8`);
  }
  void eidSize;
  return Object.freeze({ addrSize, eidSize: EID_SIZE });
}

/** The default 15-byte layout. */
export const DEFAULT_PCI: PciConfig = pciConfig();

/** Header length: addrSize + 3 + 8. */
export function pciLen(cfg: PciConfig): number {
  return cfg.addrSize + QC_LEN + TTL_LEN + ECN_LEN + EID_SIZE;
}

/** A decoded PCI; eid split in its low and high 32 bits. */
export interface Pci {
  dst: number;
  qc: number;
  ttl: number;
  ecn: number;
  eidLo: number;
  eidHi: number;
  /** Header length: the SDU starts at offset + len. */
  len: number;
}

/**
 * Writes a PCI at buf[offset..offset+len). dst is written as its low addrSize
 * bytes (as the reference copies the low bytes of its u64); qc, ttl and ecn
 * are taken modulo 256. The caller guarantees the room (RangeError if not).
 * Returns the header length.
 */
export function writePci(
  cfg: PciConfig,
  buf: Uint8Array,
  offset: number,
  dst: number,
  qc: number,
  ttl: number,
  ecn: number,
  eidLo: number,
  eidHi: number,
): number {
  const len = pciLen(cfg);
  if (offset < 0 || offset + len > buf.length) throw new RangeError('no room for the DT PCI');
  let lo = dst >>> 0;
  let hi = ((dst - lo) / TWO32) >>> 0;
  const n = cfg.addrSize;
  let i = 0;
  for (; i < n && i < 4; i++) {
    buf[offset + i] = lo & 0xff;
    lo >>>= 8;
  }
  for (; i < n; i++) {
    buf[offset + i] = hi & 0xff;
    hi >>>= 8;
  }
  buf[offset + n] = qc;
  buf[offset + n + 1] = ttl;
  buf[offset + n + 2] = ecn;
  const e = offset + n + 3;
  buf[e] = eidLo;
  buf[e + 1] = eidLo >>> 8;
  buf[e + 2] = eidLo >>> 16;
  buf[e + 3] = eidLo >>> 24;
  buf[e + 4] = eidHi;
  buf[e + 5] = eidHi >>> 8;
  buf[e + 6] = eidHi >>> 16;
  buf[e + 7] = eidHi >>> 24;
  return len;
}

/**
 * Reads the PCI at buf[offset..]. Returns a reason string when the buffer is
 * too short or the address does not fit in a safe integer (2^53). Pass `out`
 * to decode into a reused object on the packet path. Does not touch the TTL
 * (use {@link decTtl} first, as the reference does).
 */
export function decodePci(cfg: PciConfig, buf: Uint8Array, offset = 0, out?: Pci): Pci | string {
  const n = cfg.addrSize;
  const len = pciLen(cfg);
  if (offset < 0 || buf.length - offset < len) {
    return `DT PDU of ${Math.max(0, buf.length - offset)} bytes is shorter than its ${len}-byte PCI`;
  }
  let lo = 0;
  let hi = 0;
  for (let i = Math.min(n, 4) - 1; i >= 0; i--) lo = lo * 256 + buf[offset + i]!;
  for (let i = n - 1; i >= 4; i--) hi = hi * 256 + buf[offset + i]!;
  if (hi > 0x1f_ffff) return 'DT destination address does not fit in 53 bits';
  const e = offset + n + 3;
  const r = out ?? ({} as Pci);
  r.dst = hi * TWO32 + lo;
  r.qc = buf[offset + n]!;
  r.ttl = buf[offset + n + 1]!;
  r.ecn = buf[offset + n + 2]!;
  r.eidLo = (buf[e]! | (buf[e + 1]! << 8) | (buf[e + 2]! << 16) | (buf[e + 3]! << 24)) >>> 0;
  r.eidHi = (buf[e + 4]! | (buf[e + 5]! << 8) | (buf[e + 6]! << 16) | (buf[e + 7]! << 24)) >>> 0;
  r.len = len;
  return r;
}

export function getTtl(cfg: PciConfig, buf: Uint8Array, offset = 0): number {
  return buf[offset + ttlOff(cfg)]!;
}

export function setTtl(cfg: PciConfig, buf: Uint8Array, offset: number, ttl: number): void {
  buf[offset + ttlOff(cfg)] = ttl;
}

/**
 * Decrements the TTL byte in place and returns the new value, as every
 * receiver does before looking at the PCI. Like the reference's u8, 0 wraps
 * to 255 (a PDU that arrives with TTL 0 is not dropped).
 */
export function decTtl(cfg: PciConfig, buf: Uint8Array, offset = 0): number {
  const i = offset + ttlOff(cfg);
  const t = (buf[i]! - 1) & 0xff;
  buf[i] = t;
  return t;
}

export function getEcn(cfg: PciConfig, buf: Uint8Array, offset = 0): number {
  return buf[offset + ecnOff(cfg)]!;
}

/** ORs congestion bits into the ECN byte in place (a hop's marking). */
export function orEcn(cfg: PciConfig, buf: Uint8Array, offset: number, bits: number): void {
  buf[offset + ecnOff(cfg)] |= bits & 0xff;
}

export function eidToBigint(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Splits a u64 eid (RangeError outside 0..2^64-1). */
export function eidFromBigint(eid: bigint): { lo: number; hi: number } {
  if (eid < 0n || eid > 0xffff_ffff_ffff_ffffn) throw new RangeError(`eid ${eid} is not a u64`);
  return { lo: Number(eid & 0xffff_ffffn), hi: Number(eid >> 32n) };
}

/** True for eids of N+1 flows (>= 64), false for internal components. */
export function isFlowEid(lo: number, hi: number): boolean {
  return hi !== 0 || lo >>> 0 >= EID_FIRST_FLOW;
}

/** A flow eid: low 32 bits our endpoint number, high 32 bits random. */
export function makeFlowEid(endpoint: number, random32: number): bigint {
  return eidToBigint(endpoint >>> 0, random32 >>> 0);
}

/** Our endpoint number (the low 32 bits) of a flow eid. */
export function eidEndpoint(eid: bigint): number {
  return Number(eid & 0xffff_ffffn);
}
