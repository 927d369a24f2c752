/** QoS specifications and cubes, with the reference's predefined values. */

export interface QosSpec {
  /** Maximum delay in ms. */
  delay: number;
  /** Bandwidth in bit/s. */
  bandwidth: bigint;
  /** Class of nines. */
  availability: number;
  /** Loss allowed; 0 makes the flow reliable. */
  loss: number;
  /** Bit errors per 10^9 bits; 0 adds a CRC. */
  ber: number;
  /** Non-zero: FRCT, in-order delivery. */
  inOrder: number;
  /** Maximum gap in ms. */
  maxGap: number;
  /** Peer timeout in ms (keepalives); 0 disables it. */
  timeout: number;
}

const U32_MAX = 0xffffffff;
const U64_MAX = 0xffffffffffffffffn;
export const DEFAULT_PEER_TIMEOUT = 120000;

const spec = (s: QosSpec): Readonly<QosSpec> => Object.freeze(s);

export const qos = {
  raw: spec({ delay: U32_MAX, bandwidth: 0n, availability: 0, loss: 1, ber: 1, inOrder: 0, maxGap: U32_MAX, timeout: DEFAULT_PEER_TIMEOUT }),
  rawNoErrors: spec({ delay: U32_MAX, bandwidth: 0n, availability: 0, loss: 1, ber: 0, inOrder: 0, maxGap: U32_MAX, timeout: DEFAULT_PEER_TIMEOUT }),
  bestEffort: spec({ delay: U32_MAX, bandwidth: 0n, availability: 0, loss: 1, ber: 0, inOrder: 1, maxGap: U32_MAX, timeout: DEFAULT_PEER_TIMEOUT }),
  video: spec({ delay: 100, bandwidth: U64_MAX, availability: 3, loss: 1, ber: 0, inOrder: 1, maxGap: 100, timeout: DEFAULT_PEER_TIMEOUT }),
  voice: spec({ delay: 50, bandwidth: 100000n, availability: 5, loss: 1, ber: 0, inOrder: 1, maxGap: 50, timeout: DEFAULT_PEER_TIMEOUT }),
  data: spec({ delay: 1000, bandwidth: 0n, availability: 0, loss: 0, ber: 0, inOrder: 1, maxGap: 2000, timeout: DEFAULT_PEER_TIMEOUT }),
  /** What IPCPs use for their N+1 flows. */
  np1: spec({ delay: U32_MAX, bandwidth: 0n, availability: 0, loss: U32_MAX, ber: U32_MAX, inOrder: 0, maxGap: U32_MAX, timeout: 0 }),
} as const;

/** QoS by the names the tools take (`-q raw|best|video|voice|data`). */
export function qosByName(name: string): Readonly<QosSpec> | undefined {
  switch (name) {
    case 'raw': return qos.raw;
    case 'best': return qos.bestEffort;
    case 'video': return qos.video;
    case 'voice': return qos.voice;
    case 'data': return qos.data;
    default: return undefined;
  }
}

export const QosCube = { BE: 0, VIDEO: 1, VOICE: 2 } as const;
export type QosCube = (typeof QosCube)[keyof typeof QosCube];

export function qosCube(q: QosSpec): QosCube {
  if (q.delay <= 50 && q.bandwidth <= 100000n && q.availability >= 5 && q.maxGap <= 50) return QosCube.VOICE;
  if (q.delay <= 100 && q.availability >= 3 && q.maxGap <= 100) return QosCube.VIDEO;
  return QosCube.BE;
}
