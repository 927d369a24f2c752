/** One irmd per runtime directory: a lock file holding the pid of the running irmd. */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { paths } from '../common/rundir.js';

export class LockError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock, or throws LockError naming the irmd that holds it. Returns true when a stale lock was cleaned. */
export function takeLock(rundir: string): boolean {
  mkdirSync(rundir, { recursive: true, mode: 0o755 });
  const file = paths.lock(rundir);
  let stale = false;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return stale;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new LockError(`IRMd already running (${pid}) with runtime directory ${rundir}, exiting.`);
    }
    unlinkSync(file);
    stale = true;
  }
  throw new LockError(`could not take the lock file ${file}`);
}

export function releaseLock(rundir: string): void {
  try {
    const file = paths.lock(rundir);
    if (Number.parseInt(readFileSync(file, 'utf8'), 10) === process.pid) unlinkSync(file);
  } catch {
    /* gone already */
  }
}
