/**
 * Profiling preload (node refuses --cpu-prof in NODE_OPTIONS, but takes --import):
 *
 *   BENCH_CPU_PROF_DIR=/tmp/prof NODE_OPTIONS="--import $PWD/dist/bench/cpu-prof.js" npm run bench -- --only local.pps.64
 *
 * Every node process of the run whose script matches BENCH_CPU_PROF_MATCH
 * (default: the bench peers and the IPCPs) writes a .cpuprofile into the
 * directory when it exits; open them in Chrome DevTools or summarise them
 * with `node dist/bench/prof-top.js FILE`.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
const script = process.argv[1] ?? '';
const match = new RegExp(process.env.BENCH_CPU_PROF_MATCH ?? 'bench-peer|ipcpd');
if (dir && match.test(script)) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 100 });
  session.post('Profiler.start');
  let done = false;
  const save = (): void => {
    if (done) return;
    done = true;
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      const role = (() => {
        try {
          return (JSON.parse(process.argv[2] ?? '{}') as { role?: string; mode?: string }).role ?? '';
        } catch {
          return '';
        }
      })();
      const name = `${basename(dirname(script))}-${basename(script, '.js')}${role ? `-${role}` : ''}-${process.pid}.cpuprofile`;
      writeFileSync(join(dir, name), JSON.stringify(res.profile));
    });
  };
  process.on('exit', save);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      save();
      // Alone: do what the default action would (end); otherwise the program's own handler ends it.
      if (process.listenerCount(sig) === 1) process.exit(0);
    });
  }
}
