/**
 * irmd started with an irmd.conf: the layers, names, registrations and
 * auto-start programs it sets up, and how it refuses a bad file.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, Child, ROOT, TestSystem, until, gone } from '../helpers/system.js';
import { IPCP_TYPE_NAMES, IpcpType, isBuilt } from '../../src/common/ipcp-types.js';
import { ipcpTable, nameTable } from '../helpers/tables.js';

/** A valid stanza body per IPCP type, for the "type this build lacks" test. */
const STANZA: Record<string, string> = {
  unicast: 'bootstrap = "net"\n',
  broadcast: 'bootstrap = "bc"\n',
  'eth-llc': 'bootstrap = "eth"\ndev = "lo"\n',
  'eth-dix': 'bootstrap = "eth"\ndev = "lo"\n',
  udp4: 'bootstrap = "udp"\nip = "127.0.0.1"\nport = 3435\n',
  udp6: 'bootstrap = "udp"\nip = "::1"\n',
};
/** The first IPCP type this build does not ship, if any. */
const LACKING = (Object.values(IpcpType) as IpcpType[]).filter((t) => !isBuilt(t)).map((t) => IPCP_TYPE_NAMES[t])[0];

const tmp = mkdtempSync(join(tmpdir(), 'o7s-config-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let files = 0;
/** Writes an irmd.conf into the temp folder; yields its path. */
function conf(text: string): string {
  const p = join(tmp, `irmd-${++files}.conf`);
  writeFileSync(p, text);
  return p;
}

/** First 4 bytes of the name's hash, as irmd logs them. */
function hash8(algo: 'sha3-256' | 'sha3-512', name: string): string {
  return createHash(algo).update(name).digest('hex').slice(0, 8);
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');


/** The pids of "Created IPCP <pid>." lines, in log order. */
function createdIpcps(log: string): number[] {
  return [...log.matchAll(/Created IPCP (\d+)\./g)].map((m) => Number(m[1]));
}


/** Runs irmd with `args` in a fresh rundir until it exits (killed after `ms`). */
async function runIrmd(args: string[], ms = 20000): Promise<{ code: number | null; output: string; rundir: string }> {
  const rundir = mkdtempSync(join(tmp, 'run-'));
  const c = new Child(
    spawn(process.execPath, [BIN.irmd, '--rundir', rundir, ...args], { env: { ...process.env, OUROBOROS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const t = setTimeout(() => c.proc.kill('SIGKILL'), ms);
  const { code } = await c.exited;
  clearTimeout(t);
  return { code, output: c.out + c.err, rundir };
}

describe('a temporary irmd.conf', () => {
  let sys: TestSystem | undefined;
  after(async () => {
    await sys?.stop();
  });

  test('brings up its layers, names, registrations and auto-start programs', async () => {
    const file = conf(`
# names first: created in file order, programs bound
[name."my.oecho"]
lb = "round-robin"

[name."my.ping"]
prog = ["${BIN.oping}"]
args = ["--listen"]

[local.lo1]
bootstrap = "layer.one"
reg = ["my.oecho", "implicit.name", "my.ping"]

[local.lo2]
bootstrap = "layer.two"
hash = "SHA3_512"
reg = ["my.oecho"]

[local.lo3]
`);
    sys = await TestSystem.start({ config: file });
    // The file is applied once the daemon runs: wait for its last effect, lo3 created.
    await until(() => createdIpcps(sys!.log).length === 3, 10000, 'three IPCPs');
    const [lo1, lo2, lo3] = createdIpcps(sys.log) as [number, number, number];

    const ipcps = await sys.irm(['ipcp', 'list']);
    assert.equal(
      ipcps.stdout,
      ipcpTable([
        [lo1, 'lo1', 'local', 'layer.one'],
        [lo2, 'lo2', 'local', 'layer.two'],
        [lo3, 'lo3', 'local', 'Not enrolled.'],
      ]),
    );
    const names = await sys.irm(['name', 'list']);
    assert.equal(
      names.stdout,
      nameTable([
        ['implicit.name', 'spillover'],
        ['my.oecho', 'round-robin'],
        ['my.ping', 'spillover'],
      ]),
    );

    for (const n of ['my.oecho', 'implicit.name', 'my.ping']) {
      assert.match(sys.log, new RegExp(`Registered ${esc(n)} with IPCP ${lo1} as ${hash8('sha3-256', n)}\\.`));
    }
    assert.match(sys.log, new RegExp(`Registered my\\.oecho with IPCP ${lo2} as ${hash8('sha3-512', 'my.oecho')}\\.`));
    assert.doesNotMatch(sys.log, new RegExp(`with IPCP ${lo3}`));

    // oping is bound with args: irmd starts the server when the client comes.
    assert.doesNotMatch(sys.log, /Starting/, 'nothing started before a flow comes');
    const r = await sys.run('oping', ['-n', 'my.ping', '-c', '2', '-i', '100'], 30000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss/);
    assert.match(sys.log, new RegExp(`Starting ${esc(BIN.oping)} for my\\.ping\\.`));
  });
});

describe('the bundled config/irmd.conf', () => {
  let sys: TestSystem | undefined;
  after(async () => {
    await sys?.stop();
  });

  test('sets up a local layer with oping and oecho, and starts the oping server when pinged', async () => {
    sys = await TestSystem.start({ config: join(ROOT, 'config', 'irmd.conf') });
    const reg = await sys.irmd.waitFor(/Registered oecho with IPCP (\d+) as ([0-9a-f]{8})\./);
    const pid = Number(reg[1]);
    assert.equal(reg[2], hash8('sha3-256', 'oecho'));
    assert.match(sys.log, new RegExp(`Registered oping with IPCP ${pid} as 42dee3b0\\.`));
    assert.equal(createdIpcps(sys.log).join(), String(pid));

    assert.equal((await sys.irm(['ipcp', 'list'])).stdout, ipcpTable([[pid, 'local', 'local', 'local']]));
    assert.equal((await sys.irm(['name', 'list'])).stdout, nameTable([['oecho', 'spillover'], ['oping', 'spillover']]));

    assert.doesNotMatch(sys.log, /Starting/, 'nothing started before a flow comes');
    const r = await sys.run('oping', ['-n', 'oping', '-c', '2', '-i', '100'], 30000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(sys.log, /Starting \S+ for oping\./);
    assert.match(r.stdout, /2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss/);
    assert.match(r.stdout, /64 bytes from oping: seq=0 /);
    assert.match(r.stdout, /64 bytes from oping: seq=1 /);

    // The started server stays and serves the next client without a second start.
    const again = await sys.run('oping', ['-n', 'oping', '-c', '1'], 30000);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal([...sys.log.matchAll(/Starting \S+ for oping\./g)].length, 1);
  });
});

describe('a bad irmd.conf', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['an unknown key', '[local.lo]\nbootstrap = "lo"\nbogus = 1\n', /:3: \[local\.lo\] bogus: unknown key/],
    ['a value of the wrong type', '[name.n]\nlb = 3\n', /:2: \[name\.n\] lb: expected a string/],
    ['an unknown load-balancing policy', '[name.n]\nlb = "fastest"\n', /:2: \[name\.n\] lb: .*"fastest"/],
    ['an unknown top-level table', '[lokal.lo]\nbootstrap = "lo"\n', /:1: \[lokal\]: unknown top-level table/],
    ['text that is not TOML', '[local.lo\nbootstrap = "lo"\n', /:1: not valid TOML/],
  ];
  for (const [what, text, re] of cases) {
    test(`with ${what} makes irmd exit 1 naming the file and the problem`, async () => {
      const file = conf(text);
      const r = await runIrmd(['--stdout', '--config', file]);
      assert.equal(r.code, 1, r.output);
      assert.ok(r.output.includes(file), `the message names ${file}:\n${r.output}`);
      assert.match(r.output, re);
      assert.doesNotMatch(r.output, /Created IPCP/);
      assert.equal(existsSync(join(r.rundir, 'irm.sock')), false, 'irm.sock removed');
      assert.equal(existsSync(join(r.rundir, 'irmd.lock')), false, 'lock file removed');
    });
  }

  test('that does not exist makes irmd exit 1 naming it (also without --stdout)', async () => {
    const file = join(tmp, 'no-such-irmd.conf');
    const r = await runIrmd(['--config', file]);
    assert.equal(r.code, 1, r.output);
    assert.ok(r.output.includes(file), r.output);
    assert.match(r.output, /ENOENT|cannot read/);
  });

  test('naming a program that does not exist stops irmd with exit 1, taking down the IPCPs it created', async () => {
    const file = conf('[local.lo]\nbootstrap = "lo"\n\n[name.n]\nprog = ["/no/such/program"]\n');
    const r = await runIrmd(['--stdout', '--config', file]);
    assert.equal(r.code, 1, r.output);
    assert.ok(r.output.includes(file), r.output);
    assert.match(r.output, /\/no\/such\/program/);
    const ipcps = createdIpcps(r.output);
    assert.equal(ipcps.length, 1, r.output);
    await until(() => gone(ipcps[0]!), 5000, `IPCP ${ipcps[0]} to exit`);
    assert.equal(existsSync(join(r.rundir, 'irm.sock')), false, 'irm.sock removed');
    assert.equal(existsSync(join(r.rundir, 'irmd.lock')), false, 'lock file removed');
  });

  test(`with an IPCP type this build lacks (${LACKING ?? 'none'}) is refused with a clear message`, { skip: LACKING === undefined && 'this build has every IPCP type' }, async () => {
    const type = LACKING!;
    const file = conf(`[local.lo]\nbootstrap = "lo"\n\n[${type}.missing1]\n${STANZA[type]}`);
    const r = await runIrmd(['--stdout', '--config', file]);
    assert.equal(r.code, 1, r.output);
    assert.ok(r.output.includes(file), r.output);
    assert.match(r.output, new RegExp(`\\[${esc(type)}\\.missing1\\].*IPCP type ${esc(type)} is not available in this version`));
    assert.doesNotMatch(r.output, /Created IPCP/, 'refused before anything was created');
  });
});
