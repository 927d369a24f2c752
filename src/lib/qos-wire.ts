/**
 * The QoS fields as the reference's flow allocation messages carry them
 * (big-endian: bandwidth u64; delay, loss, ber, max_gap, timeout u32;
 * availability, in_order u8), each message at its own offsets. Pure.
 */
import type { QosSpec } from './qos.js';

/** Where each QoS field sits in one message. */
export interface QosLayout {
  bandwidth: number;
  delay: number;
  loss: number;
  ber: number;
  maxGap: number;
  timeout: number;
  availability: number;
  inOrder: number;
}

export function writeQos(b: Buffer, at: QosLayout, q: QosSpec): void {
  b.writeBigUInt64BE(BigInt.asUintN(64, q.bandwidth), at.bandwidth);
  b.writeUInt32BE(q.delay >>> 0, at.delay);
  b.writeUInt32BE(q.loss >>> 0, at.loss);
  b.writeUInt32BE(q.ber >>> 0, at.ber);
  b.writeUInt32BE(q.maxGap >>> 0, at.maxGap);
  b.writeUInt32BE(q.timeout >>> 0, at.timeout);
  b[at.availability] = q.availability & 0xff;
  b[at.inOrder] = q.inOrder & 0xff;
}

export function readQos(b: Buffer, at: QosLayout): QosSpec {
  return {
    bandwidth: b.readBigUInt64BE(at.bandwidth),
    delay: b.readUInt32BE(at.delay),
    loss: b.readUInt32BE(at.loss),
    ber: b.readUInt32BE(at.ber),
    maxGap: b.readUInt32BE(at.maxGap),
    timeout: b.readUInt32BE(at.timeout),
    availability: b[at.availability]!,
    inOrder: b[at.inOrder]!,
  };
}
