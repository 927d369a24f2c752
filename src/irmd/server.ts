/**
 * The IRMd's control socket (irm.sock): decodes each irm_msg, checks it,
 * runs the operation and answers with IRM_REPLY. A bad request gets an error
 * reply (or, for bytes that are not a message at all, a closed connection);
 * it never takes the daemon down.
 */
import net from 'node:net';
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
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

function needPid(m: irm_msg): number {
  if (!isFieldSet(m, irm_msgSchema.field.pid) || m.pid <= 0) fail('EINVAL', 'request lacks a valid pid');
  return m.pid;
}

export async function handle(ctx: IrmdContext, m: irm_msg, caller: Caller): Promise<Reply> {
  const C = irm_msg_code;
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
      names.createName(ctx, n.name, n.polLb, { serverKey: n.skey || undefined, serverCrt: n.scrt || undefined, clientKey: n.ckey || undefined, clientCrt: n.ccrt || undefined });
      return {};
    }
    case C.IRM_DESTROY_NAME:
      names.destroyName(ctx, needStr(m, 'name', 'a name'));
      return {};
    case C.IRM_LIST_NAMES:
      return {
        names: ctx.reg.names.list().map((n) => create(name_info_msgSchema, { name: n.name, polLb: n.lb, skey: '', scrt: '', ckey: '', ccrt: '' })),
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
      return { flowInfo: flowInfoMsg(r), cipherNid: 0 };
    }
    case C.IRM_FLOW_ACCEPT: {
      const fi = need(m.flowInfo, 'flow_info');
      const r = await flows.flowAccept(ctx, caller, fi.nPid, timeoMs(m));
      return { flowInfo: flowInfoMsg(r), cipherNid: 0 };
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
      const r = await flows.flowReqArr(ctx, caller, fi.n1Pid, qosFromMsg(need(fi.qos, 'a QoS spec')), fi.mpl, need(m.hash, 'a hash'));
      return { flowInfo: flowInfoMsg(r) };
    }
    case C.IPCP_FLOW_ALLOC_REPLY: {
      const fi = need(m.flowInfo, 'flow_info');
      flows.flowAllocReply(ctx, caller, fi.id, fi.mpl, m.response);
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
  try {
    unlinkSync(path);
  } catch {
    /* no stale socket */
  }
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.once('close', () => socks.delete(sock));
    const cred = peerCred(sock);
    const conn = new CtrlConn(
      sock,
      async (payload, c) => {
        const caller: Caller = { conn: c, pid: cred?.pid, uid: cred?.uid ?? process.getuid?.() ?? 0, gid: cred?.gid ?? 0 };
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
        return toBinary(irm_msgSchema, create(irm_msgSchema, { ...reply, code: irm_msg_code.IRM_REPLY }));
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
