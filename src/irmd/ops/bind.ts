/** Binding programs and processes to names; processes announcing and leaving. */
import type { Caller, IrmdContext } from '../context.js';
import { fail } from '../../common/errors.js';
import { checkName } from './names.js';
import { progName } from '../../common/prog-name.js';

/** Bit 0x01 of `opts`: start the program when a flow arrives and nobody accepts. */
export const BIND_AUTO = 0x01;

export function bindProgram(ctx: IrmdContext, exec: string[], name: string, opts: number): void {
  checkName(name);
  const argv = exec.at(-1) === '' ? exec.slice(0, -1) : exec.slice();
  const path = argv[0];
  if (!path) fail('EINVAL', 'bind program needs the program path');
  const prog = progName(path);
  const n = ctx.reg.names.ensure(name);
  const p = ctx.reg.programs.ensure(prog, path);
  p.names.add(name);
  n.progs.add(prog);
  if (opts & BIND_AUTO) n.autoExec.unshift(argv);
  for (const proc of ctx.reg.procs.list()) {
    if (proc.prog === prog) bindPid(ctx, proc.pid, name);
  }
  ctx.log.info(`Bound program ${path} to name ${name}.`);
}

export function unbindProgram(ctx: IrmdContext, prog: string, name: string | undefined): void {
  const key = progName(prog);
  const p = ctx.reg.programs.get(key);
  if (!p) fail('ENOENT', `program ${prog} is not bound to anything`);
  const dropFrom = (n: string): void => {
    const entry = ctx.reg.names.get(n);
    if (!entry) return;
    entry.progs.delete(key);
    entry.autoExec = entry.autoExec.filter((argv) => progName(argv[0]!) !== key);
  };
  if (name === undefined || name === '') {
    for (const n of p.names) dropFrom(n);
    ctx.reg.programs.destroy(key);
    ctx.log.info(`Program ${prog} unbound.`);
    return;
  }
  if (!p.names.delete(name)) fail('ENAME', `program ${prog} is not bound to ${name}`);
  dropFrom(name);
  ctx.log.info(`Name ${name} unbound for ${prog}.`);
}

function bindPid(ctx: IrmdContext, pid: number, name: string): void {
  const n = ctx.reg.names.ensure(name);
  if (n.pids.has(pid)) return;
  n.pids.add(pid);
  const proc = ctx.reg.procs.get(pid);
  for (let i = 0; i < (proc?.accepting ?? 0); i++) ctx.reg.names.addActiveOn(n, pid);
}

export function bindProcess(ctx: IrmdContext, pid: number, name: string): void {
  checkName(name);
  if (!ctx.reg.procs.get(pid)) {
    ctx.log.err(`Process ${pid} does not exist.`);
    fail('ENOENT', `process ${pid} is not known to the IRMd (it must use Ouroboros, e.g. oping -l)`);
  }
  bindPid(ctx, pid, name);
  ctx.log.info(`Bound process ${pid} to name ${name}.`);
}

export function unbindProcess(ctx: IrmdContext, pid: number, name: string | undefined): void {
  if (!ctx.reg.procs.get(pid)) fail('ENOENT', `process ${pid} is not known to the IRMd`);
  if (name === undefined || name === '') {
    ctx.reg.names.dropPid(pid);
    ctx.log.info(`Process ${pid} unbound.`);
    return;
  }
  const n = ctx.reg.names.get(name);
  if (!n || !n.pids.delete(pid)) fail('ENAME', `process ${pid} is not bound to ${name}`);
  n.active = n.active.filter((p) => p !== pid);
  ctx.log.info(`Name ${name} unbound for process ${pid}.`);
}

export function procAnnounce(ctx: IrmdContext, caller: Caller, pid: number, prog: string): void {
  const real = caller.pid ?? pid;
  if (caller.pid !== undefined && caller.pid !== pid) ctx.log.warn(`Process ${caller.pid} announced itself as ${pid}; using ${caller.pid}.`);
  if (!prog) fail('EINVAL', 'a process must announce its program name');
  if (ctx.reg.procs.get(real)) fail('EEXIST', `process ${real} announced itself already`);
  ctx.reg.procs.add({ pid: real, prog, uid: caller.uid, gid: caller.gid, privileged: caller.privileged, accepting: 0 });
  caller.conn.tag = { proc: real };
  caller.conn.closeHandlers.push(() => ctx.processGone(real, 'exited'));
  const p = ctx.reg.programs.get(prog);
  if (p) for (const name of p.names) bindPid(ctx, real, name);
  ctx.log.info(`Process added: ${real} (${prog}).`);
}
