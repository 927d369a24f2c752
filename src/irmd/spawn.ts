/** Starting IPCP daemons and auto-started programs as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPCP_TYPE_NAMES, type IpcpType } from '../common/ipcp-types.js';

/** dist/src: where the built daemons and tools live. */
const SRC_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function ipcpBinary(type: IpcpType): string {
  const dir = IPCP_TYPE_NAMES[type].replace('-', '');
  return join(SRC_ROOT, 'ipcpd', dir, 'main.js');
}

/** The bundled o7s tool of that name (e.g. `oping`), if any. */
export function bundledTool(name: string): string | undefined {
  const p = join(SRC_ROOT, 'tools', name, 'main.js');
  return existsSync(p) ? p : undefined;
}

export interface SpawnInit {
  rundir: string;
  /** Inherit stdout/stderr (irmd --stdout); otherwise the child's output is discarded. */
  inherit: boolean;
}

export function spawnIpcp(type: IpcpType, name: string, init: SpawnInit): ChildProcess {
  const bin = ipcpBinary(type);
  return spawn(process.execPath, [bin, String(process.pid), name], {
    env: { ...process.env, OUROBOROS_RUNDIR: init.rundir },
    stdio: ['ignore', init.inherit ? 'inherit' : 'ignore', init.inherit ? 'inherit' : 'ignore'],
  });
}

/** Spawns an auto-start program: JavaScript files run with this node, anything else directly. */
export function spawnProgram(exec: string[], init: SpawnInit): ChildProcess {
  const [path, ...args] = exec;
  const js = /\.(c|m)?js$/.test(path!);
  const child = spawn(js ? process.execPath : path!, js ? [path!, ...args] : args, {
    env: { ...process.env, OUROBOROS_RUNDIR: init.rundir },
    stdio: ['ignore', init.inherit ? 'inherit' : 'ignore', init.inherit ? 'inherit' : 'ignore'],
  });
  return child;
}
