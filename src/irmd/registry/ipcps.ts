/** IPCPs known to irmd, in the reference's order (type, then pid). */
import { IpcpState, NOT_ENROLLED, type IpcpType, type LayerInfo } from '../../common/ipcp-types.js';
import type { IpcpControl } from '../ipcp-control.js';

export interface IpcpEntry {
  pid: number;
  name: string;
  type: IpcpType;
  state: IpcpState;
  layer: LayerInfo | undefined;
  ctrl: IpcpControl | undefined;
}

export class Ipcps {
  private readonly map = new Map<number, IpcpEntry>();

  get(pid: number): IpcpEntry | undefined {
    return this.map.get(pid);
  }

  byName(name: string): IpcpEntry | undefined {
    for (const i of this.map.values()) if (i.name === name) return i;
    return undefined;
  }

  add(e: IpcpEntry): void {
    this.map.set(e.pid, e);
  }

  remove(pid: number): IpcpEntry | undefined {
    const e = this.map.get(pid);
    this.map.delete(pid);
    return e;
  }

  list(): IpcpEntry[] {
    return [...this.map.values()].sort((a, b) => a.type - b.type || a.pid - b.pid);
  }

  layerName(e: IpcpEntry): string {
    return e.layer?.name ?? NOT_ENROLLED;
  }

  operational(e: IpcpEntry): boolean {
    return e.state === IpcpState.OPERATIONAL && e.layer !== undefined;
  }
}
