/** IPCP operations: create, destroy, list, bootstrap, enroll, connect, disconnect. */
import { IpcpControl, IPCP_TIMEOUT } from '../ipcp-control.js';
import { spawnIpcp } from '../spawn.js';
import type { Caller, IrmdContext } from '../context.js';
import type { IpcpEntry } from '../registry/index.js';
import { OuroborosError, errorFromResult, fail } from '../../common/errors.js';
import { IPCP_TYPE_NAMES, IpcpState, IpcpType, defaultHash, isBuilt, type IpcpConfig, type LayerInfo } from '../../common/ipcp-types.js';
import { HashAlgo } from '../../common/hash.js';
import { ipcpConfigToMsg } from '../../common/convert.js';
import { ipcp_msg_code } from '../../proto/gen/ipcp_pb.js';
import { qosToMsg } from '../../common/convert.js';
import type { QosSpec } from '../../lib/qos.js';

/** How long a new IPCP process may take to report for duty. */
const BOOT_TIMEOUT = 15000;

export async function createIpcp(ctx: IrmdContext, name: string, type: number): Promise<number> {
  if (!(type in IPCP_TYPE_NAMES)) fail('EIPCPTYPE', `unknown IPCP type ${type}`);
  if (!isBuilt(type as IpcpType)) {
    fail('EIPCPTYPE', `IPCP type ${IPCP_TYPE_NAMES[type as IpcpType]} is not available in this version of o7s yet`);
  }
  if (!name || Buffer.byteLength(name) > 255) fail('EINVAL', 'an IPCP name of 1 to 255 bytes is needed');
  if (ctx.reg.ipcps.byName(name)) fail('EEXIST', `an IPCP named ${name} exists already`);
  const child = spawnIpcp(type as IpcpType, name, { rundir: ctx.rundir, inherit: ctx.inherit });
  const pid = child.pid;
  if (pid === undefined) {
    ctx.log.err(`Failed to spawn IPCP ${name}.`);
    fail('EIPCP', `failed to start the ${IPCP_TYPE_NAMES[type as IpcpType]} IPCP daemon`);
  }
  const entry: IpcpEntry = { pid, name, type: type as IpcpType, state: IpcpState.INIT, layer: undefined, ctrl: undefined };
  ctx.reg.ipcps.add(entry);
  ctx.children.set(pid, child);
  child.once('exit', (code, signal) => {
    ctx.children.delete(pid);
    ctx.processGone(pid, signal ? `killed by ${signal}` : `exited with status ${code}`);
  });
  const booted = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      ctx.ipcpBoot.delete(pid);
      resolve(false);
    }, BOOT_TIMEOUT);
    ctx.ipcpBoot.set(pid, (ok) => {
      clearTimeout(timer);
      ctx.ipcpBoot.delete(pid);
      resolve(ok);
    });
  });
  if (!booted || ctx.reg.ipcps.get(pid) !== entry) {
    ctx.log.err(`IPCP ${pid} failed to boot.`);
    child.kill('SIGKILL');
    ctx.reg.ipcps.remove(pid);
    fail('EIPCP', `IPCP ${name} failed to boot`);
  }
  try {
    entry.ctrl = await IpcpControl.open(ctx.rundir, pid);
  } catch (e) {
    child.kill('SIGKILL');
    ctx.reg.ipcps.remove(pid);
    throw e;
  }
  entry.state = IpcpState.BOOT;
  ctx.log.info(`Created IPCP ${pid}.`);
  return pid;
}

/** IPCP_CREATE_R: a freshly spawned IPCP reports its state. */
export function ipcpCreateR(ctx: IrmdContext, caller: Caller, pid: number, state: number): void {
  if (caller.pid !== undefined && caller.pid !== pid) fail('EPERM', `process ${caller.pid} reported for IPCP ${pid}`);
  const waiter = ctx.ipcpBoot.get(pid);
  if (!waiter) fail('EIPCP', `no IPCP ${pid} is booting`);
  caller.conn.tag = { ipcp: pid };
  waiter(state === IpcpState.BOOT);
}

function getIpcp(ctx: IrmdContext, pid: number): IpcpEntry {
  const e = ctx.reg.ipcps.get(pid);
  if (!e || !e.ctrl) {
    ctx.log.err(`Could not find IPCP ${pid}.`);
    fail('EIPCP', `there is no IPCP with pid ${pid}`);
  }
  return e;
}

export async function destroyIpcp(ctx: IrmdContext, pid: number): Promise<void> {
  const e = ctx.reg.ipcps.get(pid);
  if (!e) fail('EIPCP', `there is no IPCP with pid ${pid}`);
  const child = ctx.children.get(pid);
  if (child) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  } else {
    ctx.processGone(pid, 'destroyed');
  }
  ctx.log.info(`Destroyed IPCP ${pid}.`);
}

export function listIpcps(ctx: IrmdContext): { pid: number; type: number; name: string; layer: string; hashAlgo: number }[] {
  return ctx.reg.ipcps.list().map((e) => ({
    pid: e.pid,
    type: e.type,
    name: e.name,
    layer: ctx.reg.ipcps.layerName(e),
    hashAlgo: e.layer?.hashAlgo ?? defaultHash(e.type),
  }));
}

function check(reply: { result: number }, what: string): void {
  if (reply.result < 0) throw errorFromResult(reply.result, what);
}

export async function bootstrapIpcp(ctx: IrmdContext, pid: number, conf: IpcpConfig): Promise<void> {
  const e = getIpcp(ctx, pid);
  if (conf.type !== e.type) fail('EINVAL', `IPCP ${pid} is of type ${IPCP_TYPE_NAMES[e.type]}, not ${IPCP_TYPE_NAMES[conf.type] ?? conf.type}`);
  if (e.type === IpcpType.UDP4 || e.type === IpcpType.UDP6) conf.layer.hashAlgo = HashAlgo.MD5;
  if (e.type === IpcpType.BROADCAST) conf.layer.hashAlgo = HashAlgo.SHA3_256;
  let reply;
  try {
    reply = await e.ctrl!.call({ code: ipcp_msg_code.IPCP_BOOTSTRAP, conf: ipcpConfigToMsg(conf) }, IPCP_TIMEOUT.BOOTSTRAP);
    check(reply, `bootstrapping IPCP ${pid}`);
  } catch (err) {
    ctx.log.err('Could not bootstrap IPCP.');
    throw err;
  }
  setLayer(e, reply.layerInfo ? { name: reply.layerInfo.name, hashAlgo: reply.layerInfo.dirHashAlgo as HashAlgo } : conf.layer);
  ctx.log.info(`Bootstrapped IPCP ${pid}.`);
}

function setLayer(e: IpcpEntry, layer: LayerInfo): void {
  e.layer = layer;
  e.state = IpcpState.OPERATIONAL;
}

export async function enrollIpcp(ctx: IrmdContext, pid: number, dst: string): Promise<void> {
  const e = getIpcp(ctx, pid);
  let reply;
  try {
    reply = await e.ctrl!.call({ code: ipcp_msg_code.IPCP_ENROLL, dst }, IPCP_TIMEOUT.ENROLL);
    check(reply, `enrolling IPCP ${pid} with ${dst}`);
  } catch (err) {
    ctx.log.err(`Could not enroll IPCP ${pid}.`);
    throw err;
  }
  if (!reply.layerInfo) fail('EIPCP', `IPCP ${pid} enrolled without telling its layer`);
  setLayer(e, { name: reply.layerInfo.name, hashAlgo: reply.layerInfo.dirHashAlgo as HashAlgo });
  ctx.log.info(`Enrolled IPCP ${pid} in layer ${reply.layerInfo.name}.`);
}

function connectable(ctx: IrmdContext, pid: number, what: string): IpcpEntry {
  const e = ctx.reg.ipcps.get(pid);
  if (!e || !e.ctrl) {
    ctx.log.err('No such IPCP.');
    fail('EIPCP', `there is no IPCP with pid ${pid}`);
  }
  if (e.type !== IpcpType.UNICAST && e.type !== IpcpType.BROADCAST) {
    ctx.log.err(`Cannot ${what} for this IPCP type.`);
    fail('EIPCP', `${IPCP_TYPE_NAMES[e.type]} IPCPs have no connections to ${what === 'establish connections' ? 'make' : 'tear down'}`);
  }
  return e;
}

export async function connectIpcp(ctx: IrmdContext, pid: number, dst: string, comp: string, qos: QosSpec): Promise<void> {
  const e = connectable(ctx, pid, 'establish connections');
  ctx.log.dbg(`Connecting ${comp} to ${dst}.`);
  const reply = await e.ctrl!.call({ code: ipcp_msg_code.IPCP_CONNECT, dst, comp, pid, qosspec: qosToMsg(qos) }, IPCP_TIMEOUT.CONNECT);
  if (reply.result < 0) {
    ctx.log.err(`Could not connect IPCP ${pid} to ${dst}.`);
    throw new OuroborosError('EPERM', `IPCP ${pid} could not connect to ${dst}${reply.o7sError ? `: ${reply.o7sError}` : ''}`);
  }
  ctx.log.info(`Established ${comp} connection between IPCP ${pid} and ${dst}.`);
}

export async function disconnectIpcp(ctx: IrmdContext, pid: number, dst: string, comp: string): Promise<void> {
  const e = connectable(ctx, pid, 'tear down connections');
  const reply = await e.ctrl!.call({ code: ipcp_msg_code.IPCP_DISCONNECT, dst, comp, pid }, IPCP_TIMEOUT.DEFAULT);
  if (reply.result < 0) {
    ctx.log.err('Could not disconnect IPCP.');
    throw new OuroborosError('EPERM', `IPCP ${pid} could not disconnect from ${dst}${reply.o7sError ? `: ${reply.o7sError}` : ''}`);
  }
  ctx.log.info(`${comp} connection between IPCP ${pid} and ${dst} torn down.`);
}

/** o7s: an IPCP's own account of its state (JSON), for `irm ipcp inspect`. */
export async function inspectIpcp(ctx: IrmdContext, pid: number): Promise<string> {
  const e = ctx.reg.ipcps.get(pid);
  if (!e || !e.ctrl) fail('EIPCP', `there is no IPCP with pid ${pid}`);
  const reply = await e.ctrl.call({ code: ipcp_msg_code.O7S_IPCP_INSPECT }, IPCP_TIMEOUT.DEFAULT);
  if (reply.result < 0 || reply.o7sJson === undefined) fail('EIPCP', `IPCP ${pid} did not describe itself${reply.o7sError ? `: ${reply.o7sError}` : ''}`);
  return reply.o7sJson;
}
