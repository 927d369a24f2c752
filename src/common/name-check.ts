/** The names of the reference's messages: 1 to 255 bytes. */
import { fail } from './errors.js';

/** Fails with EINVAL unless `name` is a string of 1 to 255 bytes; `what` names it in the message. */
export function checkName(name: string, what = 'a name'): void {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 255) fail('EINVAL', `${what} of 1 to 255 bytes is needed`);
}
