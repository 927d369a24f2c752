/**
 * One Unix stream connection between this process and a peer process,
 * carrying the frames of every flow between the two. Writes are copied into
 * a slab and flushed once the current run of JavaScript is done (one writev
 * for all the packets written meanwhile).
 */
import type net from 'node:net';
import { DATA_HEADER, DataFrameDecoder, type DataType, writeHeader } from './frame.js';

const SLAB = 65536;

export interface LinkHandlers {
  frame(link: Link, type: number, flowId: number, payload: Buffer): void;
  close(link: Link): void;
  bad(link: Link, err: Error): void;
}

export class Link {
  /** Pid of the process at the other end; known at once for outgoing links, after HELLO for incoming. */
  peerPid: number | undefined;
  private slab: Buffer = Buffer.allocUnsafe(SLAB);
  private used = 0;
  private full: Buffer[] = [];
  private scheduled = false;
  private dead = false;

  constructor(readonly sock: net.Socket, private readonly h: LinkHandlers, peerPid?: number) {
    this.peerPid = peerPid;
    const dec = new DataFrameDecoder();
    sock.setNoDelay?.(true);
    sock.on('data', (chunk: Buffer) => {
      try {
        dec.push(chunk, (type, flowId, payload) => this.h.frame(this, type, flowId, payload));
      } catch (e) {
        this.h.bad(this, e as Error);
        sock.destroy();
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.dead = true;
      this.h.close(this);
    });
    sock.unref();
  }

  get closed(): boolean {
    return this.dead;
  }

  /** Queues one frame; the bytes are copied, so the caller may reuse `payload`. */
  send(type: DataType, flowId: number, payload: Uint8Array): void {
    if (this.dead) return;
    const need = DATA_HEADER + payload.length;
    if (this.slab.length - this.used < need) {
      if (this.used > 0) this.full.push(this.slab.subarray(0, this.used));
      this.slab = Buffer.allocUnsafe(Math.max(SLAB, need));
      this.used = 0;
    }
    writeHeader(this.slab, this.used, type, flowId, payload.length);
    this.slab.set(payload, this.used + DATA_HEADER);
    this.used += need;
    this.schedule();
  }

  sendU32(type: DataType, flowId: number, value: number): void {
    const v = Buffer.allocUnsafe(4);
    v.writeUInt32BE(value >>> 0);
    this.send(type, flowId, v);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flush);
  }

  /** Writes whatever is queued now (also run once per tick on its own). */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.dead) return;
    const chunks = this.full;
    if (this.used > 0) chunks.push(this.slab.subarray(0, this.used));
    if (chunks.length === 0) return;
    this.full = [];
    if (chunks.length === 1) {
      this.sock.write(chunks[0]!);
    } else {
      this.sock.cork();
      for (const c of chunks) this.sock.write(c);
      this.sock.uncork();
    }
    if (this.sock.writableLength === 0) {
      // Everything went to the kernel at once (the usual case): the slab is free again.
      if (this.slab.length > SLAB) this.slab = Buffer.allocUnsafe(SLAB);
    } else if (this.used > 0) {
      this.slab = Buffer.allocUnsafe(SLAB);
    }
    this.used = 0;
  };


  destroy(): void {
    this.sock.destroy();
  }

  /** Sends what is queued, then closes; resolves once closed (at most `ms` later). */
  end(ms = 2000): Promise<void> {
    if (this.dead) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.sock.destroy();
        resolve();
      }, ms);
      this.sock.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.sock.end();
    });
  }
}
