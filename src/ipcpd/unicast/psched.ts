/**
 * The packet scheduler: reads the IPCP's N-1 flows and hands each PDU to DT,
 * serving flows of higher-priority QoS cubes first (voice, then video, then
 * best effort) and at most BURST packets of one flow per turn, so that one
 * busy flow cannot starve the others.
 *
 * A flow of this process's library (FlowImpl) tells the scheduler of its
 * events synchronously, as a flow set does (the reference's psched waits on
 * an fqueue): no promise per packet or per idle period, and the flow tells
 * it when it is deallocated here (`closed`; the peer's deallocation is an
 * event). Other Flow implementations (test doubles) are watched with
 * `readable()`.
 */
import type { Flow } from '../../lib/api.js';
import { FlowImpl, type FlowEventSink } from '../../lib/flow.js';
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
  /** In a ready set (a turn will serve it). */
  queued: boolean;
  /** Watched with readable() (not a FlowImpl): a watch is pending. */
  watching: boolean;
  /** Events come through the sink (FlowImpl). */
  sink: boolean;
}

export class PacketScheduler implements FlowEventSink {
  /** PDUs whose handler threw (dropped; the flow goes on). */
  handlerErrors = 0;
  private readonly entries = new Map<Flow, Entry>();
  private readonly ready: Set<Entry>[] = [new Set(), new Set(), new Set()];
  private scheduled = false;
  private readonly runNow = (): void => this.run();

  /** Starts serving `flow`: every PDU goes to onPdu; onDown once when the flow is gone. */
  add(flow: Flow, cube: QosCube, onPdu: (pdu: Buffer) => void, onDown: () => void): void {
    const sink = flow instanceof FlowImpl && flow.set === undefined;
    const e: Entry = { flow: flow as Entry['flow'], cube, onPdu, onDown, live: true, queued: false, watching: false, sink };
    this.entries.set(flow, e);
    if (sink) {
      (flow as FlowImpl).set = this;
      // What arrived before, and a flow that went down already, get a first turn.
      this.enqueue(e);
    } else {
      this.watch(e);
    }
  }

  remove(flow: Flow): void {
    const e = this.entries.get(flow);
    if (!e) return;
    e.live = false;
    this.entries.delete(flow);
    this.ready[e.cube]!.delete(e);
    e.queued = false;
    if (e.sink && (flow as FlowImpl).set === this) (flow as FlowImpl).set = undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /** FlowEventSink: any event of a flow (a packet, down, dealloc, peer timeout) gives it a turn. */
  post(flow: FlowImpl): void {
    const e = this.entries.get(flow);
    if (e && !e.queued) this.enqueue(e);
  }

  /** FlowEventSink: deallocated here: a last turn (what is queued, then down). */
  closed(flow: FlowImpl): void {
    this.post(flow);
  }

  private enqueue(e: Entry): void {
    if (!e.live) return;
    e.queued = true;
    this.ready[e.cube]!.add(e);
    this.schedule();
  }

  /** Flows without the sink: one readable() at a time, re-armed when a turn emptied the flow. */
  private watch(e: Entry): void {
    if (e.watching || !e.live) return;
    e.watching = true;
    const go = (): void => {
      e.watching = false;
      if (!e.live) return;
      if (e.flow.closed && e.flow.rxQueueLength === 0) {
        this.down(e);
        return;
      }
      this.enqueue(e);
    };
    e.flow.readable().then(go, go);
  }

  private down(e: Entry): void {
    if (!e.live) return;
    this.remove(e.flow);
    e.onDown();
  }

  /**
   * Runs a turn once the current microtasks are done (flows that became
   * readable together are served together, by priority); a turn that left
   * work behind continues after I/O (setImmediate), so reads keep coming in.
   */
  private schedule(later = false): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (later) setImmediate(this.runNow);
    else queueMicrotask(this.runNow);
  }

  private run(): void {
    this.scheduled = false;
    for (const cube of ORDER) {
      const set = this.ready[cube]!;
      for (const e of set) {
        let n = 0;
        let unreadable = false;
        const flow = e.flow;
        try {
          for (let pkt = flow.tryRead(); pkt !== undefined; ) {
            try {
              e.onPdu(pkt);
            } catch {
              // A handler's bug (or bad input it did not expect) costs that PDU, not the flow.
              this.handlerErrors++;
            }
            if (++n >= BURST || !e.live) break;
            pkt = flow.tryRead();
          }
        } catch {
          unreadable = true; // deallocated here (what is queued can no longer be read) or down
        }
        if (!e.live) continue; // removed by onPdu (set.delete done there)
        if (n >= BURST) continue; // more to do: stays ready
        set.delete(e);
        e.queued = false;
        if (flow.closed && (unreadable || flow.rxQueueLength === 0)) this.down(e);
        else if (!e.sink) this.watch(e);
      }
      if (set.size > 0) break; // still busy at this priority: lower cubes wait
    }
    if (this.ready.some((s) => s.size > 0)) this.schedule(true);
  }
}
