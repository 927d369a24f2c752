/**
 * The process context of a program using flows: it announces itself to
 * irmd, allocates and accepts flows, and owns the process's data plane.
 */
import { basename } from 'node:path';
import { progName } from '../common/prog-name.js';
import { create } from '@bufbuild/protobuf';
import { irm_msg_code } from '../proto/gen/irm_pb.js';
import { flow_info_msgSchema } from '../proto/gen/model_pb.js';
import { fail } from '../common/errors.js';
import { defaultRundir } from '../common/rundir.js';
import { flowInfoFromMsg, qosToMsg } from '../common/convert.js';
import type { AcceptOptions, AllocOptions, ConnectOptions, Flow, FlowSet, Process } from './api.js';
import { FlowImpl, type FlowHost } from './flow.js';
import { FlowSetImpl } from './flowset.js';
import { DataPlane } from './data/plane.js';
import { IrmConnection, timeoMsg } from './irm-conn.js';
import { qos as QOS, type QosSpec } from './qos.js';
import type { irm_msg } from '../proto/gen/irm_pb.js';
import type { FlowSecurityInit } from './crypt/path.js';
import { SYMM_KEY_LEN } from './crypt/kdf.js';
import { checkName } from '../common/name-check.js';

/** The reference reserves fds 0..63; program fds are 64..4095. */
const FD_MIN = 64;
const FD_MAX = 4096;

export interface ProcessInternals {
  readonly plane: DataPlane;
  readonly irm: IrmConnection;
}

export class ProcessImpl implements Process, FlowHost {
  private readonly flows = new Map<number, FlowImpl>();
  private nextFd = FD_MIN;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly pid: number,
    readonly rundir: string,
    readonly irm: IrmConnection,
    readonly plane: DataPlane,
    /** False when the data plane belongs to someone else (an IPCP using flows of a lower layer). */
    private readonly ownsPlane = true,
  ) {}

  static async connect(opts: ConnectOptions = {}): Promise<ProcessImpl> {
    const rundir = opts.rundir ?? defaultRundir();
    const plane = new DataPlane(rundir);
    await plane.listen();
    try {
      return await ProcessImpl.announce(rundir, plane, opts.prog ?? programName(), true);
    } catch (e) {
      void plane.close();
      throw e;
    }
  }

  /**
   * A process context on a data plane that exists already: how an IPCP, which
   * serves flows to the layer above on its plane, also uses flows of the
   * layers below. Closing it leaves the plane open.
   */
  static attach(rundir: string, plane: DataPlane, prog: string): Promise<ProcessImpl> {
    return ProcessImpl.announce(rundir, plane, prog, false);
  }

  private static async announce(rundir: string, plane: DataPlane, prog: string, ownsPlane: boolean): Promise<ProcessImpl> {
    const irm = await IrmConnection.open(rundir);
    try {
      await irm.call({ code: irm_msg_code.IRM_PROC_ANNOUNCE, pid: process.pid, prog }, 'announcing this process to the IRMd');
    } catch (e) {
      irm.close();
      throw e;
    }
    const p = new ProcessImpl(process.pid, rundir, irm, plane, ownsPlane);
    irm.ctrl.onClose = () => {
      for (const f of p.flows.values()) f.ep.markDown();
    };
    return p;
  }

  private allocFd(): number {
    for (let i = 0; i < FD_MAX - FD_MIN; i++) {
      const fd = this.nextFd;
      this.nextFd = fd + 1 >= FD_MAX ? FD_MIN : fd + 1;
      if (!this.flows.has(fd)) return fd;
    }
    fail('ENOMEM', `this process has ${FD_MAX - FD_MIN} flows open already`);
  }

  private adopt(id: number, peerPid: number, qos: QosSpec, mpl: number, sec?: FlowSecurityInit): FlowImpl {
    const fd = this.allocFd();
    const ep = this.plane.endpoint(id, peerPid);
    const flow = new FlowImpl(fd, id, Object.freeze(qos), ep, this, mpl, sec);
    this.flows.set(fd, flow);
    return flow;
  }

  async flowAlloc(dst: string, opts: AllocOptions = {}): Promise<Flow> {
    checkName(dst, 'a destination name');
    return this.requestFlow(irm_msg_code.IRM_FLOW_ALLOC, dst, opts.qos ?? QOS.raw, opts.timeout, `allocating a flow to ${dst}`, 'a flow allocation');
  }

  async flowJoin(layer: string, opts: AllocOptions = {}): Promise<Flow> {
    checkName(layer, 'a layer name');
    return this.requestFlow(irm_msg_code.IRM_FLOW_JOIN, layer, opts.qos ?? QOS.raw, opts.timeout, `joining broadcast layer ${layer}`, 'a join');
  }

  async flowAccept(opts: AcceptOptions = {}): Promise<Flow> {
    return this.requestFlow(irm_msg_code.IRM_FLOW_ACCEPT, undefined, QOS.raw, opts.timeout, 'accepting a flow', 'a flow accept');
  }

  /**
   * Asks irmd for a flow (allocation, broadcast join or accept) and makes it
   * ours. A joined flow keeps the QoS asked for and carries no OAP result;
   * the others take irmd's.
   */
  private async requestFlow(code: irm_msg_code, dst: string | undefined, qos: QosSpec, timeout: number | undefined, doing: string, what: string): Promise<Flow> {
    this.plane.hold(1);
    try {
      const reply = await this.irm.call(
        {
          code,
          ...(dst !== undefined ? { dst } : {}),
          flowInfo: create(flow_info_msgSchema, { id: 0, nPid: this.pid, n1Pid: 0, mpl: 0, state: 0, uid: 0, qos: qosToMsg(qos) }),
          ...(timeout !== undefined ? { timeo: timeoMsg(timeout) } : {}),
        },
        doing,
      );
      if (!reply.flowInfo) fail('EIRMD', `the IRMd answered ${what} without flow info`);
      const info = flowInfoFromMsg(reply.flowInfo);
      if (code === irm_msg_code.IRM_FLOW_JOIN) return this.adopt(info.id, info.n1Pid, qos, info.mpl);
      return this.adopt(info.id, info.n1Pid, info.qos, info.mpl, flowSecurity(reply));
    } finally {
      this.plane.hold(-1);
    }
  }

  createFlowSet(): FlowSet {
    return new FlowSetImpl();
  }

  async dealloc(flow: FlowImpl): Promise<void> {
    if (this.flows.get(flow.fd) !== flow) return;
    this.flows.delete(flow.fd);
    flow.ep.close();
    if (this.irm.ctrl.closed) return;
    try {
      await this.irm.call(
        {
          code: irm_msg_code.IRM_FLOW_DEALLOC,
          flowInfo: create(flow_info_msgSchema, { id: flow.id, nPid: this.pid, n1Pid: 0, mpl: 0, state: 0, uid: 0, qos: qosToMsg(flow.qos) }),
          timeo: timeoMsg(0),
        },
        `deallocating flow ${flow.fd}`,
      );
    } catch {
      /* irmd gone or flow already gone: the local end is closed either way */
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.flows.values()].map((f) => f.dealloc()));
      if (!this.irm.ctrl.closed) {
        try {
          await this.irm.call({ code: irm_msg_code.IRM_PROC_EXIT, pid: this.pid }, 'leaving the IRMd', 2000);
        } catch {
          /* leaving anyway */
        }
      }
      if (this.ownsPlane) await this.plane.close();
      this.irm.close();
    })();
    return this.closing;
  }
}

/**
 * The cipher and key irmd derived for the flow (OAP), as the reference's
 * reply carries them: `cipher_nid` (0 = not encrypted) and `sym_key`.
 */
function flowSecurity(reply: irm_msg): FlowSecurityInit | undefined {
  const nid = reply.cipherNid ?? 0;
  if (nid === 0) return undefined;
  if (!reply.symKey || reply.symKey.length !== SYMM_KEY_LEN) fail('ECRYPT', `the IRMd chose cipher ${nid} for the flow without a ${SYMM_KEY_LEN}-byte key`);
  return { cipherNid: nid, key: reply.symKey };
}

/** The program name announced: basename of the script (argv[1]) run by node. */
function programName(): string {
  const script = process.argv[1];
  return script ? progName(script) : basename(process.argv[0] ?? 'node');
}
