/** A connection to irmd speaking irm_msg, shared by the process API and the management API. */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { irm_msgSchema, irm_msg_code, type irm_msg } from '../proto/gen/irm_pb.js';
import { CtrlClient } from '../common/ctrl/channel.js';
import { OuroborosError, errorFromResult } from '../common/errors.js';
import { paths } from '../common/rundir.js';

export type IrmInit = MessageInitShape<typeof irm_msgSchema>;

export class IrmConnection {
  private constructor(readonly ctrl: CtrlClient) {}

  static async open(rundir: string): Promise<IrmConnection> {
    const ctrl = await CtrlClient.connect(paths.irm(rundir), `the IRMd (rundir ${rundir})`, 'EIRMD');
    return new IrmConnection(ctrl);
  }

  /** Sends a request; returns the reply, or throws the error its negative result stands for. */
  async call(init: IrmInit, what: string, timeout?: number): Promise<irm_msg> {
    const reply = await this.send(init, timeout);
    if (reply.result < 0) throw errorFromResult(reply.result, what, reply.o7sError);
    return reply;
  }

  /** Sends a request and returns the raw reply (result not checked). */
  async send(init: IrmInit, timeout?: number): Promise<irm_msg> {
    const bytes = await this.ctrl.request(toBinary(irm_msgSchema, create(irm_msgSchema, init)), timeout);
    let reply: irm_msg;
    try {
      reply = fromBinary(irm_msgSchema, bytes);
    } catch {
      throw new OuroborosError('EIRMD', 'the IRMd sent a reply that does not decode');
    }
    if (reply.code !== irm_msg_code.IRM_REPLY) throw new OuroborosError('EIRMD', `the IRMd replied with message code ${reply.code}`);
    return reply;
  }

  close(): void {
    this.ctrl.close();
  }
}

/** Milliseconds to the reference's timespec_msg. */
export function timeoMsg(ms: number): { tvSec: bigint; tvNsec: number } {
  const whole = Math.max(0, Math.floor(ms));
  return { tvSec: BigInt(Math.floor(whole / 1000)), tvNsec: (whole % 1000) * 1_000_000 };
}
