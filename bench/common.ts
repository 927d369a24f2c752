/** What bench/main.ts and the figure modules (oap.ts, unicast.ts) share: the row of the table, and starting and waiting on peers. */
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
