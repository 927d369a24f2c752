/**
 * A flow as a program sees it: SDU read/write with the reference's
 * semantics (partial reads, timeouts, non-blocking mode), fccntl, async
 * iteration and a Duplex stream, on top of a data-plane endpoint.
 */
import { Duplex } from 'node:stream';
import { OuroborosError, fail } from '../common/errors.js';
import { Fccntl, FlowEvent, FlowFlags, type Flow, type FlowEventType } from './api.js';
import { Endpoint, EndpointEvent } from './data/endpoint.js';
import type { QosSpec } from './qos.js';
import { Keepalive } from './keepalive.js';
import { sduPath, type PathStats, type SduPath } from './sdu-path.js';
import { cryptCodec, isEncrypted, pathQos, type CryptCodec, type CryptStats, type FlowSecurityInit } from './crypt/path.js';

/** How long a reliable flow's deallocation waits for its data to be acknowledged. */
const LINGER_MAX_MS = 10000;
import { timerDelay } from '../common/time.js';

type Waiter = () => void;

/** What a flow needs from the process that owns it. */
export interface FlowHost {
  dealloc(flow: FlowImpl): Promise<void>;
}

/** Receives the events of flows added to a flow set. */
export interface FlowEventSink {
  post(flow: FlowImpl, type: FlowEventType): void;
  /** The flow was deallocated here (no event is posted for that). */
  closed?(flow: FlowImpl): void;
}

export class FlowImpl implements Flow {
  readTimeout: number | null = null;
  writeTimeout: number | null = null;
  private flagBits: number = FlowFlags.DEFAULT;
  private partial: { pkt: Buffer; off: number } | undefined;
  /** A read that filled the caller's buffer exactly owes a 0-length read next. */
  private owesEnd = false;
  private readers: Waiter[] = [];
  private writers: Waiter[] = [];
  private deallocated = false;
  /** The peer went silent past the QoS timeout. */
  private peerTimedOut = false;
  private keepalive: Keepalive | undefined;
  private deallocating: Promise<void> | undefined;
  /** FRCT / CRC between this flow and its endpoint, as its QoS asks (or the endpoint itself). */
  private readonly path: SduPath;
  /** Per-packet encryption below the path, when OAP negotiated a cipher (crypt/path.ts). */
  private readonly crypt: CryptCodec | undefined;
  /** The flow set this flow is in, if any. */
  set: FlowEventSink | undefined;

  constructor(
    readonly fd: number,
    readonly id: number,
    readonly qos: Readonly<QosSpec>,
    readonly ep: Endpoint,
    private readonly host: FlowHost,
    mpl = 0,
    sec?: FlowSecurityInit,
  ) {
    if (isEncrypted(sec)) {
      this.crypt = cryptCodec(sec, qos.ber === 0);
      ep.codec = this.crypt;
    }
    this.path = sduPath(ep, pathQos(qos, this.crypt !== undefined), mpl);
    this.path.onEvent = (ev) => this.onEndpoint(ev);
    if (qos.timeout > 0) this.keepalive = new Keepalive(ep, qos.timeout, () => this.peerTimeout());
  }

  private peerTimeout(): void {
    this.peerTimedOut = true;
    this.wake(this.readers);
    this.wake(this.writers);
    this.set?.post(this, FlowEvent.PEER);
  }

  private onEndpoint(ev: EndpointEvent): void {
    if (ev === EndpointEvent.PKT) {
      this.wake(this.readers);
      this.set?.post(this, FlowEvent.PKT);
    } else if (ev === EndpointEvent.WRITABLE) {
      this.wake(this.writers);
    } else if (ev === EndpointEvent.KEEPALIVE) {
      // proof of life only: readers are not woken
    } else if (ev === EndpointEvent.PEER_DOWN || ev === EndpointEvent.PEER_UP) {
      this.set?.post(this, ev === EndpointEvent.PEER_DOWN ? FlowEvent.DOWN : FlowEvent.UP);
    } else {
      this.wake(this.readers);
      this.wake(this.writers);
      this.set?.post(this, ev === EndpointEvent.LOST ? FlowEvent.DOWN : FlowEvent.DEALLOC);
    }
  }

  private wake(list: Waiter[]): void {
    if (list.length === 0) return;
    const all = list.splice(0);
    for (const w of all) w();
  }

  get flags(): number {
    return this.flagBits;
  }

  /** Setting FlowFlags.DOWN tells the peer (a DOWN event there); clearing it, UP. */
  set flags(v: number) {
    const was = this.flagBits & FlowFlags.DOWN;
    this.flagBits = v >>> 0;
    const now = this.flagBits & FlowFlags.DOWN;
    if (was !== now) this.ep.sendState(now !== 0);
  }

  get rxQueueLength(): number {
    return this.path.rxLength + (this.partial ? 1 : 0);
  }

  get txQueueLength(): number {
    return this.path.txLength;
  }

  /** Per-flow statistics: packets and bytes each way, CRC errors, FRCT counters and RTT, encryption. */
  get stats(): { tx: { packets: number; bytes: number }; rx: { packets: number; bytes: number }; dropped: number; crypt: CryptStats | undefined } & PathStats {
    const e = this.ep.stats;
    const p = this.path.stats;
    const c = this.crypt?.stats;
    return {
      tx: { packets: e.txPackets, bytes: e.txBytes },
      rx: { packets: e.rxPackets, bytes: e.rxBytes },
      dropped: e.dropped,
      ...p,
      crcErrors: p.crcErrors + (c?.crcErrors ?? 0),
      crypt: c,
    };
  }

  /** The cipher protecting this flow's packets (e.g. 'aes-256-gcm'), or undefined when it is not encrypted. */
  get cipher(): string | undefined {
    return this.crypt?.crypt.cipher.name;
  }

  get closed(): boolean {
    return this.deallocated || this.path.down;
  }

  /** Waits on `list` until woken or the timeout; false on timeout. */
  private wait(list: Waiter[], timeout: number | null): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w: Waiter = () => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      list.push(w);
      if (timeout !== null) {
        timer = setTimeout(() => {
          const i = list.indexOf(w);
          if (i >= 0) list.splice(i, 1);
          resolve(false);
        }, timerDelay(timeout));
      }
    });
  }

  private checkOpen(): void {
    if (this.deallocated) fail('ENOTALLOC', `flow ${this.fd} is not allocated (deallocated already)`);
  }

  /** Next whole SDU, honouring the read timeout and non-blocking flag. */
  private async nextPacket(): Promise<Buffer> {
    const deadline = this.readTimeout === null ? null : Date.now() + this.readTimeout;
    for (;;) {
      this.checkOpen();
      const pkt = this.path.take();
      if (pkt) return pkt;
      if (this.peerTimedOut) fail('EFLOWPEER', `flow ${this.fd}: the peer has been silent for more than ${this.qos.timeout} ms`);
      if (this.path.down) fail('EFLOWDOWN', `flow ${this.fd} is down: the peer deallocated it or went away`);
      if (this.flagBits & FlowFlags.RNOBLOCK) fail('EAGAIN', `no packet waiting on flow ${this.fd}`);
      const left = deadline === null ? null : deadline - Date.now();
      if (left !== null && left <= 0) fail('ETIMEDOUT', `read on flow ${this.fd} timed out`);
      const woke = await this.wait(this.readers, left);
      if (!woke && deadline !== null && Date.now() >= deadline && !this.path.readable && !this.path.down) {
        fail('ETIMEDOUT', `read on flow ${this.fd} timed out after ${this.readTimeout} ms`);
      }
    }
  }

  async read(): Promise<Buffer> {
    if (this.partial) {
      const { pkt, off } = this.partial;
      this.partial = undefined;
      this.owesEnd = false;
      return pkt.subarray(off);
    }
    this.owesEnd = false;
    return this.nextPacket();
  }

  async readInto(buf: Uint8Array): Promise<number> {
    if (this.partial) {
      const { pkt, off } = this.partial;
      const n = Math.min(buf.length, pkt.length - off);
      buf.set(pkt.subarray(off, off + n), 0);
      if (off + n < pkt.length) this.partial = { pkt, off: off + n };
      else {
        this.partial = undefined;
        this.owesEnd = n === buf.length;
      }
      return n;
    }
    if (this.owesEnd) {
      this.owesEnd = false;
      return 0;
    }
    const pkt = await this.nextPacket();
    if (pkt.length > buf.length) {
      if (this.flagBits & FlowFlags.RNOPART) fail('EMSGSIZE', `packet of ${pkt.length} bytes does not fit a ${buf.length}-byte buffer`);
      buf.set(pkt.subarray(0, buf.length), 0);
      this.partial = { pkt, off: buf.length };
      return buf.length;
    }
    buf.set(pkt, 0);
    this.owesEnd = pkt.length === buf.length && pkt.length > 0 && !(this.flagBits & FlowFlags.RNOPART);
    return pkt.length;
  }

  async write(data: Uint8Array): Promise<void> {
    const deadline = this.writeTimeout === null ? null : Date.now() + this.writeTimeout;
    for (;;) {
      this.checkOpen();
      if ((this.flagBits & FlowFlags.ACCMODE) === FlowFlags.RDONLY) fail('EPERM', `flow ${this.fd} is read-only`);
      if (this.path.down) fail('EFLOWDOWN', `flow ${this.fd} is down: the peer deallocated it or went away`);
      if (this.path.send(data)) return;
      if (this.path.down) fail('EFLOWDOWN', `flow ${this.fd} is down: the peer is unreachable`);
      // A full window will not open again once the peer has gone silent.
      if (this.peerTimedOut) fail('EFLOWPEER', `flow ${this.fd}: the peer has been silent for more than ${this.qos.timeout} ms`);
      if (this.flagBits & FlowFlags.WNOBLOCK) fail('EAGAIN', `flow ${this.fd}: the peer's window is full`);
      const left = deadline === null ? null : deadline - Date.now();
      if (left !== null && left <= 0) fail('ETIMEDOUT', `write on flow ${this.fd} timed out`);
      await this.wait(this.writers, left);
    }
  }

  /** Synchronous write attempt for hot loops: false when the window is full. */
  tryWrite(data: Uint8Array): boolean {
    this.checkOpen();
    if (this.path.down) fail('EFLOWDOWN', `flow ${this.fd} is down`);
    return this.path.send(data);
  }

  /** Synchronous read attempt: a whole SDU or undefined when none is queued. */
  tryRead(): Buffer | undefined {
    this.checkOpen();
    if (this.partial) {
      const { pkt, off } = this.partial;
      this.partial = undefined;
      return pkt.subarray(off);
    }
    const pkt = this.path.take();
    if (!pkt && this.peerTimedOut) fail('EFLOWPEER', `flow ${this.fd}: the peer timed out`);
    if (!pkt && this.path.down) fail('EFLOWDOWN', `flow ${this.fd} is down`);
    return pkt;
  }

  /** Resolves when a packet is queued, the flow goes down, or after `timeout` ms. */
  async readable(timeout: number | null = null): Promise<boolean> {
    if (this.path.readable || this.partial || this.path.down || this.peerTimedOut) return true;
    return this.wait(this.readers, timeout);
  }

  dealloc(): Promise<void> {
    this.deallocating ??= (async () => {
      // A reliable flow lingers until what it sent is acknowledged (bounded).
      if (this.path.frctFlags !== undefined && this.path.frctFlags & 0o4) await this.path.drain(LINGER_MAX_MS);
      this.path.stop();
      this.deallocated = true;
      this.keepalive?.stop();
      this.wake(this.readers);
      this.wake(this.writers);
      this.set?.closed?.(this);
      await this.host.dealloc(this);
      this.crypt?.dispose(); // cipher contexts and keys freed now, not at garbage collection
    })();
    return this.deallocating;
  }

  fccntl(cmd: number, arg?: unknown): unknown {
    this.checkOpen();
    switch (cmd) {
      case Fccntl.SRCVTIMEO:
        this.readTimeout = arg == null ? null : Number(arg);
        return 0;
      case Fccntl.GRCVTIMEO:
        if (this.readTimeout === null) fail('EPERM', 'no read timeout is set');
        return this.readTimeout;
      case Fccntl.SSNDTIMEO:
        this.writeTimeout = arg == null ? null : Number(arg);
        return 0;
      case Fccntl.GSNDTIMEO:
        if (this.writeTimeout === null) fail('EPERM', 'no write timeout is set');
        return this.writeTimeout;
      case Fccntl.GQOSSPEC:
        return { ...this.qos };
      case Fccntl.SFLAGS:
        if (typeof arg !== 'number') fail('EINVAL', 'FLOWSFLAGS takes a number');
        this.flags = arg;
        return 0;
      case Fccntl.GFLAGS:
        return this.flags;
      case Fccntl.GRXQLEN:
        return this.rxQueueLength;
      case Fccntl.GTXQLEN:
        return this.txQueueLength;
      case Fccntl.FRCTSFLAGS:
      case Fccntl.FRCTGFLAGS:
        if (this.path.frctFlags === undefined) fail('EPERM', `flow ${this.fd} has no FRCT (its QoS is not in-order)`);
        if (cmd === Fccntl.FRCTGFLAGS) return this.path.frctFlags;
        if (typeof arg !== 'number') fail('EINVAL', 'FRCTSFLAGS takes a number');
        this.path.frctFlags = arg;
        return 0;
      default:
        fail('ENOTSUP', `fccntl command ${cmd} is not supported`);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      try {
        yield await this.read();
      } catch (e) {
        if (e instanceof OuroborosError && (e.code === 'EFLOWDOWN' || e.code === 'ENOTALLOC' || e.code === 'EFLOWPEER')) return;
        throw e;
      }
    }
  }

  toStream(): Duplex {
    const stream = new Duplex({
      read: () => {
        this.read().then(
          (pkt) => stream.push(pkt),
          (e) => {
            if (e instanceof OuroborosError && (e.code === 'EFLOWDOWN' || e.code === 'ENOTALLOC')) stream.push(null);
            else stream.destroy(e as Error);
          },
        );
      },
      write: (chunk: Buffer, _enc, cb) => {
        this.write(chunk).then(() => cb(), (e) => cb(e as Error));
      },
      final: (cb) => {
        this.dealloc().then(() => cb(), (e) => cb(e as Error));
      },
    });
    return stream;
  }
}
