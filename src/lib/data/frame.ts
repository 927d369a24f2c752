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
  private rest: Buffer | undefined;

  push(chunk: Buffer, sink: DataFrameSink): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= DATA_HEADER) {
      const type = buf[off]!;
      const len = buf.readUInt32BE(off + 5);
      if (type < DataType.DATA || type > DataType.STATE) throw new DataFrameError(`unknown data frame type ${type}`);
      if (len > MAX_SDU) throw new DataFrameError(`data frame of ${len} bytes exceeds ${MAX_SDU}`);
      if (end - off - DATA_HEADER < len) break;
      const flowId = buf.readUInt32BE(off + 1);
      sink(type, flowId, buf.subarray(off + DATA_HEADER, off + DATA_HEADER + len));
      off += DATA_HEADER + len;
    }
    if (off < end) this.rest = buf.subarray(off);
  }
}
