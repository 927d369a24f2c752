/**
 * Per-user isolation (DESIGN.md §3-4), with two users this test creates
 * (useradd; the test needs root, as CI has): unprivileged users use flows
 * but do not manage the system, never touch another user's processes or
 * data sockets, and still talk to each other through flows (through the
 * local IPCP, never directly). The flow between them is also encrypted,
 * which covers OAP on the local layer's path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, TestSystem, type Child, type RunAs } from '../helpers/system.js';
import { writeEncConf } from '../../src/irmd/oap/testca.js';

const USERS = ['o7s-iso-a', 'o7s-iso-b', 'o7s-iso-op'] as const;
const GROUP = 'ouroboros';

function haveUseradd(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('useradd', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function groupExists(name: string): boolean {
  try {
    execFileSync('getent', ['group', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Creates (or finds, after an interrupted run) a system user without a home or a login. */
function user(name: string, groups: string[] = []): RunAs {
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', ...(groups.length ? ['--groups', groups.join(',')] : []), name], { stdio: 'ignore' });
  } catch {
    /* exists already */
  }
  if (groups.length) execFileSync('usermod', ['--append', '--groups', groups.join(','), name], { stdio: 'ignore' });
  const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
  return { uid, gid, home: '/' };
}

const skip = haveUseradd() ? false : 'needs root and useradd';

describe('per-user isolation', { skip, timeout: 120_000 }, () => {
  let sys: TestSystem;
  let cfg: string;
  let a: RunAs;
  let b: RunAs;
  /** A member of group ouroboros: privileged without being root. */
  let op: RunAs;
  /** The group is made (and removed) here only when this host has none. */
  let madeGroup = false;
  let serverA: Child;

  before(async () => {
    a = user(USERS[0]);
    b = user(USERS[1]);
    if (!groupExists(GROUP)) {
      execFileSync('groupadd', ['--system', GROUP], { stdio: 'ignore' });
      madeGroup = true;
    }
    op = user(USERS[2], [GROUP]);
    cfg = mkdtempSync(join(tmpdir(), 'o7s-iso-'));
    // The flow between the two users is encrypted: enc.conf on both sides of the name.
    writeEncConf(join(cfg, 'security'), 'server', 'ping.a', 'kex = X25519\n');
    writeEncConf(join(cfg, 'security'), 'client', 'ping.a', 'kex = X25519\n');
    sys = await TestSystem.start({ args: ['--config-dir', cfg] });
    await sys.localLayer();
  });

  after(async () => {
    await sys?.stop();
    rmSync(cfg, { recursive: true, force: true });
    for (const u of USERS) {
      try {
        execFileSync('userdel', [u], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
    if (madeGroup) {
      try {
        execFileSync('groupdel', [GROUP], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
  });

  test('the runtime directory lets users in; irm.sock is open to them', () => {
    assert.equal(statSync(sys.rundir).mode & 0o7777, 0o1777);
    assert.equal(statSync(join(sys.rundir, 'irm.sock')).mode & 0o777, 0o666);
  });

  test('an unprivileged user cannot manage IPCPs, names or programs', async () => {
    for (const args of [
      ['ipcp', 'create', 'name', 'mine', 'type', 'local'],
      ['ipcp', 'bootstrap', 'type', 'local', 'name', 'mine2', 'layer', 'x'],
      ['ipcp', 'destroy', 'name', 'lo'],
      ['name', 'create', 'mine'],
      ['name', 'register', 'ping.a', 'layer', 'lo'],
      ['bind', 'program', '/bin/true', 'name', 'ping.a'],
    ]) {
      const r = await sys.irm(args, true, a);
      assert.equal(r.code, 1, `irm ${args.join(' ')} as a user must fail:\n${r.stdout}${r.stderr}`);
      // (`name register` first creates the name and says so when that fails; `bind program` reports EPERM as the reference words it.)
      assert.match(r.stdout + r.stderr, /not permitted|EPERM|Error creating name|check permissions/, args.join(' '));
    }
    const list = await sys.irm(['ipcp', 'list'], false, a);
    assert.match(list.stdout, /\blo\b/, 'but can look');
    assert.doesNotMatch(list.stdout, /mine/, 'nothing was created');
    const names = await sys.irm(['name', 'list'], false, a);
    assert.doesNotMatch(names.stdout, /mine/);
  });

  test('a member of group ouroboros may manage the system without being root', async () => {
    const r = await sys.irm(['name', 'create', 'op.name'], true, op);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const names = await sys.irm(['name', 'list'], false, op);
    assert.match(names.stdout, /op\.name/);
    await sys.irm(['name', 'destroy', 'op.name'], false, op);
  });

  test("a user's flows are the user's alone, and two users still talk through flows (encrypted, through the local IPCP)", async () => {
    await sys.irm(['name', 'create', 'ping.a']);
    await sys.irm(['bind', 'program', BIN.oping, 'name', 'ping.a']);
    await sys.irm(['name', 'register', 'ping.a', 'layer', 'lo']);
    serverA = sys.spawn('oping', ['-l'], a);
    await serverA.waitFor(/server started/);
    await waitForLog(sys, new RegExp(`Process added: ${serverA.pid} `));

    // Its data socket: mode 0600, owned by the user.
    const sock = join(sys.rundir, `proc.${serverA.pid}.sock`);
    const st = statSync(sock);
    assert.equal(st.uid, a.uid);
    assert.equal(st.mode & 0o777, 0o600);

    // Another user cannot reach it ...
    const probe = await sys.run(
      '-e',
      [`require('net').connect(${JSON.stringify(sock)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`],
      10_000,
      b,
    );
    assert.equal(probe.stdout.trim(), 'EACCES', probe.stdout + probe.stderr);
    // ... nor bind it to a name, nor unbind it.
    const bind = await sys.irm(['bind', 'process', String(serverA.pid), 'name', 'ping.a'], true, b);
    assert.equal(bind.code, 1);
    assert.match(bind.stdout + bind.stderr, /not permitted|EPERM/);
    const unbind = await sys.irm(['unbind', 'process', String(serverA.pid), 'name', 'ping.a'], true, b);
    assert.equal(unbind.code, 1);
    // Its owner may bind it (the name exists).
    const own = await sys.irm(['bind', 'process', String(serverA.pid), 'name', 'ping.a'], true, a);
    assert.equal(own.code, 0, own.stdout + own.stderr);

    // User b pings user a's server.
    const ping = await sys.run('oping', ['-n', 'ping.a', '-c', '3', '-i', '10'], 30_000, b);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /3 packets transmitted, 3 received/);
    const log = sys.log;
    assert.match(log, /Flow \d+ accepted by \d+ for ping\.a \(uid \d+\)/, 'through the local IPCP');
    assert.doesNotMatch(log, /allocated \(direct\)[^\n]*ping\.a/, 'never directly between two users');
    assert.match(log, /OAP request processed for ping\.a, encrypted/);
    assert.match(log, new RegExp(`Flow \\d+ accepted by ${serverA.pid} for ping\\.a \\(uid ${a.uid}\\)`), 'the flow is of user a');
  });
});

async function waitForLog(sys: TestSystem, re: RegExp, ms = 10_000): Promise<void> {
  await sys.irmd.waitFor(re, ms);
}
