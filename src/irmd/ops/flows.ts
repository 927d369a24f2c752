/**
 * Flow operations in irmd: allocate (direct or through an IPCP), accept,
 * the IPCP's flow-request-arrived and allocation-reply, and deallocation.
 */
import type { Caller, IrmdContext } from '../context.js';
import { IPCP_TIMEOUT } from '../ipcp-control.js';
import { spawnProgram } from '../spawn.js';
import { FlowState, type FlowEntry, type IpcpEntry, type NameEntry, type ProcEntry } from '../registry/index.js';
import { OuroborosError, errorFromResult, fail, resultOf } from '../../common/errors.js';
import { IpcpType } from '../../common/ipcp-types.js';
import { hashFmt32, hashName } from '../../common/hash.js';
import { qosToMsg, type FlowInfo } from '../../common/convert.js';
import { ipcp_msg_code } from '../../proto/gen/ipcp_pb.js';
import { timerDelay } from '../../common/time.js';
import { qos as QOS, type QosSpec } from '../../lib/qos.js';
import { userClass } from '../../common/privilege.js';
import { overridesOf } from '../security.js';
import type { OapClientState } from '../oap/oap.js';
import { checkName } from '../../common/name-check.js';

/** Default wait for an allocation when the program gave no timeout (FLOW_ALLOC_TIMEOUT). */
export const FLOW_ALLOC_TIMEOUT = 20000;
/** Wait for a bound process to accept before auto-starting (IRMD_REQ_ARR_TIMEOUT). */
export const REQ_ARR_TIMEOUT = 1000;
/** Wait for an auto-started program to accept (a Node program needs more than the reference's 1 s). */
export const AUTO_START_TIMEOUT = 10000;
/** Maximum packet lifetime of a direct flow (the reference's DIRECT_MPL). */
export const DIRECT_MPL = 1;

const EMPTY = new Uint8Array(0);

/** A flow for a program, with what OAP agreed on for its packets (cipher 0: not encrypted). */
export interface FlowResult {
  info: FlowInfo;
  cipherNid: number;
  key: Buffer | undefined;
}

const plain = (info: FlowInfo): FlowResult => ({ info, cipherNid: 0, key: undefined });

function info(f: FlowEntry, nPid: number, n1Pid: number): FlowInfo {
  return { id: f.id, nPid, n1Pid, mpl: f.mpl, state: f.state, qos: f.qos, uid: f.uid };
}

function knownProcess(ctx: IrmdContext, caller: Caller, claimed: number): ProcEntry {
  const pid = caller.pid ?? claimed;
  const proc = ctx.reg.procs.get(pid);
  if (!proc) fail('EINVAL', `process ${pid} has not announced itself to the IRMd`);
  return proc;
}

/** The class of a process's flows: 0 for privileged processes, else its uid (the reference's flow uid). */
export function procClass(p: ProcEntry): number {
  return userClass(p.uid, p.privileged);
}

interface Accepter {
  pid: number;
  flow: FlowEntry;
}

/**
 * The process first in line to accept on `n`, with its oldest pending accept,
 * claimed at once: concurrent allocations woken together never get the same
 * accepting flow.
 */
function takeAccepter(ctx: IrmdContext, n: NameEntry, cls?: number): Accepter | undefined {
  for (const pid of new Set(n.active)) {
    const flow = ctx.reg.flows.first((f) => f.state === FlowState.ACCEPT_PENDING && f.nPid === pid && !f.claimed);
    if (!flow) continue;
    if (cls !== undefined) {
      const p = ctx.reg.procs.get(pid);
      if (!p || procClass(p) !== cls) continue;
    }
    flow.claimed = true;
    return { pid, flow };
  }
  return undefined;
}

/** Gives a claimed accepting flow back (its allocation failed before completing). */
function unclaim(t: Accepter, n: NameEntry): void {
  t.flow.claimed = false;
  if (t.flow.state === FlowState.ACCEPT_PENDING) for (const w of n.acceptWaiters.splice(0)) w();
}

function waitAccepting(n: NameEntry, until: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const i = n.acceptWaiters.indexOf(done);
      if (i >= 0) n.acceptWaiters.splice(i, 1);
      resolve();
    }, timerDelay(until - Date.now()));
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    n.acceptWaiters.push(done);
  });
}

async function waitUntilAccepter(ctx: IrmdContext, n: NameEntry, until: number, uid?: number): Promise<Accepter | undefined> {
  for (;;) {
    const t = takeAccepter(ctx, n, uid);
    if (t || Date.now() >= until || ctx.stopping) return t;
    await waitAccepting(n, until);
  }
}

function autoStart(ctx: IrmdContext, n: NameEntry): boolean {
  const exec = n.autoExec[0];
  if (!exec || ctx.stopping) {
    ctx.log.dbg(`No program bound for ${n.name}.`);
    return false;
  }
  if (Date.now() - n.lastStart < AUTO_START_TIMEOUT) return true;
  try {
    const child = spawnProgram(exec, { rundir: ctx.rundir, inherit: ctx.inherit });
    if (child.pid === undefined) throw new Error('no pid');
    child.on('error', () => {});
    const pid = child.pid;
    ctx.children.set(pid, child);
    child.once('exit', () => ctx.children.delete(pid));
    n.lastStart = Date.now();
    ctx.log.info(`Starting ${exec[0]} for ${n.name}.`);
    return true;
  } catch {
    ctx.log.err(`Failed to start ${exec[0]} for ${n.name}.`);
    return false;
  }
}

/**
 * Finds a process accepting `n`: one accepting now; else a bound process
 * that starts accepting within REQ_ARR_TIMEOUT; else an auto-started one.
 * A name with only an auto-start program (nobody bound) starts it at once.
 */
async function findAccepter(ctx: IrmdContext, n: NameEntry, deadline: number, uid?: number): Promise<Accepter | undefined> {
  const now = Date.now();
  let t = takeAccepter(ctx, n, uid);
  if (t) return t;
  const liveBound = [...n.pids].some((pid) => ctx.reg.procs.get(pid));
  if (liveBound || !n.autoExec.length) {
    t = await waitUntilAccepter(ctx, n, Math.min(deadline, now + REQ_ARR_TIMEOUT), uid);
    if (t) return t;
  }
  if (!autoStart(ctx, n)) return undefined;
  return waitUntilAccepter(ctx, n, Math.min(deadline, Date.now() + AUTO_START_TIMEOUT), uid);
}

/**
 * A direct flow: both OAP sides run here, the accepter's (server) first. As
 * the reference, a server-side failure fails the accepter's accept with the
 * error; the allocation fails with it too. A client-side failure leaves the
 * accepter waiting for the next flow.
 */
function completeDirect(ctx: IrmdContext, allocPid: number, t: Accepter, qos: QosSpec, n: NameEntry, st: OapClientState): FlowResult {
  const f = t.flow;
  let r;
  try {
    r = ctx.security.serverProcess(n.name, overridesOf(n.sec), st.request, DIRECT_MPL);
  } catch (e) {
    f.acceptError = e as Error;
    ctx.reg.flows.destroy(f);
    throw e;
  }
  let c;
  try {
    c = ctx.security.clientComplete(st, r.response);
  } catch (e) {
    unclaim(t, n);
    throw e;
  }
  f.n1Pid = allocPid;
  f.direct = true;
  f.mpl = DIRECT_MPL;
  f.qos = qos;
  f.name = n.name;
  f.accepted = { cipherNid: r.cipherNid, key: r.key };
  ctx.reg.flows.setState(f, FlowState.ALLOCATED);
  ctx.log.info(`Flow ${f.id} allocated (direct) for ${allocPid} to ${n.name}.`);
  return { info: info(f, allocPid, t.pid), cipherNid: c.cipherNid, key: c.key };
}

/** The first IPCP in a layer that can reach `dst` (reference order: type, then pid). */
async function findIpcp(ctx: IrmdContext, dst: string): Promise<{ ipcp: IpcpEntry; hash: Uint8Array } | undefined> {
  for (const ipcp of ctx.reg.ipcps.list()) {
    if (ipcp.type === IpcpType.BROADCAST || !ctx.reg.ipcps.operational(ipcp) || !ipcp.ctrl) continue;
    const hash = hashName(ipcp.layer!.hashAlgo, dst);
    try {
      const r = await ipcp.ctrl.call({ code: ipcp_msg_code.IPCP_QUERY, hash }, IPCP_TIMEOUT.QUERY);
      if (r.result === 0) return { ipcp, hash };
    } catch {
      /* unreachable or slow IPCP: try the next */
    }
  }
  return undefined;
}

export async function flowAlloc(ctx: IrmdContext, caller: Caller, nPid: number, qos: QosSpec, dst: string, timeout: number | undefined): Promise<FlowResult> {
  const proc = knownProcess(ctx, caller, nPid);
  checkName(dst, 'a destination name');
  // Unlike the reference, a name need not exist here to be reached through a layer
  // (its security files are then found at their default paths).
  const n = ctx.reg.names.get(dst);
  const cls = procClass(proc);
  ctx.log.info(`Allocating flow for ${proc.pid} to ${dst} (uid ${cls}).`);
  const deadline = Date.now() + (timeout ?? FLOW_ALLOC_TIMEOUT);
  // The OAP request, read from this name's client files now (EBADF when they are bad).
  const st = ctx.security.clientPrepare(dst, overridesOf(n?.sec));

  const now = n && takeAccepter(ctx, n, cls);
  if (n && now) return completeDirect(ctx, proc.pid, now, qos, n, st);

  // The program may leave while we wait: never hand an accepter a flow to a dead process.
  const stillThere = (): void => {
    if (ctx.reg.procs.get(proc.pid) !== proc) fail('EPIPE', `process ${proc.pid} left during its flow allocation`);
  };
  const found = await findIpcp(ctx, dst);
  stillThere();
  if (!found) {
    if (n && (n.pids.size > 0 || n.autoExec.length > 0)) {
      const t = await findAccepter(ctx, n, deadline, cls);
      if (t && ctx.reg.procs.get(proc.pid) !== proc) unclaim(t, n);
      stillThere();
      if (t) return completeDirect(ctx, proc.pid, t, qos, n, st);
    }
    if (!n) {
      ctx.log.err(`Failed to get name info for ${dst}.`);
      fail('ENAME', `no name ${dst} on this system and no layer here reaches it`);
    }
    ctx.log.err(`Failed to find IPCP for ${dst}.`);
    fail('EIPCP', `no layer on this system reaches ${dst} (register it: irm name register ${dst} layer <layer>)`);
  }
  return allocThrough(ctx, proc, found.ipcp, found.hash, qos, dst, timeout, deadline, ipcp_msg_code.IPCP_FLOW_ALLOC, st);
}

/**
 * Allocates (or joins) through `ipcp`: the flow waits in ALLOC_PENDING for
 * the IPCP's reply, bounded by the program's timeout.
 */
async function allocThrough(
  ctx: IrmdContext,
  proc: ProcEntry,
  ipcp: IpcpEntry,
  hash: Uint8Array,
  qos: QosSpec,
  dst: string,
  timeout: number | undefined,
  deadline: number,
  code: typeof ipcp_msg_code.IPCP_FLOW_ALLOC | typeof ipcp_msg_code.IPCP_FLOW_JOIN,
  /** The OAP request (none for joins, which the reference does not authenticate). */
  st?: OapClientState,
): Promise<FlowResult> {
  const uid = procClass(proc);
  const f = ctx.reg.flows.create({ nPid: proc.pid, n1Pid: ipcp.pid, qos, state: FlowState.ALLOC_PENDING, name: dst, uid });
  if (!f) fail('ENOMEM', 'no flow ids left on this system');
  // The program's timeout bounds the whole allocation, the IPCP's part included.
  const ipcpWait = timeout !== undefined ? Math.max(1, deadline - Date.now()) : IPCP_TIMEOUT.FLOW_ALLOC;
  try {
    const r = await ipcp.ctrl!.call(
      { code, flowId: f.id, pid: proc.pid, uid, qosspec: qosToMsg(qos), hash, pk: st?.request ?? EMPTY },
      timerDelay(ipcpWait),
    );
    if (r.result < 0) throw errorFromResult(r.result, 'IPCP', r.o7sError);
  } catch (e) {
    ctx.reg.flows.destroy(f);
    if (e instanceof OuroborosError && e.code === 'ETIMEDOUT' && timeout !== undefined) {
      ctx.log.err('Flow allocation timed out.');
      ipcp.ctrl?.post({ code: ipcp_msg_code.IPCP_FLOW_DEALLOC, flowId: f.id, timeoSec: 0 });
      fail('ETIMEDOUT', `no answer from ${dst} within ${timeout} ms`);
    }
    ctx.log.err(`Flow allocation ${f.id} failed.`);
    const why = e instanceof OuroborosError ? e.message : String(e);
    fail('EIPCP', `the IPCP could not allocate a flow to ${dst} (${why})`);
  }
  await ctx.reg.flows.waitChange(f, FlowState.ALLOC_PENDING, deadline);
  if (f.state === FlowState.ALLOC_PENDING) {
    ctx.log.err('Flow allocation timed out.');
    ipcp.ctrl?.post({ code: ipcp_msg_code.IPCP_FLOW_DEALLOC, flowId: f.id, timeoSec: 0 });
    ctx.reg.flows.destroy(f);
    fail('ETIMEDOUT', `no answer from ${dst} within ${timeout ?? FLOW_ALLOC_TIMEOUT} ms`);
  }
  if (f.state !== FlowState.ALLOCATED) {
    const resp = f.response;
    // A flow being deallocated (its process left) is freed when the IPCP confirms.
    if (f.state !== FlowState.DEALLOC_PENDING) ctx.reg.flows.destroy(f);
    if (resp < 0) {
      ctx.log.warn(`Allocation rejected: ${dst} (${resp}).`);
      throw errorFromResult(resp, `${dst} refused the flow`);
    }
    fail('EIPCP', `the IPCP carrying the flow to ${dst} went away`);
  }
  ctx.log.dbg(`Response for flow ${f.id} to ${dst}.`);
  const fi = info(f, proc.pid, ipcp.pid);
  if (!st) return plain(fi);
  const resp = f.oapResponse ?? EMPTY;
  f.oapResponse = undefined;
  try {
    const c = ctx.security.clientComplete(st, resp);
    return { info: fi, cipherNid: c.cipherNid, key: c.key };
  } catch (e) {
    // As the reference: the program gets ECRYPT and never has the flow; o7s also releases it in the IPCP.
    if (ctx.reg.procs.get(proc.pid) === proc) ipcpDeallocate(ctx, f, 0);
    throw e;
  }
}


/** Joins the broadcast layer `dst` through this system's broadcast IPCP in it. */
export async function flowJoin(ctx: IrmdContext, caller: Caller, nPid: number, qos: QosSpec, dst: string, timeout: number | undefined): Promise<FlowInfo> {
  const proc = knownProcess(ctx, caller, nPid);
  checkName(dst, 'a layer name');
  const ipcp = ctx.reg.ipcps
    .list()
    .find((i) => i.type === IpcpType.BROADCAST && ctx.reg.ipcps.operational(i) && i.ctrl && i.layer?.name === dst);
  if (!ipcp) fail('EIPCP', `no broadcast layer ${dst} on this system (irm ipcp bootstrap type broadcast ... layer ${dst})`);
  ctx.log.info(`Joining layer ${dst} for ${proc.pid}.`);
  const deadline = Date.now() + (timeout ?? FLOW_ALLOC_TIMEOUT);
  return (await allocThrough(ctx, proc, ipcp, hashName(ipcp.layer!.hashAlgo, dst), qos, dst, timeout, deadline, ipcp_msg_code.IPCP_FLOW_JOIN)).info;
}

export async function flowAccept(ctx: IrmdContext, caller: Caller, nPid: number, timeout: number | undefined): Promise<FlowResult> {
  const pid = caller.pid ?? nPid;
  const proc = ctx.reg.procs.get(pid);
  if (!proc) {
    ctx.log.err(`Unknown process ${pid} calling accept.`);
    fail('EINVAL', `process ${pid} has not announced itself to the IRMd`);
  }
  const f = ctx.reg.flows.create({ nPid: pid, n1Pid: 0, qos: QOS.raw, state: FlowState.ACCEPT_PENDING, uid: procClass(proc) });
  if (!f) fail('ENOMEM', 'no flow ids left on this system');
  proc.accepting++;
  ctx.reg.names.addActive(pid);
  try {
    await ctx.reg.flows.waitChange(f, FlowState.ACCEPT_PENDING, timeout === undefined ? null : Date.now() + timeout);
  } finally {
    proc.accepting--;
    ctx.reg.names.removeActive(pid);
  }
  if (f.acceptError) throw f.acceptError;
  if (f.state === FlowState.ACCEPT_PENDING) {
    ctx.reg.flows.destroy(f);
    ctx.log.err('Flow accept timed out.');
    fail('ETIMEDOUT', `no flow arrived within ${timeout} ms`);
  }
  if (f.state !== FlowState.ALLOCATED) {
    ctx.log.dbg('Flow accept terminated.');
    fail('EPIPE', 'the flow went away before it was accepted');
  }
  if (f.direct) {
    ctx.log.info(`Flow ${f.id} accepted (direct) by ${pid} for ${f.name}.`);
    const a = f.accepted ?? { cipherNid: 0, key: undefined };
    f.accepted = undefined;
    return { info: info(f, pid, f.n1Pid), ...a };
  }
  const ipcp = ctx.reg.ipcps.get(f.n1Pid);
  const name = f.name ?? '';
  const request = f.oapRequest ?? EMPTY;
  f.oapRequest = undefined;
  let r;
  try {
    r = ctx.security.serverProcess(name, overridesOf(ctx.reg.names.get(name)?.sec), request, f.mpl);
  } catch (e) {
    // As the reference: the IPCP carries the error back to the allocator, the accept fails with it.
    ipcp?.ctrl?.post({ code: ipcp_msg_code.IPCP_FLOW_ALLOC_RESP, flowId: f.id, pid, uid: f.uid, response: resultOf(e), pk: EMPTY });
    ctx.reg.flows.destroy(f);
    throw e;
  }
  ctx.log.info(`Flow ${f.id} accepted by ${pid} for ${name} (uid ${f.uid}).`);
  // Answer the IPCP once the program has its reply (irmd writes it first).
  const response = r.response;
  setImmediate(() => ipcp?.ctrl?.post({ code: ipcp_msg_code.IPCP_FLOW_ALLOC_RESP, flowId: f.id, pid, uid: f.uid, response: 0, pk: response }));
  return { info: info(f, pid, f.n1Pid), cipherNid: r.cipherNid, key: r.key };
}

/** IPCP_FLOW_REQ_ARR: a flow request for `hash` reached one of our IPCPs. */
export async function flowReqArr(ctx: IrmdContext, caller: Caller, ipcpPid: number, qos: QosSpec, mpl: number, hash: Uint8Array, pk: Uint8Array = EMPTY): Promise<FlowInfo> {
  const ipcp = ctx.reg.ipcps.get(ipcpPid);
  if (!ipcp) {
    ctx.log.err(`No IPCP with pid ${ipcpPid}.`);
    fail('EIPCP', `there is no IPCP with pid ${ipcpPid}`);
  }
  if (caller.pid !== undefined && caller.pid !== ipcpPid) {
    ctx.log.err(`Process ${caller.pid} sent a flow request for IPCP ${ipcpPid}.`);
    fail('EIPCP', `process ${caller.pid} is not IPCP ${ipcpPid}`);
  }
  if (!ipcp.layer) fail('EIPCPSTATE', `IPCP ${ipcpPid} is in no layer`);
  ctx.log.dbg(`Flow req arrived from IPCP ${ipcpPid} for ${hashFmt32(hash)}.`);
  const n = ctx.reg.names.byHash(hash, ipcp.layer.hashAlgo);
  if (!n) {
    ctx.log.warn(`No name for ${hashFmt32(hash)}.`);
    fail('ENAME', 'no name on this system has that hash');
  }
  ctx.log.info(`Flow request arrived for ${n.name}.`);
  const t = await findAccepter(ctx, n, Date.now() + REQ_ARR_TIMEOUT + AUTO_START_TIMEOUT);
  if (!t) {
    ctx.log.err(`No active process for ${n.name}.`);
    fail('EPERM', `no process accepted a flow for ${n.name}`);
  }
  const f = t.flow;
  f.n1Pid = ipcpPid;
  f.qos = qos;
  f.mpl = mpl;
  f.name = n.name;
  // The accepter's side of OAP answers it once the accept wakes up.
  f.oapRequest = Buffer.from(pk);
  ctx.reg.flows.setState(f, FlowState.ALLOCATED);
  ctx.log.dbg(`IPCP ${ipcpPid} accepting flow ${f.id} for ${n.name}.`);
  return info(f, t.pid, ipcpPid);
}

/** IPCP_FLOW_ALLOC_REPLY: the far end answered an allocation we asked an IPCP for. */
export function flowAllocReply(ctx: IrmdContext, caller: Caller, id: number, mpl: number, response: number, pk: Uint8Array = EMPTY): void {
  const f = ctx.reg.flows.get(id);
  if (!f || f.state !== FlowState.ALLOC_PENDING || (caller.pid !== undefined && caller.pid !== f.n1Pid)) {
    fail('EINVAL', `flow ${id} is not waiting for an allocation reply from process ${caller.pid}`);
  }
  f.mpl = mpl;
  f.response = response;
  if (response === 0) f.oapResponse = Buffer.from(pk);
  ctx.reg.flows.setState(f, response === 0 ? FlowState.ALLOCATED : FlowState.DEALLOCATED);
}

function ipcpDeallocate(ctx: IrmdContext, f: FlowEntry, timeoSec: number): void {
  const ipcp = ctx.reg.ipcps.get(f.n1Pid);
  if (!ipcp?.ctrl) {
    ctx.reg.flows.destroy(f);
    return;
  }
  ctx.reg.flows.setState(f, FlowState.DEALLOC_PENDING);
  ipcp.ctrl.call({ code: ipcp_msg_code.IPCP_FLOW_DEALLOC, flowId: f.id, timeoSec }, IPCP_TIMEOUT.DEFAULT).catch(() => {
    // The IPCP did not answer: free the id anyway rather than leak it.
    ctx.reg.flows.destroy(f);
  });
}

/** One end of a direct flow is done; the flow goes when both are. */
function directGone(ctx: IrmdContext, f: FlowEntry, pid: number): void {
  f.gone.add(pid);
  const other = pid === f.nPid ? f.n1Pid : f.nPid;
  if (f.gone.has(other) || !ctx.reg.procs.get(other)) ctx.reg.flows.destroy(f);
  else ctx.reg.flows.setState(f, FlowState.DEALLOC_PENDING);
}

export function flowDealloc(ctx: IrmdContext, caller: Caller, id: number, nPid: number, timeoSec: number): void {
  const pid = caller.pid ?? nPid;
  const f = ctx.reg.flows.get(id);
  const mine = f && (f.nPid === pid || (f.direct && f.n1Pid === pid));
  if (!f || !mine || f.gone.has(pid) || f.state === FlowState.ACCEPT_PENDING || f.state === FlowState.ALLOC_PENDING) {
    fail('ENOTALLOC', `flow ${id} is not allocated to process ${pid}`);
  }
  ctx.log.info(`Deallocating flow ${id} for process ${pid} (timeout: ${timeoSec} s).`);
  if (f.direct) directGone(ctx, f, pid);
  else if (f.state !== FlowState.DEALLOC_PENDING) ipcpDeallocate(ctx, f, timeoSec);
}

/** IPCP_FLOW_DEALLOC (irm code 24): the IPCP finished deallocating. */
export function ipcpFlowDealloc(ctx: IrmdContext, caller: Caller, id: number): void {
  const f = ctx.reg.flows.get(id);
  if (!f || f.direct || (caller.pid !== undefined && caller.pid !== f.n1Pid)) fail('ENOTALLOC', `flow ${id} is not carried by process ${caller.pid}`);
  ctx.reg.flows.destroy(f);
  ctx.log.info(`Completed deallocation of flow_id ${id} by process ${f.n1Pid}.`);
}

/** Releases every flow of a process that died or left. */
export function flowsOfGoneProcess(ctx: IrmdContext, pid: number): void {
  for (const f of ctx.reg.flows.list()) {
    if (f.direct && (f.nPid === pid || f.n1Pid === pid)) {
      directGone(ctx, f, pid);
    } else if (f.nPid === pid) {
      if (f.state === FlowState.ACCEPT_PENDING) ctx.reg.flows.destroy(f);
      else if (f.state !== FlowState.DEALLOC_PENDING) ipcpDeallocate(ctx, f, 0);
    } else if (!f.direct && f.n1Pid === pid) {
      ctx.reg.flows.destroy(f);
    }
  }
}
