/**
 * A persistent control connection carrying many concurrent requests, matched
 * by request id. The client side sends requests and awaits replies; the
 * server side hands each request to a handler and writes back its reply.
 */
import net from 'node:net';
import { FrameDecoder, FrameError, encodeFrame } from './frame.js';
import { OuroborosError } from '../errors.js';
import { timerDelay } from '../time.js';

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Client end of a control connection. */
export class CtrlClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedErr: OuroborosError | undefined;
  /** Called once when the connection ends (after pending requests failed). */
  onClose: (() => void) | undefined;

  private constructor(private readonly sock: net.Socket, private readonly what: string, code: 'EIRMD' | 'EIPCP') {
    const dec = new FrameDecoder();
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = dec.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const f of frames) {
        const p = this.pending.get(f.id);
        if (!p) continue;
        this.pending.delete(f.id);
        if (p.timer) clearTimeout(p.timer);
        p.resolve(f.payload);
      }
      this.refresh();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closedErr = new OuroborosError(code, `connection to ${what} lost`);
      for (const p of this.pending.values()) {
        if (p.timer) clearTimeout(p.timer);
        p.reject(this.closedErr);
      }
      this.pending.clear();
      this.onClose?.();
    });
    this.refresh();
  }

  static connect(path: string, what: string, code: 'EIRMD' | 'EIPCP'): Promise<CtrlClient> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(path);
      const onErr = (e: NodeJS.ErrnoException): void => {
        reject(new OuroborosError(code, `cannot reach ${what} at ${path} (${e.code ?? e.message}); is it running?`));
      };
      sock.once('error', onErr);
      sock.once('connect', () => {
        sock.off('error', onErr);
        resolve(new CtrlClient(sock, what, code));
      });
    });
  }

  get closed(): boolean {
    return this.closedErr !== undefined;
  }

  /** The underlying socket (for peer-credential checks). */
  get socket(): net.Socket {
    return this.sock;
  }

  /** Sends a request; resolves with the reply payload. timeout in ms (undefined: none). */
  request(payload: Uint8Array, timeout?: number): Promise<Uint8Array> {
    if (this.closedErr) return Promise.reject(this.closedErr);
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffffe ? 1 : this.nextId + 1;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, timer: undefined };
      if (timeout !== undefined) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          this.refresh();
          reject(new OuroborosError('ETIMEDOUT', `${this.what} did not answer within ${timeout} ms`));
        }, timerDelay(timeout));
      }
      this.pending.set(id, p);
      this.refresh();
      try {
        this.sock.write(encodeFrame(id, payload));
      } catch (e) {
        this.pending.delete(id);
        if (p.timer) clearTimeout(p.timer);
        reject(e instanceof FrameError ? new OuroborosError('EMSGSIZE', e.message) : e);
      }
    });
  }

  /** Keeps the event loop alive only while a request is outstanding. */
  private refresh(): void {
    if (this.pending.size > 0) this.sock.ref();
    else this.sock.unref();
  }

  close(): void {
    this.sock.end();
    this.sock.destroy();
  }
}

export type RequestHandler = (payload: Uint8Array, conn: CtrlConn) => Promise<Uint8Array | undefined>;

/** Server end of one accepted control connection. */
export class CtrlConn {
  private closed = false;
  readonly closeHandlers: (() => void)[] = [];
  /** Anything a server wants to remember about this peer (e.g. the process behind it). */
  tag: unknown;

  constructor(readonly sock: net.Socket, handler: RequestHandler, onBadFrame: (err: Error) => void) {
    const dec = new FrameDecoder();
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = dec.push(chunk);
      } catch (e) {
        onBadFrame(e as Error);
        sock.destroy();
        return;
      }
      for (const f of frames) {
        handler(f.payload, this).then(
          (reply) => {
            if (reply && !this.closed) sock.write(encodeFrame(f.id, reply));
          },
          (e) => onBadFrame(e as Error),
        );
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      for (const h of this.closeHandlers) h();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  destroy(): void {
    this.sock.destroy();
  }
}
