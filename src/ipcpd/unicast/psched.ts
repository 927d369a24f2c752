/**
 * The packet scheduler: reads the IPCP's N-1 flows and hands each PDU to DT,
 * serving flows of higher-priority QoS cubes first (voice, then video, then
 * best effort) and at most BURST packets of one flow per turn, so that one
 * busy flow cannot starve the others.
 */
import type { Flow } from '../../lib/api.js';
import { QosCube } from '../../lib/qos.js';

/** Packets taken from one flow before the others get a turn. */
const BURST = 64;
/** Cubes in the order they are served. */
const ORDER = [QosCube.VOICE, QosCube.VIDEO, QosCube.BE] as const;

interface Entry {
  flow: Flow & { tryRead(): Buffer | undefined; readable(timeout?: number | null): Promise<boolean> };
  cube: QosCube;
  onPdu: (pdu: Buffer) => void;
  onDown: () => void;
  live: boolean;
  /** Resolves the watcher once a turn has emptied the flow. */
  idle: (() => void) | undefined;
}

export class PacketScheduler {
  private readonly entries = new Map<Flow, Entry>();
  private readonly ready: Set<Entry>[] = [new Set(), new Set(), new Set()];
  private scheduled = false;

  /** Starts serving `flow`: every PDU goes to onPdu; onDown once when the flow is gone. */
  add(flow: Flow, cube: QosCube, onPdu: (pdu: Buffer) => void, onDown: () => void): void {
    const e: Entry = { flow: flow as Entry['flow'], cube, onPdu, onDown, live: true, idle: undefined };
    this.entries.set(flow, e);
    void this.watch(e);
  }

  remove(flow: Flow): void {
    const e = this.entries.get(flow);
    if (!e) return;
    e.live = false;
    this.entries.delete(flow);
    this.ready[e.cube]!.delete(e);
    e.idle?.();
  }

  get size(): number {
    return this.entries.size;
  }

  private async watch(e: Entry): Promise<void> {
    while (e.live) {
      await e.flow.readable();
      if (!e.live) return;
      if (e.flow.closed && e.flow.rxQueueLength === 0) break;
      const drained = new Promise<void>((r) => (e.idle = r));
      this.ready[e.cube]!.add(e);
      this.schedule();
      await drained; // a turn emptied the flow
    }
    if (e.live) {
      this.remove(e.flow);
      e.onDown();
    }
  }

  /**
   * Runs a turn once the current microtasks are done (flows that became
   * readable together are served together, by priority); a turn that left
   * work behind continues after I/O (setImmediate), so reads keep coming in.
   */
  private schedule(later = false): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (later) setImmediate(() => this.run());
    else queueMicrotask(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    for (const cube of ORDER) {
      const set = this.ready[cube]!;
      for (const e of set) {
        let n = 0;
        let pkt: Buffer | undefined;
        try {
          while (n < BURST && e.live && (pkt = e.flow.tryRead()) !== undefined) {
            n++;
            e.onPdu(pkt);
          }
        } catch {
          pkt = undefined; // down: the watcher notices
        }
        if (n < BURST || !e.live) {
          set.delete(e);
          const idle = e.idle;
          e.idle = undefined;
          idle?.();
        }
      }
      if (set.size > 0) break; // still busy at this priority: lower cubes wait
    }
    if (this.ready.some((s) => s.size > 0)) this.schedule(true);
  }
}
