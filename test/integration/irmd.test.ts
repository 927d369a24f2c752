/**
 * The irmd daemon itself: one per runtime directory, its command line, and a
 * clean shutdown on SIGTERM that takes down everything it started.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, Child, ROOT, TestSystem, until, gone } from '../helpers/system.js';

const tmp = mkdtempSync(join(tmpdir(), 'o7s-irmd-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Starts irmd with `args` (no --stdout unless given) on `rundir`. */
function startIrmd(rundir: string, args: string[]): Child {
  return new Child(
    spawn(process.execPath, [BIN.irmd, '--rundir', rundir, ...args], { env: { ...process.env, OUROBOROS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

/** Runs irmd until it exits (killed after `ms`, which fails the caller's exit-code check). */
async function runIrmd(rundir: string, args: string[], ms = 15000): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const c = startIrmd(rundir, args);
  const t = setTimeout(() => c.proc.kill('SIGKILL'), ms);
  const { code, signal } = await c.exited;
  clearTimeout(t);
  return { code, signal, stdout: c.out, stderr: c.err };
}


describe('one irmd per runtime directory', () => {
  let sys: TestSystem | undefined;
  after(async () => {
    await sys?.stop();
  });

  test('a second irmd on the same rundir is refused, naming the running one, and the first keeps serving', async () => {
    sys = await TestSystem.start();
    const lock = join(sys.rundir, 'irmd.lock');
    assert.equal(readFileSync(lock, 'utf8').trim(), String(sys.irmd.pid), 'the lock file holds the pid of the irmd');

    for (const args of [['--stdout'], []]) {
      const second = await runIrmd(sys.rundir, args);
      const output = second.stdout + second.stderr;
      assert.equal(second.code, 1, output);
      assert.match(output, new RegExp(`already running \\(${sys.irmd.pid}\\)`));
      assert.doesNotMatch(output, /daemon started/);
    }

    assert.ok(sys.irmd.running, 'the first irmd still runs');
    assert.ok(existsSync(join(sys.rundir, 'irm.sock')), 'irm.sock is still there');
    assert.equal(readFileSync(lock, 'utf8').trim(), String(sys.irmd.pid), 'the lock file still names the first irmd');
    await sys.irm(['name', 'create', 'still.here']);
    const names = await sys.irm(['name', 'list']);
    assert.match(names.stdout, /\|\s+still\.here \|\s+round-robin \|/);
  });

  test('after an irmd was killed, a new one cleans up its lock and socket and starts', async () => {
    const rundir = mkdtempSync(join(tmp, 'run-'));
    const first = startIrmd(rundir, ['--stdout']);
    try {
      await first.waitFor(/daemon started/);
    } finally {
      await first.stop('SIGKILL');
    }
    assert.ok(existsSync(join(rundir, 'irmd.lock')), 'a killed irmd leaves its lock file');
    const next = startIrmd(rundir, ['--stdout']);
    try {
      await next.waitFor(/daemon started/);
      assert.match(next.out, /didn't properly shut down last time/);
      assert.equal(readFileSync(join(rundir, 'irmd.lock'), 'utf8').trim(), String(next.pid));
      // It serves.
      const irm = new Child(spawn(process.execPath, [BIN.irm, 'name', 'list'], { env: { ...process.env, OUROBOROS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] }));
      assert.equal((await irm.exited).code, 0, irm.out + irm.err);
      assert.equal(irm.out, 'No names in system.\n\n');
    } finally {
      await next.stop('SIGTERM', 10000);
    }
    assert.deepEqual(await next.exited, { code: 0, signal: null }, next.out + next.err);
  });
});

describe('the irmd command line', () => {
  test('--version prints the version and exits 0 without starting', async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const rundir = join(tmp, 'never-created');
    const r = await runIrmd(rundir, ['--version']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\d+\.\d+\.\d+/);
    assert.ok(r.stdout.includes(version), `prints ${version}: ${r.stdout}`);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'one line');
    assert.equal(existsSync(rundir), false, 'no runtime directory was made');
  });

  for (const args of [['--bogus'], ['--stdout', 'extra'], ['--config']]) {
    test(`a bad argument (${args.join(' ')}) prints the usage and exits 1`, async () => {
      const rundir = join(tmp, 'never-created');
      const r = await runIrmd(rundir, args);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /Usage: irmd/);
      assert.match(r.stdout + r.stderr, /--config/);
      assert.match(r.stdout + r.stderr, /--version/);
      assert.doesNotMatch(r.stdout + r.stderr, /daemon started/);
      assert.equal(existsSync(rundir), false, 'no runtime directory was made');
    });
  }
});

describe('shutdown', () => {
  let sys: TestSystem | undefined;
  after(async () => {
    await sys?.stop();
  });

  test('SIGTERM as soon as irmd says it started stops it cleanly (5 times)', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const rundir = mkdtempSync(join(tmp, 'run-'));
      const c = startIrmd(rundir, ['--stdout']);
      try {
        await c.waitFor(/daemon started/);
        c.proc.kill('SIGTERM');
        const t = setTimeout(() => c.proc.kill('SIGKILL'), 10000);
        const { code, signal } = await c.exited;
        clearTimeout(t);
        const left = ['irm.sock', 'irmd.lock'].filter((f) => existsSync(join(rundir, f)));
        outcomes.push(`exit ${code} signal ${signal}${left.length ? `, left ${left.join(' ')}` : ''}`);
      } finally {
        await c.stop('SIGKILL');
      }
    }
    assert.deepEqual(outcomes, Array(5).fill('exit 0 signal null'));
  });

  test('irmd whose log output went away (reader of --stdout closed) still stops cleanly on SIGTERM', async () => {
    const rundir = mkdtempSync(join(tmp, 'run-'));
    const c = startIrmd(rundir, ['--stdout']);
    try {
      await c.waitFor(/daemon started/);
      // Give the signal handlers time to be in place (see the test above), then drop the reader.
      const irm = new Child(spawn(process.execPath, [BIN.irm, 'ipcp', 'list'], { env: { ...process.env, OUROBOROS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] }));
      assert.equal((await irm.exited).code, 0, irm.out + irm.err);
      c.proc.stdout!.destroy();
      c.proc.stderr!.destroy();
      c.proc.kill('SIGTERM');
      const t = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
      const exit = await c.exited;
      clearTimeout(t);
      assert.deepEqual(exit, { code: 0, signal: null }, 'exits by itself within 5 s');
      assert.equal(existsSync(join(rundir, 'irmd.lock')), false, 'lock file removed');
    } finally {
      await c.stop('SIGKILL');
    }
  });

  test('SIGTERM stops irmd cleanly: its IPCPs, the programs it started and the registered processes exit, irm.sock and the lock go', async () => {
    const conf = join(tmp, 'shutdown.conf');
    writeFileSync(conf, `[name.ping]\nprog = ["${BIN.oping}"]\nargs = ["-l"]\n\n[local.lo]\nbootstrap = "lo"\nreg = ["ping"]\n\n[local.spare]\n`);
    sys = await TestSystem.start({ config: conf });
    await until(() => [...sys!.log.matchAll(/Created IPCP (\d+)\./g)].length === 2, 15000, 'two IPCPs');
    const ipcps = [...sys.log.matchAll(/Created IPCP (\d+)\./g)].map((m) => Number(m[1]));

    // A ping makes irmd start the server.
    const ping = await sys.run('oping', ['-n', 'ping', '-c', '1'], 30000);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const started = Number((await sys.irmd.waitFor(/Flow \d+ accepted (?:\(direct\) )?by (\d+) for ping/))[1]);
    assert.match(sys.log, /Starting \S+ for ping\./);

    // A process that irmd did not start, only knows: a bound server.
    const server = sys.spawn('oping', ['-l']);
    await server.waitFor(/Ouroboros ping server started\./);
    await sys.irmd.waitFor(new RegExp(`Process added: ${server.pid} `));

    const alive = [...ipcps, started];
    for (const pid of alive) assert.equal(gone(pid), false, `${pid} runs before the shutdown`);

    sys.irmd.proc.kill('SIGTERM');
    const killer = setTimeout(() => sys!.irmd.proc.kill('SIGKILL'), 20000);
    const exit = await sys.irmd.exited;
    clearTimeout(killer);
    assert.deepEqual(exit, { code: 0, signal: null }, sys.log);

    for (const pid of alive) assert.ok(gone(pid), `process ${pid} (started by irmd) still runs after irmd exited`);
    assert.equal(existsSync(join(sys.rundir, 'irm.sock')), false, 'irm.sock removed');
    assert.equal(existsSync(join(sys.rundir, 'irmd.lock')), false, 'lock file removed');
    for (const pid of ipcps) assert.equal(existsSync(join(sys.rundir, `ipcp.${pid}.sock`)), false, `ipcp.${pid}.sock removed`);

    // The registered process was told to stop as well.
    await until(() => !server.running, 10000, `registered process ${server.pid} to exit`);
  });
});
