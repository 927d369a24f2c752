/**
 * Summarises .cpuprofile files (from bench/cpu-prof.ts or node --cpu-prof):
 *
 *   node dist/bench/prof-top.js [-n 25] FILE...
 *
 * Prints, per file, the functions with the most self time (with -i: the
 * most inclusive time, callees counted).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const argv = process.argv.slice(2);
let top = 25;
let inclusive = false;
const files: string[] = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '-n') top = Number(argv[++i]);
  else if (argv[i] === '-i') inclusive = true;
  else files.push(argv[i]!);
}

function keyOf(n: Node): string {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
}

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas) {
    // Time of sample i is the delta to the next one.
    for (let i = 0; i < p.samples.length; i++) {
      const dt = p.timeDeltas[i + 1] ?? 0;
      self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
    }
  }
  const agg = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const key = keyOf(byId.get(id)!);
    agg.set(key, (agg.get(key) ?? 0) + us);
    total += us;
  }
  if (inclusive) {
    // Each sample counts once for every distinct function on its stack.
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    agg.clear();
    for (const [id, us] of self) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const k = keyOf(byId.get(at)!);
        if (seen.has(k)) continue;
        seen.add(k);
        agg.set(k, (agg.get(k) ?? 0) + us);
      }
    }
  }
  const busy = total - (agg.get('(idle)') ?? 0);
  process.stdout.write(`\n== ${basename(file)}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s not idle\n`);
  const rows = [...agg].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}\n`);
}
