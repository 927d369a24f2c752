/** What bench/main.ts and the figure modules (oap.ts, unicast.ts) share: the row and the table, the standalone options, starting and waiting on peers. */
import type { PeerArgs } from './bench-peer.js';
import type { Child } from './proc.js';
import { Child as ChildProc } from './proc.js';
import { BIN } from './system.js';

export type Kind = 'rtt' | 'pps' | 'goodput';

/** One figure of the table (and of --json). */
export interface Row {
  name: string;
  o7s: number | null;
  baseline: number | null;
  unit: string;
  ratio: number | null;
  /** Spread and extra detail for the table. */
  note: string;
  error?: string;
  /** Informational: no target. */
  info?: boolean;
  kind: Kind;
  /** Ratio to stay at or below (rtt) or reach (pps, goodput). */
  target: number;
}

/** Starts one end of a measurement (bench-peer.js). */
export function peer(name: string, a: PeerArgs, env?: NodeJS.ProcessEnv): Child {
  return ChildProc.spawn(name, [BIN.peer, JSON.stringify(a)], env);
}

/** Waits for the result event of peer `c`, failing at once on an error of either peer. */
export function result(c: Child, other: Child, ms: number): Promise<Record<string, unknown>> {
  const check = (p: Child): void => {
    const err = p.events.find((e) => e.ev === 'error');
    if (err) throw new Error(`${p.name}: ${String(err.message)}`);
  };
  // The other peer's output also wakes the wait.
  const poke = (): void => c.poke();
  other.proc.stdout?.on('data', poke);
  other.proc.once('exit', poke);
  return c
    .until(
      'a result',
      () => {
        check(other);
        check(c);
        return c.events.find((e) => e.ev === 'result');
      },
      ms,
    )
    .finally(() => other.proc.stdout?.off('data', poke));
}

/** A row's target is met: RTT-like ratios at or below it, rates at or above it. */
export function met(kind: Kind, target: number, ratio: number | null): boolean {
  if (ratio === null || !Number.isFinite(ratio)) return false;
  return kind === 'rtt' ? ratio <= target : ratio >= target;
}

/** A figure's value in its unit: packets/s in k or M, ms with two decimals, the rest with one. */
export function fmt(v: number | null, unit: string): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (unit === 'pkt/s') return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : `${(v / 1e3).toFixed(0)} k`;
  return v.toFixed(unit === 'ms' ? 2 : 1);
}

/** The readable table: one line per figure, then each figure's note and error. */
export function table(rows: Row[]): string {
  const head = ['figure', 'o7s', 'baseline', 'unit', 'ratio', 'target', 'met'];
  const body = rows.map((r) => {
    const target = r.info ? 'info' : r.kind === 'rtt' ? `<= ${r.target}` : `>= ${r.target}`;
    const ok = r.error ? 'ERROR' : r.info ? '' : met(r.kind, r.target, r.ratio) ? 'yes' : 'NO';
    return [r.name, fmt(r.o7s, r.unit), fmt(r.baseline, r.unit), r.unit, r.ratio === null ? '-' : r.ratio.toFixed(2), target, ok];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  const out = [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)];
  for (const r of rows) {
    if (r.note) out.push(`  ${r.name}: ${r.note}`);
    if (r.error) out.push(`  ${r.name}: ERROR ${r.error.split('\n').slice(0, 40).join('\n    ')}`);
  }
  return out.join('\n');
}

/** The options of a figure module run alone: `[--quick] [--json] [--only REGEX] [--rounds N]`. */
export interface StandaloneOptions {
  quick: boolean;
  json: boolean;
  only?: RegExp;
  rounds?: number;
}

export function standaloneOptions(argv: string[]): StandaloneOptions {
  const o: StandaloneOptions = { quick: argv.includes('--quick'), json: argv.includes('--json') };
  const oi = argv.indexOf('--only');
  if (oi >= 0 && argv[oi + 1]) o.only = new RegExp(argv[oi + 1]!);
  const ri = argv.indexOf('--rounds');
  if (ri >= 0 && argv[ri + 1]) o.rounds = Number(argv[ri + 1]);
  return o;
}
