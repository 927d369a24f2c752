/** The management API (irm_* in the reference) over a connection to irmd. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { irm_msg_code } from '../proto/gen/irm_pb.js';
import { ipcp_info_msgSchema, name_info_msgSchema } from '../proto/gen/model_pb.js';
import { fail } from '../common/errors.js';
import { defaultRundir } from '../common/rundir.js';
import { ipcpConfigToMsg, qosToMsg } from '../common/convert.js';
import type { IpcpConfig, IpcpType, LoadBalance } from '../common/ipcp-types.js';
import type { FlowListEntry, IpcpListEntry, IrmApi, NameInfo } from './irm-api.js';
import { IrmConnection } from './irm-conn.js';
import type { QosSpec } from './qos.js';

/** Bootstrap and enrollment can take a while (the IPCP's own timeouts are longer still). */
const LONG_TIMEOUT = 60000;

export class IrmClient implements IrmApi {
  private constructor(private readonly conn: IrmConnection) {}

  static async connect(rundir: string = defaultRundir()): Promise<IrmClient> {
    return new IrmClient(await IrmConnection.open(rundir));
  }

  async createIpcp(name: string, type: IpcpType): Promise<number> {
    const r = await this.conn.call(
      { code: irm_msg_code.IRM_CREATE_IPCP, ipcpInfo: create(ipcp_info_msgSchema, { type, name, pid: 0, state: 0 }) },
      `creating IPCP ${name}`,
      LONG_TIMEOUT,
    );
    return r.pid;
  }

  async destroyIpcp(pid: number): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_DESTROY_IPCP, pid }, `destroying IPCP ${pid}`, LONG_TIMEOUT);
  }

  async listIpcps(): Promise<IpcpListEntry[]> {
    const r = await this.conn.call({ code: irm_msg_code.IRM_LIST_IPCPS }, 'listing IPCPs');
    return r.ipcps.map((i) => ({ pid: i.pid, type: i.type as IpcpType, name: i.name, layer: i.layer, hashAlgo: i.hashAlgo }));
  }

  async bootstrapIpcp(pid: number, conf: IpcpConfig): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_BOOTSTRAP_IPCP, pid, conf: ipcpConfigToMsg(conf) }, `bootstrapping IPCP ${pid}`, LONG_TIMEOUT);
  }

  async enrollIpcp(pid: number, dst: string): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_ENROLL_IPCP, pid, dst }, `enrolling IPCP ${pid} with ${dst}`, LONG_TIMEOUT);
  }

  async connectIpcp(pid: number, dst: string, component: string, qos: QosSpec): Promise<void> {
    await this.conn.call(
      { code: irm_msg_code.IRM_CONNECT_IPCP, pid, dst, comp: component, qosspec: qosToMsg(qos) },
      `connecting IPCP ${pid} to ${dst}`,
      LONG_TIMEOUT,
    );
  }

  async disconnectIpcp(pid: number, dst: string, component: string): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_DISCONNECT_IPCP, pid, dst, comp: component }, `disconnecting IPCP ${pid} from ${dst}`);
  }

  async bindProgram(path: string, name: string, opts: { auto?: boolean; args?: string[] } = {}): Promise<void> {
    const full = resolveProgram(path);
    await this.conn.call(
      { code: irm_msg_code.IRM_BIND_PROGRAM, name, exec: [full, ...(opts.args ?? []), ''], opts: opts.auto ? 1 : 0 },
      `binding program ${path} to ${name}`,
    );
  }

  async unbindProgram(prog: string, name?: string): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_UNBIND_PROGRAM, prog, ...(name !== undefined ? { name } : {}) }, `unbinding program ${prog}`);
  }

  async bindProcess(pid: number, name: string): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_BIND_PROCESS, pid, name }, `binding process ${pid} to ${name}`);
  }

  async unbindProcess(pid: number, name?: string): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_UNBIND_PROCESS, pid, ...(name !== undefined ? { name } : {}) }, `unbinding process ${pid}`);
  }

  async createName(info: NameInfo): Promise<void> {
    await this.conn.call(
      {
        code: irm_msg_code.IRM_CREATE_NAME,
        nameInfo: create(name_info_msgSchema, {
          name: info.name,
          polLb: info.lb,
          skey: info.skey ?? '',
          scrt: info.scrt ?? '',
          ckey: info.ckey ?? '',
          ccrt: info.ccrt ?? '',
          ...(info.senc ? { o7sSenc: info.senc } : {}),
          ...(info.cenc ? { o7sCenc: info.cenc } : {}),
        }),
      },
      `creating name ${info.name}`,
    );
  }

  async destroyName(name: string): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_DESTROY_NAME, name }, `destroying name ${name}`);
  }

  async listNames(): Promise<NameInfo[]> {
    const r = await this.conn.call({ code: irm_msg_code.IRM_LIST_NAMES }, 'listing names');
    return r.names.map((n) => ({
      name: n.name,
      lb: n.polLb as LoadBalance,
      ...(n.skey ? { skey: n.skey } : {}),
      ...(n.scrt ? { scrt: n.scrt } : {}),
      ...(n.ckey ? { ckey: n.ckey } : {}),
      ...(n.ccrt ? { ccrt: n.ccrt } : {}),
      ...(n.o7sSenc ? { senc: n.o7sSenc } : {}),
      ...(n.o7sCenc ? { cenc: n.o7sCenc } : {}),
    }));
  }

  async regName(name: string, ipcpPid: number): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_REG_NAME, name, pid: ipcpPid }, `registering ${name} with IPCP ${ipcpPid}`, LONG_TIMEOUT);
  }

  async unregName(name: string, ipcpPid: number): Promise<void> {
    await this.conn.call({ code: irm_msg_code.IRM_UNREG_NAME, name, pid: ipcpPid }, `unregistering ${name} from IPCP ${ipcpPid}`, LONG_TIMEOUT);
  }

  async listFlows(): Promise<FlowListEntry[]> {
    const r = await this.conn.call({ code: irm_msg_code.O7S_LIST_FLOWS }, 'listing flows');
    return r.o7sFlows.map((f) => ({
      id: f.info!.id,
      nPid: f.info!.nPid,
      n1Pid: f.info!.n1Pid,
      state: f.info!.state,
      mpl: f.info!.mpl,
      name: f.name,
      direct: f.direct,
    }));
  }

  async inspectIpcp(pid: number): Promise<unknown> {
    const r = await this.conn.call({ code: irm_msg_code.O7S_IPCP_INSPECT, pid }, `inspecting IPCP ${pid}`);
    return JSON.parse(r.o7sJson ?? 'null') as unknown;
  }

  close(): void {
    this.conn.close();
  }
}

/** Absolute path of a program: as given when it has a `/`, else the first match on PATH. */
export function resolveProgram(path: string): string {
  const check = (p: string): string => {
    try {
      if (!statSync(p).isFile()) fail('ENOENT', `${p} is not a regular file`);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') fail('ENOENT', `program ${path} does not exist`);
      throw e;
    }
    try {
      accessSync(p, constants.X_OK);
    } catch {
      fail('EPERM', `program ${p} is not executable`);
    }
    return p;
  };
  if (path.includes('/')) return check(isAbsolute(path) ? path : resolve(path));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, path);
    try {
      if (statSync(p).isFile()) return check(p);
    } catch {
      /* not here */
    }
  }
  fail('ENOENT', `program ${path} was not found on PATH`);
}
