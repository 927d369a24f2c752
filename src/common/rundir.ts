/** Where a system's sockets live: OUROBOROS_RUNDIR, --rundir, or a per-user default. */
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export function defaultRundir(): string {
  const env = process.env.OUROBOROS_RUNDIR;
  if (env) return env;
  if (process.getuid?.() === 0) return '/run/ouroboros';
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg) return join(xdg, 'ouroboros');
  return join(tmpdir(), `ouroboros-${process.getuid?.() ?? 0}`);
}

export const paths = {
  irm: (rundir: string) => join(rundir, 'irm.sock'),
  ipcp: (rundir: string, pid: number) => join(rundir, `ipcp.${pid}.sock`),
  data: (rundir: string, pid: number) => join(rundir, `proc.${pid}.sock`),
  lock: (rundir: string) => join(rundir, 'irmd.lock'),
};

/** Takes `--rundir DIR` out of argv (mutating it) and returns the rundir to use. */
export function takeRundirArg(argv: string[]): string {
  const i = argv.indexOf('--rundir');
  if (i >= 0) {
    const dir = argv[i + 1];
    if (!dir) throw new Error('--rundir needs a directory');
    argv.splice(i, 2);
    return dir;
  }
  return defaultRundir();
}
