/**
 * ocat with real daemons: a local layer on one system, and two systems over
 * a lossy udp4 layer. The listener's stdout goes to a file (it is binary),
 * the sender's stdin is fed from the test.
 */
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TestSystem } from '../helpers/system.js';
import { TestNetwork } from '../helpers/network.js';

const OCAT = join(ROOT, 'dist/src/tools/ocat/main.js');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const tmp = mkdtempSync(join(tmpdir(), 'o7s-ocat-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let seq = 0;

interface Run {
  pid: number;
  err: () => string;
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill: () => void;
}

/** Starts ocat on `sys`; stdout to `outFile` (if given), stdin from `input` (if given). */
function ocat(sys: TestSystem, args: string[], opts: { outFile?: string; input?: Buffer } = {}): Run {
  const fd = opts.outFile ? openSync(opts.outFile, 'w') : 'pipe';
  const p = spawn(process.execPath, [OCAT, ...args], { env: sys.env, stdio: ['pipe', fd, 'pipe'] });
  if (typeof fd === 'number') closeSync(fd);
  let err = '';
  let onErr: (() => void) | undefined;
  p.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    onErr?.();
  });
  p.stdout?.resume();
  const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
  const ready = new Promise<void>((res, rej) => {
    onErr = () => {
      if (/listening/.test(err)) res();
    };
    void exited.then((code) => rej(new Error(`ocat exited ${code} before listening: ${err}`)));
  });
  ready.catch(() => undefined);
  if (opts.input) p.stdin!.end(opts.input);
  else p.stdin!.end();
  const t = setTimeout(() => p.kill('SIGKILL'), 200000);
  void exited.then(() => clearTimeout(t));
  return { pid: p.pid!, err: () => err, ready, exited, kill: () => p.kill('SIGKILL') };
}

describe('ocat: usage', () => {
  test('wrong options print the usage and exit 1; --help exits 0', async () => {
    const sys = await TestSystem.start();
    try {
      for (const args of [['-x'], [], ['-n'], ['-q', 'bogus', '-n', 'x'], ['-l', '-t']]) {
        const r = ocat(sys, args);
        assert.equal(await r.exited, 1, args.join(' '));
        assert.match(r.err(), /Usage: ocat/);
      }
      const h = ocat(sys, ['--help']);
      assert.equal(await h.exited, 0);
    } finally {
      await sys.stop();
    }
  });
});

describe('ocat over a local layer', () => {
  test('256 kB through ocat -n into ocat -l: same SHA-256, both exit 0; --rundir works', async () => {
    const sys = await TestSystem.start();
    try {
      await sys.localLayer();
      await sys.irm(['name', 'create', 'ocat-lo']);
      await sys.irm(['name', 'register', 'ocat-lo', 'layer', 'lo']);
      const data = randomBytes(256 * 1024 + 17);
      const outFile = join(tmp, `out.${seq++}`);
      const l = ocat(sys, ['-l', '-n', 'ocat-lo', '--rundir', sys.rundir], { outFile });
      await l.ready;
      const s = ocat(sys, ['-n', 'ocat-lo'], { input: data });
      const [sc, lc] = await Promise.all([s.exited, l.exited]);
      assert.equal(sc, 0, `sender: ${s.err()}`);
      assert.equal(lc, 0, `listener: ${l.err()}`);
      assert.equal(sha(readFileSync(outFile)), sha(data));
    } finally {
      await sys.stop();
    }
  });

  test('empty input: an empty file, both exit 0', async () => {
    const sys = await TestSystem.start();
    try {
      await sys.localLayer();
      await sys.irm(['name', 'create', 'ocat-e']);
      await sys.irm(['name', 'register', 'ocat-e', 'layer', 'lo']);
      const outFile = join(tmp, `out.${seq++}`);
      const l = ocat(sys, ['-l', '-n', 'ocat-e'], { outFile });
      await l.ready;
      const s = ocat(sys, ['-n', 'ocat-e'], { input: Buffer.alloc(0) });
      assert.equal(await s.exited, 0, s.err());
      assert.equal(await l.exited, 0, l.err());
      assert.equal(readFileSync(outFile).length, 0);
    } finally {
      await sys.stop();
    }
  });

  test('the listener exits non-zero when the flow goes down before the end', async () => {
    const sys = await TestSystem.start();
    try {
      await sys.localLayer();
      await sys.irm(['name', 'create', 'ocat-d']);
      await sys.irm(['name', 'register', 'ocat-d', 'layer', 'lo']);
      const outFile = join(tmp, `out.${seq++}`);
      const l = ocat(sys, ['-l', '-n', 'ocat-d'], { outFile });
      await l.ready;
      // A sender that allocates, sends one DATA SDU and deallocates without END.
      const proc = await sys.connect('half-sender');
      const { qos } = await import('../../src/lib/index.js');
      const flow = await proc.flowAlloc('ocat-d', { qos: qos.data });
      await flow.write(Buffer.from([0, 0x41, 0x42]));
      await flow.dealloc();
      await proc.close();
      assert.equal(await l.exited, 1, l.err());
      assert.match(l.err(), /went down before the end/);
      assert.equal(readFileSync(outFile, 'latin1'), 'AB');
    } finally {
      await sys.stop();
    }
  });

  test('the sender exits 1 when nobody answers the name', async () => {
    const sys = await TestSystem.start();
    try {
      await sys.localLayer();
      const s = ocat(sys, ['-n', 'nobody-here'], { input: Buffer.from('x') });
      assert.equal(await s.exited, 1);
      assert.match(s.err(), /could not allocate/);
    } finally {
      await sys.stop();
    }
  });
});

describe('ocat over a lossy udp4 layer', () => {
  let net: TestNetwork | undefined;
  after(async () => {
    await net?.stop();
  });

  /**
   * listenerMs: how long the listener may take after the sender exits. A
   * reliable listener lingers until its ACK is acknowledged, and the sender
   * that acknowledges it may be gone: up to the 10 s linger bound (+ margin).
   * A raw listener may never see END (lost): it is stopped after a moment.
   */
  const transfer = async (name: string, args: string[], data: Buffer, listenerMs: number): Promise<{ sc: number | null; lc: number | null; out: Buffer; serr: string; lerr: string }> => {
    net ??= await TestNetwork.udp4(['a', 'b'], { extra: ['drop', '0.05', 'dup', '0.02', 'reorder', '0.02', 'corrupt', '0.005'] });
    await net.register('b', name);
    const outFile = join(tmp, `out.${seq++}`);
    const l = ocat(net.sys('b'), ['-l', '-n', name], { outFile });
    await l.ready;
    const s = ocat(net.sys('a'), ['-n', name, ...args], { input: data });
    const sc = await s.exited;
    let timer: NodeJS.Timeout | undefined;
    const lc = await Promise.race([l.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), listenerMs)))]);
    clearTimeout(timer);
    if (lc === null) l.kill();
    return { sc, lc, out: readFileSync(outFile), serr: s.err(), lerr: l.err() };
  };

  test('2 MB with the default QoS (data): identical SHA-256, both exit 0', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const r = await transfer('ocat-data', [], data, 15000);
    assert.equal(r.sc, 0, `sender: ${r.serr}`);
    assert.equal(r.lc, 0, `listener: ${r.lerr}`);
    assert.equal(r.out.length, data.length);
    assert.equal(sha(r.out), sha(data));
  });

  test('2 MB with -q raw: the loss shows (output differs, non-zero exits)', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const r = await transfer('ocat-raw', ['-q', 'raw', '-t', '5'], data, 3000);
    assert.notEqual(sha(r.out), sha(data), 'a lossy layer without FRCT loses or damages something');
    assert.notEqual(r.sc, 0, `the sender sees the loss: ${r.serr}`);
    assert.notEqual(r.lc, 0, `the listener sees the loss: ${r.lerr}`);
  });
});
