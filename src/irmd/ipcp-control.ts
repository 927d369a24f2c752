/** irmd's control connection to one IPCP (`ipcp.<pid>.sock`), speaking ipcp_msg. */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { ipcp_msgSchema, ipcp_msg_code, type ipcp_msg } from '../proto/gen/ipcp_pb.js';
import { CtrlClient } from '../common/ctrl/channel.js';
import { OuroborosError } from '../common/errors.js';
import { paths } from '../common/rundir.js';

/** Reply deadlines per command (ms); Node processes get more slack than the reference's. */
export const IPCP_TIMEOUT = {
  BOOTSTRAP: 10000,
  ENROLL: 20000,
  REG: 20000,
  /** A unicast layer's directory may take a few lookup rounds. */
  QUERY: 6000,
  CONNECT: 20000,
  FLOW_ALLOC: 20000,
  DEFAULT: 5000,
} as const;

export type IpcpInit = MessageInitShape<typeof ipcp_msgSchema>;

export class IpcpControl {
  private constructor(private readonly ctrl: CtrlClient, readonly pid: number) {}

  static async open(rundir: string, pid: number): Promise<IpcpControl> {
    return new IpcpControl(await CtrlClient.connect(paths.ipcp(rundir, pid), `IPCP ${pid}`, 'EIPCP'), pid);
  }

  /** Sends a command; resolves with the IPCP_REPLY. */
  async call(init: IpcpInit, timeout: number): Promise<ipcp_msg> {
    const bytes = await this.ctrl.request(toBinary(ipcp_msgSchema, create(ipcp_msgSchema, init)), timeout);
    let reply: ipcp_msg;
    try {
      reply = fromBinary(ipcp_msgSchema, bytes);
    } catch {
      throw new OuroborosError('EIPCP', `IPCP ${this.pid} sent a reply that does not decode`);
    }
    if (reply.code !== ipcp_msg_code.IPCP_REPLY) throw new OuroborosError('EIPCP', `IPCP ${this.pid} replied with code ${reply.code}`);
    return reply;
  }

  /** Sends a command without waiting for its reply (the reference does this for FLOW_DEALLOC). */
  post(init: IpcpInit): void {
    this.call(init, IPCP_TIMEOUT.DEFAULT).catch(() => {});
  }

  close(): void {
    this.ctrl.close();
  }
}
