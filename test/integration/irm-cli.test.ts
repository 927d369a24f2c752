/**
 * The real `irm` binary against a live irmd: IPCPs, names, bindings, and how
 * it answers wrong arguments and a missing daemon.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, Child, TestSystem, until, type RunResult, gone } from '../helpers/system.js';
import { IPCP_TYPE_NAMES, IpcpType, isBuilt } from '../../src/common/ipcp-types.js';
import { ipcpTable, nameTable } from '../helpers/tables.js';

/** The first IPCP type this build does not ship, if any (udp4 once; unicast now). */
const LACKING = (Object.values(IpcpType) as IpcpType[]).filter((t) => !isBuilt(t)).map((t) => IPCP_TYPE_NAMES[t])[0];

const DAEMON_UNREACHABLE = 'Failed to communicate with the Ouroboros IPC Resource Manager daemon.\n';


const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');


/** The pid of the IPCP called `name` in an `irm ipcp list` table. */
function pidOf(table: string, name: string): number {
  const m = table.match(new RegExp(`\\|\\s+(\\d+) \\|\\s+${esc(name)} \\|`));
  assert.ok(m, `IPCP ${name} listed in:\n${table}`);
  return Number(m[1]);
}

function all(r: RunResult): string {
  return r.stdout + r.stderr;
}

describe('irm against a live irmd', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start();
  });
  after(async () => {
    await sys?.stop();
  });

  test('ipcp list on an empty system', async () => {
    const r = await sys.irm(['ipcp', 'list']);
    assert.equal(r.stdout, 'No IPCPs in system.\n\n');
    assert.equal(r.stderr, '');
  });

  test('ipcp create, bootstrap, list, destroy', async () => {
    await sys.irm(['ipcp', 'create', 'name', 'x', 'type', 'local']);
    await sys.irmd.waitFor(/Created IPCP \d+\./);
    let list = await sys.irm(['ipcp', 'list']);
    const x = pidOf(list.stdout, 'x');
    assert.equal(list.stdout, ipcpTable([[x, 'x', 'local', 'Not enrolled.']]));
    assert.equal(gone(x), false, 'the IPCP process runs');

    await sys.irm(['ipcp', 'bootstrap', 'name', 'x', 'layer', 'layer.x']);
    await sys.irmd.waitFor(new RegExp(`Bootstrapped IPCP ${x}\\.`));
    assert.equal((await sys.irm(['ipcp', 'list'])).stdout, ipcpTable([[x, 'x', 'local', 'layer.x']]));

    const again = await sys.irm(['ipcp', 'bootstrap', 'name', 'x', 'layer', 'layer.x'], true);
    assert.notEqual(again.code, 0, 'bootstrapping twice fails');

    // Created and bootstrapped in one go.
    await sys.irm(['ipcp', 'bootstrap', 'type', 'local', 'name', 'y', 'layer', 'layer.y']);
    list = await sys.irm(['ipcp', 'list']);
    const y = pidOf(list.stdout, 'y');
    assert.equal(list.stdout, ipcpTable([[x, 'x', 'local', 'layer.x'], [y, 'y', 'local', 'layer.y']]));

    await sys.irm(['ipcp', 'destroy', 'name', 'x']);
    await until(() => gone(x), 10000, `IPCP process ${x} to exit`);
    await sys.irmd.waitFor(new RegExp(`Destroyed IPCP ${x}\\.`));
    assert.equal((await sys.irm(['ipcp', 'list'])).stdout, ipcpTable([[y, 'y', 'local', 'layer.y']]));
    assert.equal(existsSync(join(sys.rundir, `ipcp.${x}.sock`)), false, 'its socket is gone');

    await sys.irm(['ipcp', 'destroy', 'name', 'y']);
    await until(() => gone(y), 10000, `IPCP process ${y} to exit`);
    assert.equal((await sys.irm(['ipcp', 'list'])).stdout, 'No IPCPs in system.\n\n');
  });

  test(`ipcp create with a type this version lacks (${LACKING ?? 'none'}) or does not know fails and creates nothing`, async () => {
    if (LACKING !== undefined) {
      const lacking = await sys.irm(['ipcp', 'create', 'name', 'u', 'type', LACKING], true);
      assert.notEqual(lacking.code, 0);
      assert.match(all(lacking), new RegExp(`The ${esc(LACKING)} IPCP type is not available in this version`));
    }
    const bogus = await sys.irm(['ipcp', 'create', 'name', 'u', 'type', 'carrier-pigeon'], true);
    assert.notEqual(bogus.code, 0);
    assert.match(all(bogus), /IPCP type "carrier-pigeon" is unknown/);
    assert.doesNotMatch((await sys.irm(['ipcp', 'list'])).stdout, /\| +u \|/);
  });

  test('name create, list, destroy: round-robin and spillover in the table', async () => {
    await sys.irm(['name', 'create', 'n.one']);
    await sys.irm(['name', 'create', 'n.two', 'lb', 'spillover']);
    await sys.irm(['name', 'create', 'n.three', 'lb', 'round-robin']);
    await sys.irm(['name', 'create', 'n.one', 'lb', 'spillover']); // exists: a no-op that succeeds
    assert.equal(
      (await sys.irm(['name', 'list'])).stdout,
      nameTable([
        ['n.one', 'round-robin'],
        ['n.three', 'round-robin'],
        ['n.two', 'spillover'],
      ]),
    );
    await sys.irm(['name', 'destroy', 'n.two']);
    assert.match(sys.log, /Destroyed name: n\.two\./);
    assert.equal((await sys.irm(['name', 'list'])).stdout, nameTable([['n.one', 'round-robin'], ['n.three', 'round-robin']]));
    const missing = await sys.irm(['name', 'destroy', 'n.two'], true);
    assert.notEqual(missing.code, 0, 'destroying a name that is gone fails');
    await sys.irm(['name', 'destroy', 'n.one']);
    await sys.irm(['name', 'destroy', 'n.three']);
  });

  test('bind and unbind a program (auto): irmd starts it for a flow, and no more once unbound', async () => {
    await sys.irm(['ipcp', 'bootstrap', 'type', 'local', 'name', 'lo', 'layer', 'lo']);
    await sys.irm(['bind', 'program', BIN.oping, 'name', 'auto.ping', 'auto', '--', '-l']);
    await sys.irmd.waitFor(new RegExp(`Bound program ${esc(BIN.oping)} to name auto\\.ping\\.`));
    assert.match((await sys.irm(['name', 'list'])).stdout, /\| +auto\.ping \| +spillover \|/, 'bind created the name (spillover)');
    await sys.irm(['name', 'register', 'auto.ping', 'layer', 'lo']);

    const ping = await sys.run('oping', ['-n', 'auto.ping', '-c', '1'], 30000);
    assert.equal(ping.code, 0, all(ping));
    assert.match(ping.stdout, /1 packets transmitted, 1 received/);
    assert.match(sys.log, new RegExp(`Starting ${esc(BIN.oping)} for auto\\.ping\\.`));
    const server = Number((await sys.irmd.waitFor(/Flow \d+ accepted (?:\(direct\) )?by (\d+) for auto\.ping/))[1]);

    await sys.irm(['unbind', 'program', 'oping', 'name', 'auto.ping']);
    await sys.irmd.waitFor(/Name auto\.ping unbound for oping\./);
    process.kill(server, 'SIGKILL');
    await until(() => gone(server), 10000, `started server ${server} to exit`);
    await sys.irmd.waitFor(new RegExp(`Process (${server} died|removed: ${server})`));

    const later = await sys.run('oping', ['-n', 'auto.ping', '-c', '1'], 30000);
    assert.notEqual(later.code, 0, `no server any more: ${all(later)}`);
    assert.match(later.stdout, /Failed to allocate flow/);
    assert.equal([...sys.log.matchAll(/Starting \S+ for auto\.ping\./g)].length, 1, 'not started again');
  });

  test('bind and unbind a process', async () => {
    await sys.irm(['name', 'create', 'bound.srv']);
    const server = sys.spawn('oping', ['-l']);
    await server.waitFor(/Ouroboros ping server started\./);
    await sys.irm(['bind', 'process', String(server.pid), 'name', 'bound.srv']);
    await sys.irmd.waitFor(new RegExp(`Bound process ${server.pid} to name bound\\.srv\\.`));
    const ping = await sys.run('oping', ['-n', 'bound.srv', '-c', '1'], 30000);
    assert.equal(ping.code, 0, all(ping));
    await server.waitFor(/New flow \d+\./);

    await sys.irm(['unbind', 'process', String(server.pid), 'name', 'bound.srv']);
    await sys.irmd.waitFor(new RegExp(`Name bound\\.srv unbound for process ${server.pid}\\.`));
    const later = await sys.run('oping', ['-n', 'bound.srv', '-c', '1'], 30000);
    assert.notEqual(later.code, 0, `the server no longer gets flows for the name: ${all(later)}`);
    assert.match(later.stdout, /Failed to allocate flow/);
    assert.equal([...server.out.matchAll(/New flow/g)].length, 1);

    const notAProcess = await sys.irm(['bind', 'process', '999999999', 'name', 'bound.srv'], true);
    assert.notEqual(notAProcess.code, 0);
    assert.match(all(notAProcess), /"999999999" is not a valid process id/);
    await server.stop('SIGKILL');
  });

  test('wrong arguments print the usage and exit non-zero', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /^Usage: irm \[OPERATION\]/],
      [['ipcp'], /^Usage: irm ipcp \[OPERATION\]/],
      [['ipcp', 'create', 'name', 'z'], /^Usage: irm ipcp create\n/],
      [['ipcp', 'destroy'], /^Usage: irm ipcp destroy\n/],
      [['ipcp', 'bootstrap', 'name'], /^Usage: irm ipcp bootstrap\n/],
      [['name'], /^Usage: irm name \[OPERATION\]/],
      [['name', 'create'], /^Usage: irm name create\n/],
      [['name', 'create', 'z', 'lb', 'fastest'], /^Usage: irm name create\n/],
      [['name', 'register', 'z'], /^Usage: irm name register /],
      [['bind'], /^Usage: irm bind \[OPERATION\]/],
      [['bind', 'program', BIN.oping], /^Usage: irm bind program /],
      [['bind', 'process', String(process.pid)], /^Usage: irm bind process /],
      [['unbind', 'program'], /^Usage: irm unbind program /],
    ];
    const results = await Promise.all(cases.map(([args]) => sys.irm(args, true)));
    const failures: string[] = [];
    cases.forEach(([args, usage], i) => {
      const r = results[i]!;
      if (r.code === 0) failures.push(`irm ${args.join(' ')}: exit 0`);
      else if (!usage.test(r.stdout)) failures.push(`irm ${args.join(' ')}: printed ${JSON.stringify(all(r))}`);
    });
    assert.deepEqual(failures, []);
    assert.doesNotMatch((await sys.irm(['ipcp', 'list'])).stdout, /\| +z \|/);
    assert.doesNotMatch((await sys.irm(['name', 'list'])).stdout, /\| +z \|/);
  });
});

describe('irm without a daemon', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'o7s-irm-test-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  async function irm(rundir: string, args: string[]): Promise<RunResult> {
    const c = new Child(spawn(process.execPath, [BIN.irm, ...args], { env: { ...process.env, OUROBOROS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] }));
    const t = setTimeout(() => c.proc.kill('SIGKILL'), 20000);
    const { code } = await c.exited;
    clearTimeout(t);
    return { code, stdout: c.out, stderr: c.err };
  }

  test('prints that it cannot reach the daemon and exits 1 (no socket)', async () => {
    const rundir = mkdtempSync(join(tmp, 'empty-'));
    const commands = [['ipcp', 'list'], ['name', 'list'], ['name', 'create', 'n'], ['ipcp', 'create', 'name', 'x', 'type', 'local']];
    const results = await Promise.all(commands.map((args) => irm(rundir, args)));
    commands.forEach((args, i) => {
      assert.equal(results[i]!.code, 1, `irm ${args.join(' ')}: ${all(results[i]!)}`);
      assert.equal(results[i]!.stdout, DAEMON_UNREACHABLE, `irm ${args.join(' ')}`);
    });
    // The same with --rundir instead of the environment.
    const r = await irm(join(tmp, 'elsewhere'), ['--rundir', rundir, 'ipcp', 'list']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, DAEMON_UNREACHABLE);
  });

  test('prints that it cannot reach the daemon and exits 1 (socket left by a killed irmd)', async () => {
    const rundir = mkdtempSync(join(tmp, 'stale-'));
    const irmd = new Child(spawn(process.execPath, [BIN.irmd, '--stdout', '--rundir', rundir], { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await irmd.waitFor(/daemon started/);
    } finally {
      await irmd.stop('SIGKILL');
    }
    assert.ok(existsSync(join(rundir, 'irm.sock')), 'the killed irmd left its socket');
    const r = await irm(rundir, ['ipcp', 'list']);
    assert.equal(r.code, 1, all(r));
    assert.equal(r.stdout, DAEMON_UNREACHABLE);
  });
});
