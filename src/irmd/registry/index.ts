/** The IRMd registry: names, programs, processes, IPCPs and flows. */
import { Names } from './names.js';
import { Programs } from './programs.js';
import { Procs } from './procs.js';
import { Ipcps } from './ipcps.js';
import { Flows } from './flows.js';

export class Registry {
  readonly names = new Names();
  readonly programs = new Programs();
  readonly procs = new Procs();
  readonly ipcps = new Ipcps();
  readonly flows = new Flows();
}

export { FlowState } from './flows.js';
export type { FlowEntry } from './flows.js';
export type { NameEntry } from './names.js';
export type { IpcpEntry } from './ipcps.js';
export type { ProcEntry } from './procs.js';
