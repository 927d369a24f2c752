/**
 * Secure-flow figures (issue #6), over a udp4 layer between two systems
 * (bench/system.ts UdpPair) whose irmds share one configuration directory
 * with a test CA and the files of the name `bench.udp`:
 *
 *   oap.alloc.auth          median flow allocation time with certificates
 *                           (ECDSA P-256, both sides authenticated), no encryption
 *   oap.alloc.<kex>         the same with enc.conf `kex = <kex>` on both sides
 *   oap.goodput.<cipher>    goodput of a flow encrypted with <cipher>
 *                           (1400-byte writes, as fast as the window allows)
 *
 * each against its baseline, measured alongside in alternating rounds: an
 * allocation with no security file at all (OAP still runs, with nothing to
 * sign, check or derive), and an unencrypted flow. Both programs are this
 * process (one library process context on each system), so a goodput
 * figure includes the encryption and the decryption on one core.
 *
 * Run with the other figures by `npm run bench` (see the hook in
 * bench/main.ts), or alone: `node dist/bench/oap.js [--quick] [--json]
 * [--only REGEX]`.
 */
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Flow, type Process } from '../src/lib/index.js';
import { createTestCa, writeCredentials, writeEncConf } from '../src/irmd/oap/testca.js';
import { KEXES } from '../src/lib/crypt/nid.js';
import { removeDir, tempDir } from './proc.js';
import { NAME_UDP, UdpPair, snapshot } from './system.js';

export interface OapRow {
  name: string;
  o7s: number | null;
  baseline: number | null;
  unit: string;
  ratio: number | null;
  note: string;
  error?: string;
  info?: boolean;
  kind: 'rtt' | 'goodput';
  target: number;
}

export interface OapBenchOptions {
  quick?: boolean;
  json?: boolean;
  only?: RegExp | undefined;
  rounds?: number;
  progress?: (s: string) => void;
}

const CIPHERS = ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305', 'aes-256-ctr'] as const;
/**
 * Informational for now: Node pays one cipher object per packet (see
 * src/lib/crypt/cipher.ts), so encryption costs about half the goodput of
 * these in-process flows; a reused native context would lift this.
 */
const GOODPUT_TARGET = 0.5;
const SDU = 1400;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** The figure names, for --only. */
export function oapFigureNames(): string[] {
  return ['oap.alloc.auth', ...KEXES.map((k) => `oap.alloc.${k.name}`), ...CIPHERS.map((c) => `oap.goodput.${c}`)];
}

interface Receiver {
  bytes: number;
  first: number;
  last: number;
}

class Bed {
  private rx: Receiver = { bytes: 0, first: 0, last: 0 };
  private accepting = true;

  private constructor(
    readonly pair: UdpPair,
    readonly cfg: string,
    readonly sec: string,
    readonly client: Process,
    readonly server: Process,
  ) {
    void this.acceptLoop();
  }

  static async start(): Promise<Bed> {
    const cfg = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-oap-')));
    const sec = join(cfg, 'security');
    const ca = createTestCa({ dir: sec });
    writeCredentials(sec, 'server', NAME_UDP, ca.make(NAME_UDP));
    writeCredentials(sec, 'client', NAME_UDP, ca.make('bench.client'));
    // Both irmds read this configuration directory (they inherit the environment).
    const before = process.env.OUROBOROS_CONFIG_DIR;
    process.env.OUROBOROS_CONFIG_DIR = cfg;
    let pair: UdpPair;
    try {
      pair = await UdpPair.start();
    } finally {
      if (before === undefined) delete process.env.OUROBOROS_CONFIG_DIR;
      else process.env.OUROBOROS_CONFIG_DIR = before;
    }
    const server = await connect({ rundir: pair.server.rundir, prog: 'oap-bench-server' });
    await pair.server.irm(['bind', 'process', String(process.pid), 'name', NAME_UDP]);
    const client = await connect({ rundir: pair.client.rundir, prog: 'oap-bench-client' });
    return new Bed(pair, cfg, sec, client, server);
  }

  private async acceptLoop(): Promise<void> {
    while (this.accepting) {
      let f: Flow;
      try {
        f = await this.server.flowAccept();
      } catch {
        if (!this.accepting) return;
        continue;
      }
      void this.drain(f);
    }
  }

  private async drain(f: Flow): Promise<void> {
    const rx = (this.rx = { bytes: 0, first: 0, last: 0 });
    try {
      for (;;) {
        const p = await f.read();
        const now = performance.now();
        if (rx.bytes === 0) rx.first = now;
        rx.last = now;
        rx.bytes += p.length;
      }
    } catch {
      await f.dealloc().catch(() => {});
    }
  }

  /**
   * Security configuration of both roles, read by the irmds at the next
   * allocation: certificates or not (set aside as crt.pem.off), and the
   * enc.conf text (undefined: no enc.conf).
   */
  configure(auth: boolean, enc: string | undefined): void {
    for (const role of ['server', 'client'] as const) {
      const dir = join(this.sec, role, NAME_UDP);
      const on = join(dir, 'crt.pem');
      const off = `${on}.off`;
      if (!auth && existsSync(on)) renameSync(on, off);
      if (auth && existsSync(off)) renameSync(off, on);
      if (enc === undefined) rmSync(join(dir, 'enc.conf'), { force: true });
      else writeEncConf(this.sec, role, NAME_UDP, enc);
    }
  }

  /** One allocation and deallocation; ms. */
  async allocMs(): Promise<number> {
    const t0 = performance.now();
    const f = await this.client.flowAlloc(NAME_UDP, { timeout: 10_000 });
    const ms = performance.now() - t0;
    await f.dealloc();
    return ms;
  }

  /** Sends 1400-byte SDUs for `durMs` over a fresh flow; Mb/s the receiver got (first to last byte). */
  async goodput(durMs: number): Promise<{ mbps: number; cipher: string | undefined }> {
    const f = (await this.client.flowAlloc(NAME_UDP, { timeout: 10_000 })) as Flow & { tryWrite?: (d: Uint8Array) => boolean };
    const buf = Buffer.alloc(SDU, 0x5a);
    const end = performance.now() + durMs;
    let n = 0;
    while (performance.now() < end) {
      if (!f.tryWrite?.(buf)) await f.write(buf);
      if (++n % 64 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 300)); // the tail
    const rx = this.rx;
    const cipher = f.cipher;
    await f.dealloc();
    const secs = (rx.last - rx.first) / 1000;
    return { mbps: secs > 0 ? (rx.bytes * 8) / 1e6 / secs : 0, cipher };
  }

  async stop(): Promise<void> {
    this.accepting = false;
    await Promise.allSettled([this.client.close(), this.server.close()]);
    await this.pair.stop();
    removeDir(this.cfg);
  }
}

/** Runs the figures `only` selects; prints JSON lines when asked; returns the rows. */
export async function oapBench(opts: OapBenchOptions = {}): Promise<OapRow[]> {
  const names = oapFigureNames().filter((n) => !opts.only || opts.only.test(n));
  if (names.length === 0) return [];
  const say = opts.progress ?? ((s: string) => process.stderr.write(`${s}\n`));
  const rounds = opts.rounds && opts.rounds > 0 ? opts.rounds : opts.quick ? 1 : 3;
  const allocs = opts.quick ? 5 : 11;
  const durMs = opts.quick ? 600 : 1200;
  const rows: OapRow[] = [];
  let bed: Bed;
  try {
    bed = await Bed.start();
  } catch (e) {
    const error = `cannot start the udp4 systems: ${e instanceof Error ? e.message : String(e)}`;
    return names.map((name) => ({ name, o7s: null, baseline: null, unit: name.includes('goodput') ? 'Mb/s' : 'ms', ratio: null, note: '', error, kind: name.includes('goodput') ? 'goodput' : 'rtt', target: 0 }));
  }
  const emit = (r: OapRow): void => {
    rows.push(r);
    if (opts.json) process.stdout.write(`${JSON.stringify({ name: r.name, o7s: r.o7s, baseline: r.baseline, unit: r.unit, ratio: r.ratio })}\n`);
  };
  try {
    // Warm-up: the first allocations start links, compile code paths.
    bed.configure(false, undefined);
    for (let i = 0; i < 3; i++) await bed.allocMs();

    const allocFigure = async (name: string, auth: boolean, enc: string | undefined): Promise<void> => {
      if (!names.includes(name)) return;
      say(`  ${name} ...`);
      try {
        const o: number[] = [];
        const b: number[] = [];
        for (let r = 0; r < rounds; r++) {
          bed.configure(false, undefined);
          for (let i = 0; i < allocs; i++) b.push(await bed.allocMs());
          bed.configure(auth, enc);
          for (let i = 0; i < allocs; i++) o.push(await bed.allocMs());
        }
        const om = median(o);
        const bm = median(b);
        emit({ name, o7s: om, baseline: bm, unit: 'ms', ratio: om / bm, note: `p90 o7s ${quantile(o, 0.9).toFixed(1)} ms, plain ${quantile(b, 0.9).toFixed(1)} ms`, info: true, kind: 'rtt', target: 0 });
      } catch (e) {
        emit({ name, o7s: null, baseline: null, unit: 'ms', ratio: null, note: '', error: String(e), info: true, kind: 'rtt', target: 0 });
      }
    };
    await allocFigure('oap.alloc.auth', true, undefined);
    for (const k of KEXES) await allocFigure(`oap.alloc.${k.name}`, true, `kex = ${k.name}\n`);

    for (const c of CIPHERS) {
      const name = `oap.goodput.${c}`;
      if (!names.includes(name)) continue;
      say(`  ${name} ...`);
      try {
        const o: number[] = [];
        const b: number[] = [];
        for (let r = 0; r < rounds; r++) {
          bed.configure(false, undefined);
          const plain = await bed.goodput(durMs);
          if (plain.cipher !== undefined) throw new Error('the plain flow is encrypted');
          b.push(plain.mbps);
          bed.configure(false, `cipher = ${c}\n`);
          const enc = await bed.goodput(durMs);
          if (enc.cipher !== c) throw new Error(`the flow used ${enc.cipher}, not ${c}`);
          o.push(enc.mbps);
        }
        const om = Math.max(...o);
        const bm = Math.max(...b);
        emit({ name, o7s: om, baseline: bm, unit: 'Mb/s', ratio: om / bm, note: `best of ${rounds}: encrypted ${o.map((x) => x.toFixed(0)).join('/')} plain ${b.map((x) => x.toFixed(0)).join('/')} Mb/s`, info: true, kind: 'goodput', target: GOODPUT_TARGET });
      } catch (e) {
        emit({ name, o7s: null, baseline: null, unit: 'Mb/s', ratio: null, note: '', error: String(e), info: true, kind: 'goodput', target: GOODPUT_TARGET });
      }
    }
  } finally {
    await bed.stop();
  }
  return rows;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

// Standalone: node dist/bench/oap.js [--quick] [--json] [--only REGEX] [--rounds N]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const o: OapBenchOptions = { quick: argv.includes('--quick'), json: argv.includes('--json') };
  const oi = argv.indexOf('--only');
  if (oi >= 0 && argv[oi + 1]) o.only = new RegExp(argv[oi + 1]!);
  const ri = argv.indexOf('--rounds');
  if (ri >= 0 && argv[ri + 1]) o.rounds = Number(argv[ri + 1]);
  snapshot();
  oapBench(o).then(
    (rows) => {
      for (const r of rows) {
        const v = (x: number | null) => (x === null ? '-' : x.toFixed(1));
        const verdict = r.error ? 'ERROR' : r.info ? 'info' : r.ratio !== null && r.ratio >= r.target ? 'yes' : 'NO';
        process.stderr.write(`${r.name.padEnd(28)} ${v(r.o7s).padStart(8)} ${v(r.baseline).padStart(8)} ${r.unit.padEnd(5)} ${r.ratio === null ? '-' : r.ratio.toFixed(2)} ${verdict}  ${r.error ?? r.note}\n`);
      }
      process.exit(rows.some((r) => r.error) ? 1 : 0);
    },
    (e: unknown) => {
      process.stderr.write(`bench oap: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
