/**
 * Batched datagram I/O for the UDP layer: sendmmsg(2) and recvmmsg(2) on the
 * fd of the layer's dgram socket, through koffi (Linux, 64-bit struct
 * layouts). Node's dgram keeps owning the socket: it wakes us when the socket
 * is readable (the first datagram still comes through 'message'), and it
 * sends whatever the kernel would not take at once.
 *
 * All structures live in one native block made once: for each of the N
 * slots a data area, an iovec pointing at it, a sockaddr_in, a control
 * message and an mmsghdr; per batch only lengths and addresses are written.
 *
 * Segmentation offload (UDP GSO, Linux 4.18+): a run of queued datagrams to
 * the same address, all of one length but the last (which may be shorter),
 * leaves as one message whose iovecs are those datagrams' slots and whose
 * control message (UDP_SEGMENT) gives the length: the kernel cuts it into
 * exactly the datagrams queued, so the bytes on the wire are the same, and
 * routes, allocates and passes the train through its stack once instead of
 * once per datagram. Where the kernel refuses (no GSO, or a segment larger
 * than the path MTU), the batch goes out unsegmented and the limit drops.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:dgram';

const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const IOV = 16;
const NAME = 16;
const HDR = 64; // struct mmsghdr: msghdr (56) + msg_len (4) + padding
const CTL = 24; // CMSG_SPACE(sizeof(u16)): cmsghdr (len u64, level, type) + the u16, aligned
const AF_INET = 2;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
/** Segments per GSO message (the kernel allows 64 or more). */
export const GSO_MAX_SEGS = 64;
/** Bytes per GSO message: an IPv4 datagram's largest payload (65535 - 20 - 8), with room to spare. */
export const GSO_MAX_BYTES = 65000;
/** A segment this small fits any link's MTU (1500 - 28): a refusal for it means no GSO at all. */
const GSO_SAFE_SEG = 1472;
const EINVAL = 22;
const EIO = 5;
const EMSGSIZE = 90;
const ENOPROTOOPT = 92;
const EOPNOTSUPP = 95;

interface Libc {
  sendmmsg(fd: number, vec: bigint, n: number, flags: number): number;
  recvmmsg(fd: number, vec: bigint, n: number, flags: number, timeout: null): number;
  setsockopt(fd: number, level: number, name: number, value: number[], len: number): number;
}

let libc: Libc | null | undefined;
let koffi: { alloc(t: string, n: number): unknown; address(p: unknown): bigint; view(p: unknown, len: number): ArrayBuffer; errno(): number } | undefined;

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
      setsockopt: lib.func('int setsockopt(int, int, int, const int *, unsigned int)') as Libc['setsockopt'],
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

/** The fd under a bound dgram socket (from Node's internal state), or undefined. */
export function socketFd(s: Socket): number | undefined {
  const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'state symbol');
  const fd = key ? (s as unknown as Record<symbol, { handle?: { fd?: number } }>)[key]?.handle?.fd : undefined;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

class Slots {
  readonly buf: Buffer;
  readonly hdrs: bigint;
  private readonly base: number;
  private readonly iovOff: number;
  private readonly nameOff: number;
  private readonly ctlOff: number;
  private readonly hdrOff: number;
  /** Header m is message m alone, unsegmented (as made): most flushes need not write it again. */
  private readonly plain: Uint8Array;
  /** Keeps the native block alive. */
  private readonly mem: unknown;

  constructor(
    readonly n: number,
    readonly slot: number,
  ) {
    const k = koffi!;
    const size = n * (slot + IOV + NAME + CTL + HDR);
    this.mem = k.alloc('uint8_t', size);
    const base = k.address(this.mem);
    this.base = Number(base);
    this.buf = Buffer.from(k.view(this.mem, size));
    this.buf.fill(0);
    this.iovOff = n * slot;
    this.nameOff = this.iovOff + n * IOV;
    this.ctlOff = this.nameOff + n * NAME;
    this.hdrOff = this.ctlOff + n * CTL;
    this.plain = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const iov = this.iovOff + i * IOV;
      const ctl = this.ctlOff + i * CTL;
      this.buf.writeBigUInt64LE(base + BigInt(i * slot), iov);
      this.buf.writeBigUInt64LE(BigInt(slot), iov + 8);
      this.buf.writeUInt16LE(AF_INET, this.nameOff + i * NAME);
      this.buf.writeBigUInt64LE(18n, ctl); // cmsg_len: CMSG_LEN(sizeof(u16))
      this.buf.writeInt32LE(SOL_UDP, ctl + 8);
      this.buf.writeInt32LE(UDP_SEGMENT, ctl + 12);
      this.message(i, i, 1, 0);
    }
    this.hdrs = base + BigInt(this.hdrOff);
  }

  /** Writes a native address (below 2^53) at `off`. */
  private ptr(off: number, addr: number): void {
    this.buf.writeUInt32LE(addr % 0x100000000, off);
    this.buf.writeUInt32LE(Math.floor(addr / 0x100000000), off + 4);
  }

  /**
   * Makes header `m` the message of slots first .. first+count-1 (to slot
   * first's address); with `seg` > 0, cut by the kernel into datagrams of
   * `seg` bytes (UDP_SEGMENT), else one datagram.
   */
  message(m: number, first: number, count: number, seg: number): void {
    const plain = first === m && count === 1 && seg === 0;
    if (plain && this.plain[m]) return;
    this.plain[m] = plain ? 1 : 0;
    const h = this.hdrOff + m * HDR;
    this.ptr(h, this.base + this.nameOff + first * NAME); // msg_name
    this.buf.writeUInt32LE(NAME, h + 8); // msg_namelen
    this.ptr(h + 16, this.base + this.iovOff + first * IOV); // msg_iov
    this.buf.writeUInt32LE(count, h + 24); // msg_iovlen (size_t: the high half stays 0)
    if (seg > 0) {
      const ctl = this.ctlOff + m * CTL;
      this.buf.writeUInt16LE(seg, ctl + 16);
      this.ptr(h + 32, this.base + ctl); // msg_control
      this.buf.writeUInt32LE(CTL, h + 40); // msg_controllen
    } else {
      this.ptr(h + 32, 0);
      this.buf.writeUInt32LE(0, h + 40);
    }
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
  /** Per queued slot: length, destination. */
  private readonly lens: Uint32Array;
  private readonly ips: Uint32Array;
  private readonly ports: Uint16Array;
  /** Per message of the batch being sent: its first slot. */
  private readonly firsts: Uint16Array;
  /** Datagrams received longer than a slot (dropped). */
  truncated = 0;
  /** Segments larger than this are not offloaded (0: GSO off). */
  gsoLimit: number;
  /** Statistics of the send side: messages handed to the kernel, datagrams in them. */
  readonly sent = { messages: 0, datagrams: 0 };
  private scheduled = false;

  private constructor(private readonly fd: number, private readonly c: Libc, n: number, slot: number, private readonly fallback: (data: Buffer, ip: string, port: number) => void, gso: boolean) {
    this.tx = new Slots(n, slot);
    this.rx = new Slots(n, slot);
    this.lens = new Uint32Array(n);
    this.ips = new Uint32Array(n);
    this.ports = new Uint16Array(n);
    this.firsts = new Uint16Array(n);
    this.gsoLimit = gso ? 0xffff : 0;
  }

  /**
   * undefined where koffi or the syscalls are not available (then use dgram
   * alone). `gso: false` sends every datagram as a message of its own.
   */
  static open(fd: number | undefined, slot: number, fallback: (data: Buffer, ip: string, port: number) => void, opts: { n?: number; gso?: boolean } = {}): Mmsg | undefined {
    const c = load();
    if (!c || fd === undefined || fd < 0) return undefined;
    // A kernel without UDP GSO (before 4.18) would ignore the control message
    // and send a train as one datagram: ask it first (segment size 0 = none).
    const gso = (opts.gso ?? true) && c.setsockopt(fd, SOL_UDP, UDP_SEGMENT, [0], 4) === 0;
    return new Mmsg(fd, c, opts.n ?? 64, slot, fallback, gso);
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
    const len = 4 + sdu.length;
    t.buf.writeUInt32BE(head >>> 0, off);
    t.buf.set(sdu, off + 4);
    t.setLen(i, len);
    t.setAddr(i, ip, port);
    this.lens[i] = len;
    this.ips[i] = ip;
    this.ports[i] = port;
    if (this.queued === t.n) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  /**
   * Groups slots from .. n-1 into messages (runs for GSO) from header 0 on;
   * returns how many.
   */
  private group(from: number, n: number): number {
    const { lens, ips, ports } = this;
    let m = 0;
    for (let i = from; i < n; m++) {
      const seg = lens[i]!;
      let k = 1;
      if (seg <= this.gsoLimit) {
        const ip = ips[i];
        const port = ports[i];
        let bytes = seg;
        while (i + k < n && k < GSO_MAX_SEGS && ips[i + k] === ip && ports[i + k] === port) {
          const l = lens[i + k]!;
          if (l > seg || bytes + l > GSO_MAX_BYTES) break;
          bytes += l;
          k++;
          if (l < seg) break; // a shorter datagram ends the train
        }
      }
      this.tx.message(m, i, k, k > 1 ? seg : 0);
      this.firsts[m] = i;
      i += k;
    }
    return m;
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const n = this.queued;
    if (n === 0 || this.closed) return;
    this.queued = 0;
    const { firsts } = this;
    let from = 0; // the first slot of the current grouping
    let m = this.group(0, n);
    let done = 0; // messages of it sent
    let upTo = n; // slots before this went to the kernel
    while (done < m) {
      const r = this.c.sendmmsg(this.fd, this.tx.hdrs + BigInt(done * HDR), m - done, MSG_DONTWAIT);
      if (r > 0) {
        done += r;
        continue;
      }
      const first = firsts[done]!;
      const next = done + 1 < m ? firsts[done + 1]! : n;
      if (next - first > 1 && this.refused(koffi!.errno(), this.lens[first]!)) {
        // The kernel would not segment this train: regroup what is left without it.
        this.sent.messages += done;
        this.sent.datagrams += first - from;
        from = first;
        m = this.group(first, n);
        done = 0;
        continue;
      }
      upTo = first; // EAGAIN (send buffer full) or an error: dgram queues or reports the rest
      break;
    }
    this.sent.messages += done;
    this.sent.datagrams += upTo - from;
    const t = this.tx;
    for (let i = upTo; i < n; i++) {
      const o = t.offset(i);
      this.fallback(Buffer.from(t.buf.subarray(o, o + this.lens[i]!)), u32ToIp4(this.ips[i]!), this.ports[i]!);
    }
  };

  /**
   * A GSO message of `seg`-byte segments failed with `err`: true when that
   * is the kernel refusing segmentation (then the limit drops below `seg`:
   * no GSO at all if even a segment that fits any MTU was refused).
   */
  private refused(err: number, seg: number): boolean {
    if (err !== EINVAL && err !== EIO && err !== EMSGSIZE && err !== ENOPROTOOPT && err !== EOPNOTSUPP) return false;
    this.gsoLimit = seg <= GSO_SAFE_SEG ? 0 : Math.min(this.gsoLimit, GSO_SAFE_SEG);
    return true;
  }

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
