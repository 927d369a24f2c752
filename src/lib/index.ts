/** o7s: the library a program imports to use flows. */
import type { ConnectOptions, Process } from './api.js';
import { ProcessImpl } from './process.js';

export * from './api.js';
export { qos, qosByName, qosCube, QosCube, type QosSpec } from './qos.js';
export { OuroborosError, ERRORS, type ErrorCode } from '../common/errors.js';

/** Announces this process to the system's irmd and returns its process context. */
export async function connect(opts?: ConnectOptions): Promise<Process> {
  return ProcessImpl.connect(opts);
}
