/**
 * Enrollment (OEP) for unicast and broadcast IPCPs: a new member asks a
 * member of the layer for the layer's configuration over an N-1 flow of the
 * Enrollment component; the member answers with its own bootstrap
 * configuration and its clock, and the new member acknowledges.
 */
import { qos as QOS } from '../../lib/qos.js';
import type { Flow } from '../../lib/api.js';
import type { Logger } from '../../common/log.js';
import { fail } from '../../common/errors.js';
import type { IpcpConfig, IpcpType } from '../../common/ipcp-types.js';
import { IPCP_TYPE_NAMES } from '../../common/ipcp-types.js';
import type { ConnComponent, ConnMgr } from './connmgr.js';
import { CEP_ENROLLMENT } from './cep.js';
import {
  decodeEnrollAck,
  decodeEnrollReq,
  clockOffsetTooLarge,
  decodeEnrollResp,
  encodeEnrollAck,
  encodeEnrollReq,
  encodeEnrollResp,
  newEnrollId,
} from './enroll-wire.js';

/** How long each enrollment step may take. */
const STEP_TIMEOUT_MS = 5000;

async function readStep(flow: Flow, what: string): Promise<Uint8Array> {
  flow.readTimeout = STEP_TIMEOUT_MS;
  try {
    return await flow.read();
  } catch (e) {
    fail('ETIMEDOUT', `enrollment: no ${what} (${(e as Error).message})`);
  }
}

/**
 * Enrolls through the member reachable as `dst`: returns the layer's
 * configuration, then acknowledges once `accept` (which starts the
 * components from it) has succeeded.
 */
export async function enrollWith(
  connmgr: ConnMgr,
  dst: string,
  type: IpcpType,
  log: Logger,
  accept: (conf: IpcpConfig) => Promise<void>,
): Promise<IpcpConfig> {
  const { flow } = await connmgr.connect(dst, CEP_ENROLLMENT.compName, QOS.raw, true);
  try {
    const id = newEnrollId();
    const sentAt = Date.now();
    await flow.write(encodeEnrollReq({ id }));
    const resp = decodeEnrollResp(await readStep(flow, 'response'));
    const receivedAt = Date.now();
    if (typeof resp === 'string') fail('EPROTO', `enrollment: bad response from ${dst}: ${resp}`);
    // checkEnrollResp says the same, but each failure here has its own error code.
    if (!Buffer.from(resp.id).equals(id)) fail('EPROTO', `enrollment: ${dst} answered another request`);
    if (resp.response < 0 || !resp.conf) fail('EPERM', `enrollment: ${dst} refused (${resp.response})`);
    if (resp.conf.type !== type) {
      fail('EINVAL', `enrollment: ${dst} is a ${IPCP_TYPE_NAMES[resp.conf.type] ?? resp.conf.type} IPCP, not ${IPCP_TYPE_NAMES[type]}`);
    }
    if (clockOffsetTooLarge(sentAt, receivedAt, resp)) {
      const offset = receivedAt - (Number(resp.tSec) * 1000 + resp.tNsec / 1e6);
      log.warn(`Clock offset with ${dst} is ${offset.toFixed(0)} ms.`);
    }
    let result = 0;
    try {
      await accept(resp.conf);
    } catch (e) {
      result = -1;
      await flow.write(encodeEnrollAck({ id, result })).catch(() => {});
      throw e;
    }
    // We are in the layer now, whether or not the acknowledgement gets there.
    await flow.write(encodeEnrollAck({ id, result })).catch((e: Error) => log.warn(`Enrollment acknowledgement to ${dst} failed: ${e.message}`));
    log.info(`Enrolled with ${dst}.`);
    return resp.conf;
  } finally {
    void flow.dealloc();
  }
}

/** The enroller side: answers every Enrollment connection with `conf()`. */
export function enroller(log: Logger, conf: () => IpcpConfig | undefined): ConnComponent {
  return {
    cep: CEP_ENROLLMENT,
    onConn({ flow }) {
      void (async () => {
        try {
          const req = decodeEnrollReq(await readStep(flow, 'request'));
          if (typeof req === 'string') fail('EPROTO', `bad enrollment request: ${req}`);
          const c = conf();
          const now = Date.now();
          await flow.write(
            encodeEnrollResp({
              id: req.id,
              tSec: BigInt(Math.floor(now / 1000)),
              tNsec: (now % 1000) * 1e6,
              response: c ? 0 : -1,
              conf: c,
            }),
          );
          const ack = decodeEnrollAck(await readStep(flow, 'acknowledgement'));
          if (typeof ack === 'string') fail('EPROTO', `bad enrollment acknowledgement: ${ack}`);
          if (ack.result === 0) log.info('New member enrolled.');
          else log.warn(`A new member failed to enroll (${ack.result}).`);
        } catch (e) {
          log.warn(`Enrollment failed: ${(e as Error).message}`);
        } finally {
          void flow.dealloc();
        }
      })();
    },
  };
}


