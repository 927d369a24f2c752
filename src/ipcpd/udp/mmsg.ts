/**
 * Batched datagram I/O for the UDP layer: sendmmsg(2) and recvmmsg(2) on the
 * fd of the layer's dgram socket, through koffi (Linux, 64-bit struct
 * layouts). Node's dgram keeps owning the socket: it wakes us when the socket
 * is readable (the first datagram still comes through 'message'), and it
 * sends whatever the kernel would not take at once.
 *
 * All structures live in one native block made once: for each of the N
 * slots a data area, an iovec pointing at it, a sockaddr_in and an mmsghdr
 * pointing at both; per batch only lengths and addresses are written.
 */
import { createRequire } from 'node:module';

const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const IOV = 16;
const NAME = 16;
const HDR = 64; // struct mmsghdr: msghdr (56) + msg_len (4) + padding
const AF_INET = 2;

interface Libc {
  sendmmsg(fd: number, vec: bigint, n: number, flags: number): number;
  recvmmsg(fd: number, vec: bigint, n: number, flags: number, timeout: null): number;
}

let libc: Libc | null | undefined;
let koffi: { alloc(t: string, n: number): unknown; address(p: unknown): bigint; view(p: unknown, len: number): ArrayBuffer } | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return null;
  try {
    const require = createRequire(import.meta.url);
    koffi = require('koffi');
    const lib = (koffi as unknown as { load(n: string): { func(s: string): unknown } }).load('libc.so.6');
    libc = {
      sendmmsg: lib.func('int sendmmsg(int, void *, unsigned int, int)') as Libc['sendmmsg'],
      recvmmsg: lib.func('int recvmmsg(int, void *, unsigned int, int, void *)') as Libc['recvmmsg'],
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** The IPv4 address a.b.c.d as the u32 a<<24|b<<16|c<<8|d. */
export function ip4ToU32(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export function u32ToIp4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

class Slots {
  readonly buf: Buffer;
  readonly hdrs: bigint;
  private readonly iovOff: number;
  private readonly nameOff: number;
  private readonly hdrOff: number;
  /** Keeps the native block alive. */
  private readonly mem: unknown;

  constructor(
    readonly n: number,
    readonly slot: number,
  ) {
    const k = koffi!;
    const size = n * (slot + IOV + NAME + HDR);
    this.mem = k.alloc('uint8_t', size);
    const base = k.address(this.mem);
    this.buf = Buffer.from(k.view(this.mem, size));
    this.buf.fill(0);
    this.iovOff = n * slot;
    this.nameOff = this.iovOff + n * IOV;
    this.hdrOff = this.nameOff + n * NAME;
    for (let i = 0; i < n; i++) {
      const iov = this.iovOff + i * IOV;
      const name = this.nameOff + i * NAME;
      const h = this.hdrOff + i * HDR;
      this.buf.writeBigUInt64LE(base + BigInt(i * slot), iov);
      this.buf.writeBigUInt64LE(BigInt(slot), iov + 8);
      this.buf.writeUInt16LE(AF_INET, name);
      this.buf.writeBigUInt64LE(base + BigInt(name), h); // msg_name
      this.buf.writeUInt32LE(NAME, h + 8); // msg_namelen
      this.buf.writeBigUInt64LE(base + BigInt(iov), h + 16); // msg_iov
      this.buf.writeBigUInt64LE(1n, h + 24); // msg_iovlen
    }
    this.hdrs = base + BigInt(this.hdrOff);
  }

  offset(i: number): number {
    return i * this.slot;
  }
  setLen(i: number, len: number): void {
    this.buf.writeUInt32LE(len, this.iovOff + i * IOV + 8);
  }
  setAddr(i: number, ip: number, port: number): void {
    const o = this.nameOff + i * NAME;
    this.buf.writeUInt16BE(port, o + 2);
    this.buf.writeUInt32BE(ip, o + 4);
  }
  /** After a recvmmsg: address room for the next (the kernel leaves the iovecs alone). */
  resetRx(i: number): void {
    this.buf.writeUInt32LE(NAME, this.hdrOff + i * HDR + 8);
  }
  /** The datagram in slot i was longer than the slot. */
  rxTruncated(i: number): boolean {
    return (this.buf.readInt32LE(this.hdrOff + i * HDR + 48) & MSG_TRUNC) !== 0;
  }
  rxLen(i: number): number {
    return this.buf.readUInt32LE(this.hdrOff + i * HDR + 56);
  }
  /** The length queued in slot i (send side). */
  txLen(i: number): number {
    return this.buf.readUInt32LE(this.iovOff + i * IOV + 8);
  }
  /** The address of slot i: the destination (send) or the source (receive). */
  ip(i: number): number {
    return this.buf.readUInt32BE(this.nameOff + i * NAME + 4);
  }
  port(i: number): number {
    return this.buf.readUInt16BE(this.nameOff + i * NAME + 2);
  }
}

export class Mmsg {
  private readonly tx: Slots;
  private readonly rx: Slots;
  private queued = 0;
  private closed = false;
  /** Datagrams received longer than a slot (dropped). */
  truncated = 0;
  private scheduled = false;

  private constructor(private readonly fd: number, private readonly c: Libc, n: number, slot: number, private readonly fallback: (data: Buffer, ip: string, port: number) => void) {
    this.tx = new Slots(n, slot);
    this.rx = new Slots(n, slot);
  }

  /** undefined where koffi or the syscalls are not available (then use dgram alone). */
  static open(fd: number | undefined, slot: number, fallback: (data: Buffer, ip: string, port: number) => void, n = 64): Mmsg | undefined {
    const c = load();
    if (!c || fd === undefined || fd < 0) return undefined;
    return new Mmsg(fd, c, n, slot, fallback);
  }

  /**
   * Queues one datagram `[u32 BE head][sdu]` for ip:port (ip as a u32); the
   * batch goes out once this tick's work is done, or when N are queued.
   */
  send(head: number, sdu: Uint8Array, ip: number, port: number): void {
    if (this.closed) return;
    const i = this.queued++;
    const t = this.tx;
    const off = t.offset(i);
    t.buf.writeUInt32BE(head >>> 0, off);
    t.buf.set(sdu, off + 4);
    t.setLen(i, 4 + sdu.length);
    t.setAddr(i, ip, port);
    if (this.queued === t.n) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const n = this.queued;
    if (n === 0 || this.closed) return;
    this.queued = 0;
    let done = 0;
    while (done < n) {
      const r = this.c.sendmmsg(this.fd, this.tx.hdrs + BigInt(done * HDR), n - done, MSG_DONTWAIT);
      if (r <= 0) break; // EAGAIN (send buffer full) or an error: dgram queues or reports the rest
      done += r;
    }
    const t = this.tx;
    for (let i = done; i < n; i++) {
      const o = t.offset(i);
      this.fallback(Buffer.from(t.buf.subarray(o, o + t.txLen(i))), u32ToIp4(t.ip(i)), t.port(i));
    }
  };

  /**
   * Reads every datagram queued on the socket, without blocking, N per
   * syscall, calling `each` with a view into the receive slots (valid only
   * during the call: copy what is kept) and the source.
   */
  drain(each: (msg: Buffer, ip: number, port: number) => void): number {
    const r = this.rx;
    let total = 0;
    while (!this.closed) {
      const got = this.c.recvmmsg(this.fd, r.hdrs, r.n, MSG_DONTWAIT, null);
      if (got <= 0) return total;
      for (let i = 0; i < got; i++) {
        const o = r.offset(i);
        if (r.rxTruncated(i)) this.truncated++;
        else each(r.buf.subarray(o, o + r.rxLen(i)), r.ip(i), r.port(i));
        r.resetRx(i);
      }
      total += got;
      if (got < r.n) return total;
    }
    return total;
  }

  /** Sends what is queued, then stops touching the fd: call before the socket closes (its number may be reused). */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
