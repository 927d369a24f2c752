/**
 * Data-plane framing between two local processes on one Unix stream socket:
 * `[u8 type][u32 BE flow id][u32 BE length][payload]`. Pure encode/decode.
 */

export const DataType = {
  /** One SDU of a flow. */
  DATA: 1,
  /** Receiver returns `u32 BE count` packets of window to the sender. */
  CREDIT: 2,
  /** The sender's end of the flow is gone: no more data will follow. */
  DOWN: 3,
  /** First frame on a connection: `u32 BE pid` of the connecting process. */
  HELLO: 4,
  /** The sender marked the flow down (`u32 BE` 1) or up again (0): fccntl FLOWFDOWN. */
  STATE: 5,
  /**
   * From a local IPCP to a program: `u32 BE pid, u32 BE flow id` of the other
   * program of this flow; from now on talk to it directly (the IPCP hands the
   * data path over).
   */
  REDIRECT: 6,
  /** The last frame of a flow sent along the old path (through the IPCP) after a REDIRECT. */
  MARK: 7,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

export const DATA_HEADER = 9;
/** Largest SDU carried (the reference's largest pool class is 1 MiB). */
export const MAX_SDU = 1 << 20;

export function writeHeader(buf: Buffer, off: number, type: DataType, flowId: number, len: number): void {
  buf[off] = type;
  buf.writeUInt32BE(flowId >>> 0, off + 1);
  buf.writeUInt32BE(len, off + 5);
}

export function encodeDataFrame(type: DataType, flowId: number, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(DATA_HEADER + payload.length);
  writeHeader(buf, 0, type, flowId, payload.length);
  buf.set(payload, DATA_HEADER);
  return buf;
}

export function encodeU32Frame(type: DataType, flowId: number, value: number): Buffer {
  const buf = Buffer.allocUnsafe(DATA_HEADER + 4);
  writeHeader(buf, 0, type, flowId, 4);
  buf.writeUInt32BE(value >>> 0, DATA_HEADER);
  return buf;
}

export class DataFrameError extends Error {}

export interface DataFrameSink {
  (type: number, flowId: number, payload: Buffer): void;
}

/**
 * Incremental decoder. Whole frames inside one chunk are handed out as
 * sub-views of the chunk (no copy); only frames split across chunks are copied.
 */
export class DataFrameDecoder {
  /** A frame split across chunks: its bytes so far (header first, then the whole frame). */
  private pend: Buffer | undefined;
  private fill = 0;

  private static check(type: number, len: number): void {
    if (type < DataType.DATA || type > DataType.MARK) throw new DataFrameError(`unknown data frame type ${type}`);
    if (len > MAX_SDU) throw new DataFrameError(`data frame of ${len} bytes exceeds ${MAX_SDU}`);
  }

  push(chunk: Buffer, sink: DataFrameSink): void {
    let off = 0;
    const end = chunk.length;
    if (this.pend) {
      if (this.fill < DATA_HEADER) {
        const n = Math.min(DATA_HEADER - this.fill, end);
        chunk.copy(this.pend, this.fill, 0, n);
        this.fill += n;
        off = n;
        if (this.fill < DATA_HEADER) return;
        const len = this.pend.readUInt32BE(5);
        DataFrameDecoder.check(this.pend[0]!, len);
        const whole = Buffer.allocUnsafe(DATA_HEADER + len);
        this.pend.copy(whole, 0, 0, DATA_HEADER);
        this.pend = whole;
      }
      const n = Math.min(this.pend.length - this.fill, end - off);
      chunk.copy(this.pend, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill < this.pend.length) return;
      const p = this.pend;
      this.pend = undefined;
      this.fill = 0;
      sink(p[0]!, p.readUInt32BE(1), p.subarray(DATA_HEADER));
    }
    while (end - off >= DATA_HEADER) {
      const type = chunk[off]!;
      const len = chunk.readUInt32BE(off + 5);
      DataFrameDecoder.check(type, len);
      if (end - off - DATA_HEADER < len) {
        // Only the split frame is copied, into a buffer of exactly its size.
        this.pend = Buffer.allocUnsafe(DATA_HEADER + len);
        chunk.copy(this.pend, 0, off, end);
        this.fill = end - off;
        return;
      }
      sink(type, chunk.readUInt32BE(off + 1), chunk.subarray(off + DATA_HEADER, off + DATA_HEADER + len));
      off += DATA_HEADER + len;
    }
    if (off < end) {
      this.pend = Buffer.allocUnsafe(DATA_HEADER);
      chunk.copy(this.pend, 0, off, end);
      this.fill = end - off;
    }
  }
}
