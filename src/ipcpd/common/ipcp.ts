/**
 * The IPCP framework every IPCP daemon runs on: its control socket
 * (`ipcp.<pid>.sock`, ipcp_msg from irmd), the state machine, the connection
 * to irmd (flow requests and replies), and the data plane of its N+1 flows.
 */
import net from 'node:net';
import { mkdirSync, unlinkSync } from 'node:fs';
import { create, fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import { ipcp_msgSchema, ipcp_msg_code, type ipcp_msg } from '../../proto/gen/ipcp_pb.js';
import { irm_msg_code } from '../../proto/gen/irm_pb.js';
import { flow_info_msgSchema, ipcp_info_msgSchema } from '../../proto/gen/model_pb.js';
import { CtrlConn } from '../../common/ctrl/channel.js';
import { OuroborosError, fail, reasonOf, resultOf } from '../../common/errors.js';
import { paths, takeRundirArg } from '../../common/rundir.js';
import { IPCP_TYPE_NAMES, IpcpState, type IpcpType, type LayerInfo } from '../../common/ipcp-types.js';
import { ipcpConfigFromMsg, qosFromMsg, qosToMsg } from '../../common/convert.js';
import type { Logger } from '../../common/log.js';
import { IrmConnection } from '../../lib/irm-conn.js';
import { DataPlane } from '../../lib/data/plane.js';
import type { Endpoint } from '../../lib/data/endpoint.js';
import { qos as QOS, type QosSpec } from '../../lib/qos.js';
import type { IpcpOps } from './ops.js';

/** How long a deallocation waits for the program's last packets and its DOWN (ms). */
export const DEALLOC_DRAIN_MS = 2000;

export interface IpcpInit {
  type: IpcpType;
  name: string;
  irmdPid: number;
  rundir: string;
  log: Logger;
}

export class Ipcp {
  state: IpcpState = IpcpState.NULL;
  layer: LayerInfo | undefined;
  readonly plane: DataPlane;
  private irm: IrmConnection | undefined;
  private server: net.Server | undefined;
  private readonly socks = new Set<net.Socket>();
  ops: IpcpOps = {};
  readonly counters = { badMessages: 0 };
  private stopping: Promise<void> | undefined;
  /** Flow requests sent to irmd whose answer has not arrived yet. */
  private reqArrInFlight = 0;

  constructor(readonly init: IpcpInit) {
    this.plane = new DataPlane(init.rundir);
  }

  get log(): Logger {
    return this.init.log;
  }

  /** NULL -> INIT (socket bound) -> BOOT (reported to irmd). */
  async start(ops: IpcpOps): Promise<void> {
    this.ops = ops;
    await this.listen();
    await this.plane.listen();
    this.plane.hold(1);
    this.state = IpcpState.INIT;
    this.irm = await IrmConnection.open(this.init.rundir);
    this.irm.ctrl.onClose = () => {
      this.log.err('Lost the connection to the IRMd, exiting.');
      void this.stop().then(() => process.exit(1));
    };
    await ops.init?.();
    this.state = IpcpState.BOOT;
    await this.irm.call(
      {
        code: irm_msg_code.IPCP_CREATE_R,
        ipcpInfo: create(ipcp_info_msgSchema, { type: this.init.type, name: this.init.name, pid: process.pid, state: IpcpState.BOOT }),
      },
      'reporting to the IRMd',
    );
  }

  private async listen(): Promise<void> {
    const path = paths.ipcp(this.init.rundir, process.pid);
    mkdirSync(this.init.rundir, { recursive: true });
    try {
      unlinkSync(path);
    } catch {
      /* none */
    }
    const server = net.createServer((sock) => {
      this.socks.add(sock);
      sock.once('close', () => this.socks.delete(sock));
      new CtrlConn(
        sock,
        async (payload) => toBinary(ipcp_msgSchema, create(ipcp_msgSchema, await this.request(payload))),
        () => {
          this.counters.badMessages++;
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    this.server = server;
  }

  private async request(payload: Uint8Array): Promise<Parameters<typeof create<typeof ipcp_msgSchema>>[1]> {
    let msg: ipcp_msg;
    try {
      msg = fromBinary(ipcp_msgSchema, payload);
    } catch {
      this.counters.badMessages++;
      return { code: ipcp_msg_code.IPCP_REPLY, result: -22, o7sError: 'the request does not decode' };
    }
    try {
      const extra = await this.dispatch(msg);
      return { code: ipcp_msg_code.IPCP_REPLY, result: 0, ...extra };
    } catch (e) {
      if (!(e instanceof OuroborosError)) {
        this.counters.badMessages++;
        this.log.err(`Request ${msg.code} failed: ${(e as Error).message}`);
      }
      return { code: ipcp_msg_code.IPCP_REPLY, result: resultOf(e), o7sError: reasonOf(e) };
    }
  }

  private need<K extends keyof ipcp_msg>(m: ipcp_msg, k: K & string, what: string): NonNullable<ipcp_msg[K]> {
    const field = (ipcp_msgSchema.field as Record<string, Parameters<typeof isFieldSet>[1]>)[k];
    if (!field || !isFieldSet(m, field) || m[k] === undefined) fail('EINVAL', `request lacks ${what}`);
    return m[k] as NonNullable<ipcp_msg[K]>;
  }

  private operational(): void {
    if (this.state !== IpcpState.OPERATIONAL) fail('EIPCPSTATE', `IPCP ${this.init.name} is not in a layer yet`);
  }

  private unsupported(what: string): never {
    fail('ENOTSUP', `${IPCP_TYPE_NAMES[this.init.type]} IPCPs do not ${what}`);
  }

  private hashOf(m: ipcp_msg): Uint8Array {
    const h = this.need(m, 'hash', 'a hash');
    if (this.layer && h.length === 0) fail('EINVAL', 'empty hash');
    return h;
  }

  private async dispatch(m: ipcp_msg): Promise<{ layerInfo?: { name: string; dirHashAlgo: number }; o7sJson?: string }> {
    const C = ipcp_msg_code;
    const o = this.ops;
    switch (m.code) {
      case C.O7S_IPCP_INSPECT:
        return { o7sJson: JSON.stringify(this.inspect(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) };
      case C.IPCP_BOOTSTRAP:
      case C.IPCP_ENROLL: {
        if (this.state !== IpcpState.BOOT) fail('EIPCPSTATE', `IPCP ${this.init.name} is in a layer already`);
        let layer: LayerInfo;
        if (m.code === C.IPCP_BOOTSTRAP) {
          if (!o.bootstrap) this.unsupported('bootstrap');
          layer = await o.bootstrap(ipcpConfigFromMsg(this.need(m, 'conf', 'a configuration')));
        } else {
          if (!o.enroll) this.unsupported('enroll');
          layer = await o.enroll(this.need(m, 'dst', 'a destination'));
        }
        this.layer = layer;
        this.state = IpcpState.OPERATIONAL;
        return { layerInfo: { name: layer.name, dirHashAlgo: layer.hashAlgo } };
      }
      case C.IPCP_CONNECT:
        this.operational();
        if (!o.connect) this.unsupported('make connections');
        await o.connect(this.need(m, 'dst', 'a destination'), this.need(m, 'comp', 'a component'), m.qosspec ? qosFromMsg(m.qosspec) : QOS.raw);
        return {};
      case C.IPCP_DISCONNECT:
        this.operational();
        if (!o.disconnect) this.unsupported('tear down connections');
        await o.disconnect(this.need(m, 'dst', 'a destination'), this.need(m, 'comp', 'a component'));
        return {};
      case C.IPCP_REG:
      case C.IPCP_UNREG:
      case C.IPCP_QUERY: {
        this.operational();
        const hash = this.hashOf(m);
        if (m.code === C.IPCP_QUERY) {
          if (!o.query) this.unsupported('resolve names');
          if (!(await o.query(hash))) fail('ENAME', 'the layer cannot reach that name');
        } else if (m.code === C.IPCP_REG) {
          if (!o.reg) this.unsupported('register names');
          await o.reg(hash);
        } else {
          if (!o.unreg) this.unsupported('unregister names');
          await o.unreg(hash);
        }
        return {};
      }
      case C.IPCP_FLOW_ALLOC:
      case C.IPCP_FLOW_JOIN: {
        this.operational();
        const req = {
          flowId: this.need(m, 'flowId', 'a flow id'),
          pid: this.need(m, 'pid', 'a pid'),
          uid: m.uid,
          qos: m.qosspec ? qosFromMsg(m.qosspec) : QOS.raw,
          hash: this.hashOf(m),
          pk: m.pk ?? new Uint8Array(0),
        };
        if (req.flowId <= 0 || req.pid <= 0) fail('EINVAL', 'bad flow id or pid');
        if (m.code === C.IPCP_FLOW_JOIN) {
          if (!o.flowJoin) this.unsupported('join flows');
          await o.flowJoin(req);
        } else {
          if (!o.flowAlloc) this.unsupported('allocate flows');
          await o.flowAlloc(req);
        }
        return {};
      }
      case C.IPCP_FLOW_ALLOC_RESP:
        this.operational();
        if (!o.flowAllocResp) this.unsupported('allocate flows');
        await o.flowAllocResp({
          flowId: this.need(m, 'flowId', 'a flow id'),
          pid: m.pid,
          uid: m.uid,
          response: m.response,
          pk: m.pk ?? new Uint8Array(0),
        });
        return {};
      case C.IPCP_FLOW_DEALLOC:
        this.operational();
        if (!o.flowDealloc) this.unsupported('deallocate flows');
        await o.flowDealloc(this.need(m, 'flowId', 'a flow id'), m.timeoSec);
        return {};
      default:
        fail('EINVAL', `unknown IPCP message code ${m.code}`);
    }
  }

  private inspect(): Record<string, unknown> {
    return {
      name: this.init.name,
      type: IPCP_TYPE_NAMES[this.init.type],
      pid: process.pid,
      state: this.state,
      layer: this.layer?.name ?? null,
      plane: this.plane.counters,
      badMessages: this.counters.badMessages,
      ...(this.state === IpcpState.OPERATIONAL ? ((this.ops.inspect?.() as Record<string, unknown> | undefined) ?? {}) : {}),
    };
  }

  // ---- towards irmd ----

  private irmd(): IrmConnection {
    if (!this.irm) fail('EIRMD', 'not connected to the IRMd');
    return this.irm;
  }

  /** Tells irmd a flow request for `hash` arrived; resolves to the accepting side's flow id and pid. */
  async flowReqArr(hash: Uint8Array, qos: QosSpec, mpl: number, pk: Uint8Array): Promise<{ flowId: number; pid: number }> {
    this.reqArrInFlight++;
    try {
      return await this.sendReqArr(hash, qos, mpl, pk);
    } finally {
      this.reqArrInFlight--;
    }
  }

  /** True while a flow request to irmd is unanswered (its accepter's answer may overtake it). */
  get awaitingFlowRequests(): boolean {
    return this.reqArrInFlight > 0;
  }

  private async sendReqArr(hash: Uint8Array, qos: QosSpec, mpl: number, pk: Uint8Array): Promise<{ flowId: number; pid: number }> {
    const r = await this.irmd().call(
      {
        code: irm_msg_code.IPCP_FLOW_REQ_ARR,
        flowInfo: create(flow_info_msgSchema, { id: 0, nPid: 0, n1Pid: process.pid, mpl, state: 0, uid: 0, qos: qosToMsg(qos) }),
        hash,
        pk,
      },
      'announcing a flow request',
      30000,
    );
    if (!r.flowInfo) fail('EIRMD', 'the IRMd answered a flow request without flow info');
    return { flowId: r.flowInfo.id, pid: r.flowInfo.nPid };
  }

  /** Tells irmd how the far end answered allocation `flowId`. */
  async flowAllocReply(flowId: number, mpl: number, response: number, pk: Uint8Array = new Uint8Array(0)): Promise<void> {
    await this.irmd().call(
      {
        code: irm_msg_code.IPCP_FLOW_ALLOC_REPLY,
        flowInfo: create(flow_info_msgSchema, { id: flowId, nPid: 0, n1Pid: process.pid, mpl, state: 0, uid: 0, qos: qosToMsg(QOS.raw) }),
        response,
        pk,
      },
      `answering allocation of flow ${flowId}`,
    );
  }

  /**
   * An IPCP's side of deallocating flow `flowId`: waits (at most
   * DEALLOC_DRAIN_MS) for the DOWN of its endpoint's peer, so that the last
   * packets the program wrote before deallocating are passed on, runs
   * `release` (the type's own cleanup), then tells irmd (which may have
   * forgotten the flow already).
   */
  async drainAndRelease(flowId: number, ep: Endpoint | undefined, release: () => void): Promise<void> {
    await ep?.whenDown(DEALLOC_DRAIN_MS);
    release();
    try {
      await this.flowDeallocDone(flowId);
    } catch {
      /* irmd forgot it already */
    }
  }

  /** Tells irmd flow `flowId` is deallocated here. */
  async flowDeallocDone(flowId: number): Promise<void> {
    await this.irmd().call(
      {
        code: irm_msg_code.IPCP_FLOW_DEALLOC,
        flowInfo: create(flow_info_msgSchema, { id: flowId, nPid: 0, n1Pid: process.pid, mpl: 0, state: 0, uid: 0, qos: qosToMsg(QOS.raw) }),
      },
      `completing deallocation of flow ${flowId}`,
    );
  }

  /** OPERATIONAL -> SHUTDOWN -> NULL: stops the type, closes sockets. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = IpcpState.SHUTDOWN;
      try {
        await this.ops.stop?.();
      } catch {
        /* stopping anyway */
      }
      await this.plane.close();
      this.server?.close();
      for (const s of this.socks) s.destroy();
      try {
        unlinkSync(paths.ipcp(this.init.rundir, process.pid));
      } catch {
        /* gone */
      }
      this.irm?.close();
      this.state = IpcpState.NULL;
    })();
    return this.stopping;
  }
}

/**
 * Parses the reference's IPCP argv: `<irmd pid> <ipcp name> [log-to-syslog]`,
 * plus o7s's `--rundir DIR` (irmd passes OUROBOROS_RUNDIR in the environment).
 */
export function parseIpcpArgs(argv: string[], bin: string): { irmdPid: number; name: string; rundir: string } {
  let rundir: string;
  try {
    rundir = takeRundirArg(argv);
  } catch (e) {
    process.stderr.write(`${bin}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  if (argv.length < 2 || argv.length > 3) {
    process.stderr.write(`Usage: ${bin} <irmd pid> <ipcp name> [1]\n(IPCPs are started by irmd: irm ipcp create name <name> type <type>)\n`);
    process.exit(1);
  }
  const irmdPid = Number(argv[0]);
  if (!Number.isInteger(irmdPid) || irmdPid <= 0) {
    process.stderr.write(`${bin}: bad irmd pid ${argv[0]}\n`);
    process.exit(1);
  }
  return { irmdPid, name: argv[1]!, rundir };
}

/** Common main for IPCP daemons: signals, errors, lifecycle. */
export async function runIpcp(ipcp: Ipcp, ops: IpcpOps): Promise<void> {
  process.on('SIGINT', () => {
    /* the terminal's ^C is for irmd, which stops us with SIGTERM */
  });
  process.on('SIGPIPE', () => {});
  const shutdown = (): void => {
    void ipcp.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);
  process.on('SIGQUIT', shutdown);
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  process.on('uncaughtException', (e) => ipcp.log.err(`internal error: ${e.stack ?? e}`));
  try {
    await ipcp.start(ops);
  } catch (e) {
    ipcp.log.err(`Failed to start: ${(e as Error).message}`);
    process.exit(1);
  }
}
