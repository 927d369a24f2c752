/**
 * ocat's framing on the flow. Every SDU starts with a 1-byte type:
 *
 *   [0x00][bytes...]      DATA: a piece of the stream (SDU at most 1400 bytes)
 *   [0x01][u64 BE count]  END: the stream is over; count = bytes sent in DATA
 *   [0x02][u64 BE count]  ACK: listener -> sender, answer to END; count =
 *                         bytes the listener received (and wrote out)
 *
 * A UDP layer sends no deallocation, so the end of the stream has to be said
 * on the flow; the counts let both ends see a loss on an unreliable flow.
 */
export const SDU_DATA = 0x00;
export const SDU_END = 0x01;
export const SDU_ACK = 0x02;

/** Largest SDU ocat writes (header included). */
export const OCAT_MAX_SDU = 1400;
/** Largest payload of one DATA SDU. */
export const OCAT_MAX_PAYLOAD = OCAT_MAX_SDU - 1;

export type Frame =
  | { type: 'data'; payload: Buffer }
  | { type: 'end'; count: bigint }
  | { type: 'ack'; count: bigint }
  | { type: 'bad'; reason: string };

export function encodeData(payload: Uint8Array): Buffer {
  if (payload.length > OCAT_MAX_PAYLOAD) throw new RangeError(`DATA payload of ${payload.length} bytes exceeds ${OCAT_MAX_PAYLOAD}`);
  const b = Buffer.allocUnsafe(1 + payload.length);
  b[0] = SDU_DATA;
  b.set(payload, 1);
  return b;
}

function counted(type: number, count: bigint): Buffer {
  const b = Buffer.alloc(9);
  b[0] = type;
  b.writeBigUInt64BE(BigInt.asUintN(64, count), 1);
  return b;
}

export const encodeEnd = (count: bigint): Buffer => counted(SDU_END, count);
export const encodeAck = (count: bigint): Buffer => counted(SDU_ACK, count);

export function decodeFrame(sdu: Buffer): Frame {
  if (sdu.length === 0) return { type: 'bad', reason: 'empty SDU' };
  switch (sdu[0]) {
    case SDU_DATA:
      return { type: 'data', payload: sdu.subarray(1) };
    case SDU_END:
    case SDU_ACK:
      if (sdu.length !== 9) return { type: 'bad', reason: `${sdu[0] === SDU_END ? 'END' : 'ACK'} SDU of ${sdu.length} bytes` };
      return { type: sdu[0] === SDU_END ? 'end' : 'ack', count: sdu.readBigUInt64BE(1) };
    default:
      return { type: 'bad', reason: `unknown SDU type 0x${sdu[0]!.toString(16).padStart(2, '0')}` };
  }
}

/** Cuts a stream of chunks into DATA payloads of at most `max` bytes (no empty ones). */
export async function* chunkStream(input: AsyncIterable<Uint8Array>, max = OCAT_MAX_PAYLOAD): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) {
    for (let off = 0; off < chunk.length; off += max) yield chunk.subarray(off, Math.min(chunk.length, off + max));
  }
}
