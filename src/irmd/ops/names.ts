/** Name operations: create, destroy, list, register in and unregister from a layer. */
import type { IrmdContext } from '../context.js';
import { IPCP_TIMEOUT } from '../ipcp-control.js';
import { errorFromResult, fail } from '../../common/errors.js';
import { LoadBalance } from '../../common/ipcp-types.js';
import { hashFmt32, hashName } from '../../common/hash.js';
import { ipcp_msg_code } from '../../proto/gen/ipcp_pb.js';
import type { SecurityPaths } from '../registry/names.js';
import { checkName } from '../../common/name-check.js';

export { checkName };

export function createName(ctx: IrmdContext, name: string, lb: number, sec: Partial<SecurityPaths> = {}): void {
  checkName(name);
  if (lb !== LoadBalance.ROUND_ROBIN && lb !== LoadBalance.SPILL) fail('EINVAL', `unknown load-balancing policy ${lb}`);
  if (!ctx.reg.names.create(name, lb as LoadBalance, sec)) {
    ctx.log.info(`Name ${name} already exists.`);
    return;
  }
  ctx.log.info(`Created new name: ${name}.`);
}

export function destroyName(ctx: IrmdContext, name: string): void {
  checkName(name);
  const n = ctx.reg.names.get(name);
  if (!n) {
    ctx.log.err(`Failed to destroy name ${name}.`);
    fail('ENAME', `there is no name ${name}`);
  }
  for (const prog of n.progs) ctx.reg.programs.get(prog)?.names.delete(name);
  ctx.reg.names.destroy(name);
  ctx.log.info(`Destroyed name: ${name}.`);
}

async function regOrUnreg(ctx: IrmdContext, name: string, pid: number, reg: boolean): Promise<void> {
  checkName(name);
  if (!ctx.reg.names.get(name)) {
    ctx.log.err(`Failed to get name ${name}.`);
    fail('ENAME', `there is no name ${name}; create it first (irm name create ${name})`);
  }
  const ipcp = ctx.reg.ipcps.get(pid);
  if (!ipcp || !ipcp.ctrl) {
    ctx.log.err(`Failed to get IPCP ${pid}.`);
    fail('EIPCP', `there is no IPCP with pid ${pid}`);
  }
  if (!ctx.reg.ipcps.operational(ipcp)) fail('EIPCPSTATE', `IPCP ${pid} is not in a layer yet; bootstrap or enroll it first`);
  const hash = hashName(ipcp.layer!.hashAlgo, name);
  const reply = await ipcp.ctrl.call({ code: reg ? ipcp_msg_code.IPCP_REG : ipcp_msg_code.IPCP_UNREG, hash }, IPCP_TIMEOUT.REG);
  if (reply.result < 0) {
    if (reg) ctx.log.err(`Could not register ${hashFmt32(hash)} with IPCP ${pid}.`);
    else ctx.log.err(`Could not unregister ${name} with IPCP ${pid}.`);
    throw errorFromResult(reply.result, `${reg ? 'registering' : 'unregistering'} ${name} ${reg ? 'with' : 'from'} IPCP ${pid}`);
  }
  if (reg) ctx.log.info(`Registered ${name} with IPCP ${pid} as ${hashFmt32(hash)}.`);
  else ctx.log.info(`Unregistered ${name} from ${pid}.`);
}

export function regName(ctx: IrmdContext, name: string, pid: number): Promise<void> {
  return regOrUnreg(ctx, name, pid, true);
}

export function unregName(ctx: IrmdContext, name: string, pid: number): Promise<void> {
  return regOrUnreg(ctx, name, pid, false);
}
