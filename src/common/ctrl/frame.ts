/**
 * Control-plane framing on Unix stream sockets: `[u32 BE length][u32 BE request id][protobuf]`,
 * where length counts the id and the message. Pure encode/decode.
 */

/** Largest control frame accepted (the reference's messages stay under 10240 bytes). */
export const MAX_CTRL_FRAME = 65536;
export const CTRL_HEADER = 8;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeFrame(id: number, payload: Uint8Array): Buffer {
  if (payload.length + 4 > MAX_CTRL_FRAME) throw new FrameError(`control message of ${payload.length} bytes is too large`);
  const buf = Buffer.allocUnsafe(CTRL_HEADER + payload.length);
  buf.writeUInt32BE(payload.length + 4, 0);
  buf.writeUInt32BE(id >>> 0, 4);
  buf.set(payload, CTRL_HEADER);
  return buf;
}

export interface Frame {
  id: number;
  payload: Uint8Array;
}

/** Incremental decoder: feed stream chunks, get whole frames. Throws FrameError on a bad length. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (len < 4 || len > MAX_CTRL_FRAME) throw new FrameError(`bad control frame length ${len}`);
      if (this.buf.length - off < 4 + len) break;
      const id = this.buf.readUInt32BE(off + 4);
      frames.push({ id, payload: this.buf.subarray(off + CTRL_HEADER, off + 4 + len) });
      off += 4 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return frames;
  }
}
