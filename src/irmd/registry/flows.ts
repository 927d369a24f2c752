/** Flows and their ids (1..10239, handed out cyclically), with the reference's flow states. */
import type { QosSpec } from '../../lib/qos.js';
import { timerDelay } from '../../common/time.js';

export const FlowState = {
  INIT: 0,
  ALLOC_PENDING: 1,
  ACCEPT_PENDING: 2,
  ALLOCATED: 3,
  DEALLOC_PENDING: 4,
  DEALLOCATED: 5,
  DESTROY: 6,
  NULL: 7,
} as const;
export type FlowState = (typeof FlowState)[keyof typeof FlowState];

export const SYS_MAX_FLOWS = 10240;

export interface FlowEntry {
  id: number;
  /** The N+1 process (the application). */
  nPid: number;
  /** The N-1 process: the IPCP, or the peer process of a direct flow. */
  n1Pid: number;
  uid: number;
  mpl: number;
  qos: QosSpec;
  state: FlowState;
  /** Response code of the allocation (0 = accepted). */
  response: number;
  name: string | undefined;
  direct: boolean;
  /** An accepting flow promised to an allocation that is being completed. */
  claimed: boolean;
  /** Direct flows: which ends have deallocated. */
  gone: Set<number>;
  /** Called on every state change. */
  waiters: (() => void)[];
  /** OAP request to answer when the flow is accepted (from the IPCP's request, or the direct allocator). */
  oapRequest?: Uint8Array | undefined;
  /** OAP response that came with the allocation reply. */
  oapResponse?: Uint8Array | undefined;
  /** Direct flows: the accepter's outcome of OAP, computed by the allocation. */
  accepted?: { cipherNid: number; key: Buffer | undefined } | undefined;
  /** Direct flows: why the accepter's OAP failed (its accept fails with it). */
  acceptError?: Error | undefined;
}

export class Flows {
  private readonly map = new Map<number, FlowEntry>();
  private readonly used = new Uint8Array(SYS_MAX_FLOWS);
  /** The id given last: ids are handed out round the table, not lowest first. */
  private last = 0;

  get(id: number): FlowEntry | undefined {
    return this.map.get(id);
  }

  create(init: Pick<FlowEntry, 'nPid' | 'n1Pid' | 'qos' | 'state'> & Partial<FlowEntry>): FlowEntry | undefined {
    // Unlike the reference (lowest free id), take the next free id after the
    // last one: a packet or DOWN still travelling for a flow that just ended
    // then never lands on a new flow that got its id.
    let id = 0;
    for (let n = 1; n < SYS_MAX_FLOWS; n++) {
      const i = ((this.last + n - 1) % (SYS_MAX_FLOWS - 1)) + 1;
      if (!this.used[i]) {
        id = i;
        break;
      }
    }
    if (id === 0) return undefined;
    this.used[id] = 1;
    this.last = id;
    const f: FlowEntry = { id, uid: 0, mpl: 0, response: 0, name: undefined, direct: false, claimed: false, gone: new Set(), waiters: [], ...init };
    this.map.set(id, f);
    return f;
  }

  setState(f: FlowEntry, state: FlowState): void {
    f.state = state;
    const w = f.waiters.splice(0);
    for (const fn of w) fn();
  }

  /** Removes the flow and frees its id (a no-op when it is gone already, even if its id was reused). */
  destroy(f: FlowEntry): void {
    if (this.map.get(f.id) !== f) return;
    this.map.delete(f.id);
    this.used[f.id] = 0;
    this.setState(f, FlowState.NULL);
  }

  /** The lowest-id flow matching `pred` (no sorting of the whole table). */
  first(pred: (f: FlowEntry) => boolean): FlowEntry | undefined {
    let best: FlowEntry | undefined;
    for (const f of this.map.values()) if (pred(f) && (!best || f.id < best.id)) best = f;
    return best;
  }

  list(): FlowEntry[] {
    return [...this.map.values()].sort((a, b) => a.id - b.id);
  }

  /** Waits until the flow leaves `state`, the deadline passes (false) or `abort` fires. */
  waitChange(f: FlowEntry, from: FlowState, deadline: number | null): Promise<boolean> {
    if (f.state !== from) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w = (): void => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      f.waiters.push(w);
      if (deadline !== null) {
        timer = setTimeout(() => {
          const i = f.waiters.indexOf(w);
          if (i >= 0) f.waiters.splice(i, 1);
          resolve(f.state !== from);
        }, timerDelay(deadline - Date.now()));
      }
    });
  }
}
