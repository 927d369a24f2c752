/**
 * The public shape of the library: what a program on flows sees.
 * Implementations live in process.ts (the process context) and flow.ts.
 */
import type { Duplex } from 'node:stream';
import type { QosSpec } from './qos.js';

/** Flow flags, same values as the reference's fccntl.h (octal). */
export const FlowFlags = {
  RDONLY: 0o0,
  WRONLY: 0o1,
  RDWR: 0o2,
  ACCMODE: 0o3,
  DOWN: 0o4,
  RNOBLOCK: 0o1000,
  WNOBLOCK: 0o2000,
  NONBLOCK: 0o3000,
  RNOPART: 0o10000,
  WNOPART: 0o20000,
  DEFAULT: 0o20002,
} as const;

/** fccntl commands, reference numbering. */
export const Fccntl = {
  SRCVTIMEO: 0o1,
  GRCVTIMEO: 0o2,
  SSNDTIMEO: 0o3,
  GSNDTIMEO: 0o4,
  GQOSSPEC: 0o5,
  SFLAGS: 0o6,
  GFLAGS: 0o7,
  GRXQLEN: 0o10,
  GTXQLEN: 0o11,
  FRCTSFLAGS: 0o1000,
  FRCTGFLAGS: 0o2000,
} as const;

/** Flow event types (fqueue), reference values. */
export const FlowEvent = {
  PKT: 1,
  DOWN: 2,
  UP: 4,
  ALLOC: 8,
  DEALLOC: 16,
  PEER: 32,
} as const;
export type FlowEventType = (typeof FlowEvent)[keyof typeof FlowEvent];

export interface AllocOptions {
  /** QoS spec; default qos.raw. */
  qos?: QosSpec;
  /** Milliseconds; default 20000 (irmd's FLOW_ALLOC_TIMEOUT). */
  timeout?: number;
}

export interface AcceptOptions {
  /** Milliseconds; default: wait forever. */
  timeout?: number;
}

export interface Flow {
  /** Flow descriptor, 64 and up, as the reference's fds. */
  readonly fd: number;
  /** System-wide flow id given by irmd. */
  readonly id: number;
  /** QoS of the flow (the allocator's). */
  readonly qos: Readonly<QosSpec>;
  /** Read one whole SDU. Throws ETIMEDOUT, EAGAIN (non-blocking), EFLOWDOWN, EFLOWPEER. */
  read(): Promise<Buffer>;
  /**
   * Read with the reference's partial-read rules into `buf`: an SDU longer
   * than `buf` is returned in pieces; a read that fills `buf` exactly is
   * followed by one returning 0. With RNOPART an oversized SDU is dropped
   * and EMSGSIZE thrown.
   */
  readInto(buf: Uint8Array): Promise<number>;
  /** Write one SDU. Waits while the flow's window is full (EAGAIN when non-blocking). */
  write(data: Uint8Array): Promise<void>;
  /** Deallocate; idempotent. */
  dealloc(): Promise<void>;
  /** Generic fccntl with the reference's command numbers. */
  fccntl(cmd: number, arg?: unknown): unknown;
  /** Read timeout in ms, or null for none. */
  readTimeout: number | null;
  /** Write timeout in ms, or null for none. */
  writeTimeout: number | null;
  /** Flow flags (FlowFlags). */
  flags: number;
  /** Packets waiting to be read. */
  readonly rxQueueLength: number;
  /** Packets written and not yet taken by the peer. */
  readonly txQueueLength: number;
  /** True once the flow is deallocated or down. */
  readonly closed: boolean;
  /** The cipher OAP negotiated for this flow's packets (e.g. 'aes-256-gcm'); undefined when not encrypted. */
  readonly cipher?: string | undefined;
  /** Async iteration over SDUs; ends when the flow goes down. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer>;
  /** A Node Duplex stream over the flow (each chunk written is one SDU). */
  toStream(): Duplex;
}

export interface FlowSetEvent {
  flow: Flow;
  type: FlowEventType;
}

export interface FlowSet {
  add(flow: Flow): void;
  del(flow: Flow): void;
  has(flow: Flow): boolean;
  zero(): void;
  /** Waits for events (timeout in ms; undefined = forever); throws ETIMEDOUT. */
  wait(timeout?: number): Promise<FlowSetEvent[]>;
  destroy(): void;
}

export interface Process {
  readonly pid: number;
  readonly rundir: string;
  flowAlloc(dst: string, opts?: AllocOptions): Promise<Flow>;
  flowAccept(opts?: AcceptOptions): Promise<Flow>;
  /** Joins broadcast layer `layer`: every SDU written reaches every member; reads get theirs. */
  flowJoin(layer: string, opts?: AllocOptions): Promise<Flow>;
  createFlowSet(): FlowSet;
  /** Deallocates every flow and leaves irmd. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Runtime directory of the system; default OUROBOROS_RUNDIR or per-user default. */
  rundir?: string;
  /** Program name announced to irmd; default basename of argv[1]. */
  prog?: string;
}
