/**
 * The IRMd's control socket (irm.sock): decodes each irm_msg, checks it,
 * runs the operation and answers with IRM_REPLY. A bad request gets an error
 * reply (or, for bytes that are not a message at all, a closed connection);
 * it never takes the daemon down.
 */
import net from 'node:net';
import { chmodSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { create, fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import { irm_msgSchema, irm_msg_code, type irm_msg } from '../proto/gen/irm_pb.js';
import { flow_info_msgSchema, name_info_msgSchema } from '../proto/gen/model_pb.js';
import { CtrlConn } from '../common/ctrl/channel.js';
import { OuroborosError, fail, reasonOf, resultOf } from '../common/errors.js';
import { paths } from '../common/rundir.js';
import { peerCred } from '../common/native/peercred.js';
import { ipcpConfigFromMsg, qosFromMsg, qosToMsg, type FlowInfo } from '../common/convert.js';
import type { Caller, IrmdContext } from './context.js';
import * as ipcp from './ops/ipcp.js';
import * as names from './ops/names.js';
import * as bind from './ops/bind.js';
import * as flows from './ops/flows.js';
import { isPrivileged, selfPrivileged } from '../common/privilege.js';

type Reply = Parameters<typeof create<typeof irm_msgSchema>>[1];

function flowInfoMsg(i: FlowInfo) {
  return create(flow_info_msgSchema, { id: i.id, nPid: i.nPid, n1Pid: i.n1Pid, mpl: i.mpl, state: i.state, uid: i.uid, qos: qosToMsg(i.qos) });
}

function timeoMs(m: irm_msg): number | undefined {
  if (!m.timeo) return undefined;
  return Number(m.timeo.tvSec) * 1000 + Math.floor(m.timeo.tvNsec / 1_000_000);
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined || v === null) fail('EINVAL', `request lacks ${what}`);
  return v;
}

function needStr(m: irm_msg, field: 'name' | 'dst' | 'prog' | 'comp', what: string): string {
  if (!isFieldSet(m, irm_msgSchema.field[field])) fail('EINVAL', `request lacks ${what}`);
  return m[field];
}

/** The reply fields of an allocated or accepted flow: its info, and the cipher and key OAP agreed on (as the reference). */
function flowReply(r: flows.FlowResult): Reply {
  return { flowInfo: flowInfoMsg(r.info), cipherNid: r.cipherNid, ...(r.cipherNid !== 0 && r.key ? { symKey: r.key } : {}) };
}

const PRIVILEGED_ONLY = new Set<number>([
  irm_msg_code.IRM_CREATE_IPCP,
  irm_msg_code.IRM_DESTROY_IPCP,
  irm_msg_code.IRM_BOOTSTRAP_IPCP,
  irm_msg_code.IRM_ENROLL_IPCP,
  irm_msg_code.IRM_CONNECT_IPCP,
  irm_msg_code.IRM_DISCONNECT_IPCP,
  irm_msg_code.IRM_CREATE_NAME,
  irm_msg_code.IRM_DESTROY_NAME,
  irm_msg_code.IRM_REG_NAME,
  irm_msg_code.IRM_UNREG_NAME,
  // Programs bound to a name serve it for everyone, and auto-started ones run as irmd's user.
  irm_msg_code.IRM_BIND_PROGRAM,
  irm_msg_code.IRM_UNBIND_PROGRAM,
]);

const PRIVILEGE_HINT = 'run it as root or as a member of group ouroboros';

/**
 * Per-user isolation (DESIGN.md §3): only privileged callers change the
 * system (IPCPs, names, programs); anyone may bind or unbind their own
 * processes to names that exist, and use flows.
 */
function authorize(ctx: IrmdContext, m: irm_msg, caller: Caller): void {
  if (caller.privileged) return;
  const C = irm_msg_code;
  if (PRIVILEGED_ONLY.has(m.code)) fail('EPERM', `this operation needs privileges: ${PRIVILEGE_HINT}`);
  if (m.code === C.IRM_BIND_PROCESS || m.code === C.IRM_UNBIND_PROCESS) {
    const target = ctx.reg.procs.get(m.pid);
    if (target && target.uid !== caller.uid) fail('EPERM', `process ${m.pid} belongs to another user: ${PRIVILEGE_HINT}`);
    if (m.code === C.IRM_BIND_PROCESS && isFieldSet(m, irm_msgSchema.field.name) && !ctx.reg.names.get(m.name)) {
      fail('EPERM', `there is no name ${m.name}, and creating names needs privileges: ${PRIVILEGE_HINT}`);
    }
  }
}

function needPid(m: irm_msg): number {
  if (!isFieldSet(m, irm_msgSchema.field.pid) || m.pid <= 0) fail('EINVAL', 'request lacks a valid pid');
  return m.pid;
}

export async function handle(ctx: IrmdContext, m: irm_msg, caller: Caller): Promise<Reply> {
  const C = irm_msg_code;
  authorize(ctx, m, caller);
  switch (m.code) {
    case C.IRM_CREATE_IPCP: {
      const i = need(m.ipcpInfo, 'ipcp_info');
      return { pid: await ipcp.createIpcp(ctx, i.name, i.type) };
    }
    case C.IPCP_CREATE_R: {
      const i = need(m.ipcpInfo, 'ipcp_info');
      ipcp.ipcpCreateR(ctx, caller, i.pid, i.state);
      return {};
    }
    case C.IRM_DESTROY_IPCP:
      await ipcp.destroyIpcp(ctx, needPid(m));
      return {};
    case C.IRM_LIST_IPCPS:
      return { ipcps: ipcp.listIpcps(ctx) };
    case C.IRM_BOOTSTRAP_IPCP:
      await ipcp.bootstrapIpcp(ctx, needPid(m), ipcpConfigFromMsg(need(m.conf, 'an IPCP configuration')));
      return {};
    case C.IRM_ENROLL_IPCP:
      await ipcp.enrollIpcp(ctx, needPid(m), needStr(m, 'dst', 'a destination'));
      return {};
    case C.IRM_CONNECT_IPCP:
      await ipcp.connectIpcp(ctx, needPid(m), needStr(m, 'dst', 'a destination'), needStr(m, 'comp', 'a component'), qosFromMsg(need(m.qosspec, 'a QoS spec')));
      return {};
    case C.IRM_DISCONNECT_IPCP:
      await ipcp.disconnectIpcp(ctx, needPid(m), needStr(m, 'dst', 'a destination'), needStr(m, 'comp', 'a component'));
      return {};
    case C.IRM_BIND_PROGRAM:
      bind.bindProgram(ctx, m.exec, needStr(m, 'name', 'a name'), m.opts);
      return {};
    case C.IRM_UNBIND_PROGRAM:
      bind.unbindProgram(ctx, needStr(m, 'prog', 'a program'), isFieldSet(m, irm_msgSchema.field.name) ? m.name : undefined);
      return {};
    case C.IRM_PROC_ANNOUNCE:
      bind.procAnnounce(ctx, caller, needPid(m), needStr(m, 'prog', 'the program name'));
      return {};
    case C.IRM_PROC_EXIT: {
      const pid = caller.pid ?? needPid(m);
      ctx.processGone(pid, 'exited');
      return {};
    }
    case C.IRM_BIND_PROCESS:
      bind.bindProcess(ctx, needPid(m), needStr(m, 'name', 'a name'));
      return {};
    case C.IRM_UNBIND_PROCESS:
      bind.unbindProcess(ctx, needPid(m), isFieldSet(m, irm_msgSchema.field.name) ? m.name : undefined);
      return {};
    case C.IRM_CREATE_NAME: {
      const n = need(m.nameInfo, 'name_info');
      names.createName(ctx, n.name, n.polLb, {
        serverKey: n.skey || undefined,
        serverCrt: n.scrt || undefined,
        clientKey: n.ckey || undefined,
        clientCrt: n.ccrt || undefined,
        // o7s extension: the reference's message has no enc.conf paths.
        serverEnc: n.o7sSenc || undefined,
        clientEnc: n.o7sCenc || undefined,
      });
      return {};
    }
    case C.IRM_DESTROY_NAME:
      names.destroyName(ctx, needStr(m, 'name', 'a name'));
      return {};
    case C.IRM_LIST_NAMES:
      return {
        names: ctx.reg.names.list().map((n) =>
          create(name_info_msgSchema, {
            name: n.name,
            polLb: n.lb,
            skey: n.sec.serverKey ?? '',
            scrt: n.sec.serverCrt ?? '',
            ckey: n.sec.clientKey ?? '',
            ccrt: n.sec.clientCrt ?? '',
            ...(n.sec.serverEnc ? { o7sSenc: n.sec.serverEnc } : {}),
            ...(n.sec.clientEnc ? { o7sCenc: n.sec.clientEnc } : {}),
          }),
        ),
      };
    case C.IRM_REG_NAME:
      await names.regName(ctx, needStr(m, 'name', 'a name'), needPid(m));
      return {};
    case C.IRM_UNREG_NAME:
      await names.unregName(ctx, needStr(m, 'name', 'a name'), needPid(m));
      return {};
    case C.IRM_FLOW_ALLOC: {
      const fi = need(m.flowInfo, 'flow_info');
      const r = await flows.flowAlloc(ctx, caller, fi.nPid, qosFromMsg(need(fi.qos, 'a QoS spec')), needStr(m, 'dst', 'a destination'), timeoMs(m));
      return flowReply(r);
    }
    case C.IRM_FLOW_ACCEPT: {
      const fi = need(m.flowInfo, 'flow_info');
      const r = await flows.flowAccept(ctx, caller, fi.nPid, timeoMs(m));
      return flowReply(r);
    }
    case C.IRM_FLOW_JOIN: {
      const fi = need(m.flowInfo, 'flow_info');
      const r = await flows.flowJoin(ctx, caller, fi.nPid, qosFromMsg(need(fi.qos, 'a QoS spec')), needStr(m, 'dst', 'a layer name'), timeoMs(m));
      return { flowInfo: flowInfoMsg(r), cipherNid: 0 };
    }
    case C.IRM_FLOW_DEALLOC: {
      const fi = need(m.flowInfo, 'flow_info');
      flows.flowDealloc(ctx, caller, fi.id, fi.nPid, m.timeo ? Number(m.timeo.tvSec) : 0);
      return {};
    }
    case C.IPCP_FLOW_DEALLOC: {
      const fi = need(m.flowInfo, 'flow_info');
      flows.ipcpFlowDealloc(ctx, caller, fi.id);
      return {};
    }
    case C.IPCP_FLOW_REQ_ARR: {
      const fi = need(m.flowInfo, 'flow_info');
      const r = await flows.flowReqArr(ctx, caller, fi.n1Pid, qosFromMsg(need(fi.qos, 'a QoS spec')), fi.mpl, need(m.hash, 'a hash'), m.pk ?? new Uint8Array(0));
      return { flowInfo: flowInfoMsg(r) };
    }
    case C.IPCP_FLOW_ALLOC_REPLY: {
      const fi = need(m.flowInfo, 'flow_info');
      flows.flowAllocReply(ctx, caller, fi.id, fi.mpl, m.response, m.pk ?? new Uint8Array(0));
      return {};
    }
    case C.O7S_LIST_FLOWS:
      return {
        o7sFlows: ctx.reg.flows.list().map((f) => ({
          info: flowInfoMsg({ id: f.id, nPid: f.nPid, n1Pid: f.n1Pid, mpl: f.mpl, state: f.state, qos: f.qos, uid: f.uid }),
          name: f.name ?? '',
          direct: f.direct,
        })),
      };
    case C.O7S_IPCP_INSPECT:
      return { o7sJson: await ipcp.inspectIpcp(ctx, needPid(m)) };
    default:
      ctx.log.err("Don't know that message code.");
      fail('EINVAL', `unknown message code ${m.code}`);
  }
}

/**
 * Every user's programs create their data socket in the rundir: it is
 * writable by all and sticky (as /tmp), so nobody removes another's socket.
 */
function openRundir(ctx: IrmdContext): void {
  // Only a system's irmd (root, or group ouroboros) serves other users; a user's own irmd keeps its directory.
  if (!selfPrivileged()) return;
  try {
    if (statSync(ctx.rundir).uid === process.getuid?.()) chmodSync(ctx.rundir, 0o1777);
  } catch (e) {
    ctx.log.warn(`Cannot open ${ctx.rundir} to other users: ${(e as Error).message}`);
  }
}

export interface ServerCounters {
  badMessages: number;
}

export interface ControlServer {
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

export async function startServer(ctx: IrmdContext, counters: ServerCounters): Promise<ControlServer> {
  const socks = new Set<net.Socket>();
  const path = paths.irm(ctx.rundir);
  mkdirSync(ctx.rundir, { recursive: true });
  openRundir(ctx);
  try {
    unlinkSync(path);
  } catch {
    /* no stale socket */
  }
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.once('close', () => socks.delete(sock));
    const cred = peerCred(sock);
    const uid = cred?.uid ?? process.getuid?.() ?? 0;
    const gid = cred?.gid ?? process.getgid?.() ?? 0;
    // Without SO_PEERCRED the peer cannot be told apart from irmd's own user.
    // The user an irmd runs as administers it (a user's own irmd, started without root).
    const privileged = uid === process.getuid?.() || isPrivileged({ uid, gid, pid: cred?.pid });
    const conn = new CtrlConn(
      sock,
      async (payload, c) => {
        const caller: Caller = { conn: c, pid: cred?.pid, uid, gid, privileged };
        let msg: irm_msg;
        try {
          msg = fromBinary(irm_msgSchema, payload);
        } catch {
          counters.badMessages++;
          ctx.log.err('Failed to unpack command message.');
          return toBinary(irm_msgSchema, create(irm_msgSchema, { code: irm_msg_code.IRM_REPLY, result: -22 }));
        }
        let reply: Reply;
        try {
          if (ctx.stopping) fail('EIRMD', 'the IRMd is shutting down');
          reply = { ...(await handle(ctx, msg, caller)), result: 0 };
        } catch (e) {
          if (!(e instanceof OuroborosError)) {
            counters.badMessages++;
            ctx.log.err(`Request ${msg.code} failed: ${(e as Error).message}`);
          } else {
            ctx.log.dbg(`Request ${msg.code} failed: ${e.message}`);
          }
          reply = { result: resultOf(e), o7sError: reasonOf(e) };
        }
        const bytes = toBinary(irm_msgSchema, create(irm_msgSchema, { ...reply, code: irm_msg_code.IRM_REPLY }));
        // The flow key is the program's alone now: no copy stays in irmd's memory.
        if (reply.symKey instanceof Uint8Array) reply.symKey.fill(0);
        return bytes;
      },
      () => {
        counters.badMessages++;
      },
    );
    void conn;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o666);
  server.on('error', (e) => ctx.log.err(`Control socket error: ${e.message}`));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of socks) s.destroy();
      }),
  };
}
