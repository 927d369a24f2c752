/** Names: load-balancing policy, auto-start programs, bound and accepting processes. */
import { LoadBalance } from '../../common/ipcp-types.js';
import { hashName } from '../../common/hash.js';

export interface SecurityPaths {
  serverEnc: string;
  serverCrt: string;
  serverKey: string;
  clientEnc: string;
  clientCrt: string;
  clientKey: string;
}

export interface NameEntry {
  name: string;
  lb: LoadBalance;
  sec: Partial<SecurityPaths>;
  /** Auto-start exec vectors, newest first. */
  autoExec: string[][];
  /** Programs bound to the name (basenames). */
  progs: Set<string>;
  /** Processes bound to the name. */
  pids: Set<number>;
  /** Accepting processes, one entry per pending accept; the head gets the next flow. */
  active: number[];
  /** Woken whenever a process starts accepting on this name. */
  acceptWaiters: (() => void)[];
  /** When an auto-start program was last started for this name (ms). */
  lastStart: number;
}

export class Names {
  private readonly map = new Map<string, NameEntry>();

  get(name: string): NameEntry | undefined {
    return this.map.get(name);
  }

  /** Creates the name; returns false when it existed already (a no-op, as the reference). */
  create(name: string, lb: LoadBalance, sec: Partial<SecurityPaths> = {}): boolean {
    if (this.map.has(name)) return false;
    this.map.set(name, { name, lb, sec, autoExec: [], progs: new Set(), pids: new Set(), active: [], acceptWaiters: [], lastStart: 0 });
    return true;
  }

  /** The name, created with `spill` when missing (what bind and reg do). */
  ensure(name: string): NameEntry {
    this.create(name, LoadBalance.SPILL);
    return this.map.get(name)!;
  }

  destroy(name: string): boolean {
    return this.map.delete(name);
  }

  /** Alphabetical, as the reference lists them. */
  list(): NameEntry[] {
    return [...this.map.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Hashes of names per algorithm, computed once ("algo:hex" -> name). */
  private readonly hashes = new Map<string, string>();

  /** The name whose hash under `algo` is `hash`. */
  byHash(hash: Uint8Array, algo: number): NameEntry | undefined {
    const key = `${algo}:${Buffer.from(hash).toString('hex')}`;
    const known = this.hashes.get(key);
    if (known !== undefined && this.map.has(known)) return this.map.get(known);
    for (const n of this.map.values()) {
      const k = `${algo}:${Buffer.from(hashName(algo, n.name)).toString('hex')}`;
      this.hashes.set(k, n.name);
      if (k === key) return n;
    }
    return undefined;
  }

  /** Marks one pending accept of `pid` on every name it is bound to. */
  addActive(pid: number): void {
    for (const n of this.map.values()) if (n.pids.has(pid)) this.addActiveOn(n, pid);
  }

  addActiveOn(n: NameEntry, pid: number): void {
    if (n.lb === LoadBalance.ROUND_ROBIN) n.active.push(pid);
    else n.active.unshift(pid);
    const w = n.acceptWaiters.splice(0);
    for (const fn of w) fn();
  }

  /** Removes one pending accept of `pid` from every name. */
  removeActive(pid: number): void {
    for (const n of this.map.values()) {
      const i = n.active.indexOf(pid);
      if (i >= 0) n.active.splice(i, 1);
    }
  }

  /** Forgets a process entirely. */
  dropPid(pid: number): void {
    for (const n of this.map.values()) {
      n.pids.delete(pid);
      n.active = n.active.filter((p) => p !== pid);
    }
  }
}
