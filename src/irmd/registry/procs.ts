/** Processes announced to irmd. */
export interface ProcEntry {
  pid: number;
  prog: string;
  uid: number;
  gid: number;
  /** uid 0 or in group `ouroboros`: its flows are of the privileged class (uid 0). */
  privileged: boolean;
  /** Pending accepts of this process. */
  accepting: number;
}

export class Procs {
  private readonly map = new Map<number, ProcEntry>();

  get(pid: number): ProcEntry | undefined {
    return this.map.get(pid);
  }

  add(p: ProcEntry): void {
    this.map.set(p.pid, p);
  }

  remove(pid: number): boolean {
    return this.map.delete(pid);
  }

  list(): ProcEntry[] {
    return [...this.map.values()].sort((a, b) => a.pid - b.pid);
  }
}
