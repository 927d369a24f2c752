/**
 * `irm ipcp inspect name <ipcp> [SECTION]...` (an o7s extension): what an
 * IPCP knows, as it tells it: its address, neighbours, link-state database,
 * forwarding table, directory (DHT contacts and stored names), flows and
 * counters; `json` prints the whole answer as JSON.
 */
import { type Ctx, FAIL, OK, type Status, describe } from './context.js';
import { matches, pick } from './match.js';
import { rpad } from './table.js';
import { usage } from './usage.js';
import { listIpcps, wantsHelp } from './util.js';

export const INSPECT_SECTIONS = ['address', 'neighbours', 'lsdb', 'pff', 'dht', 'flows', 'counters', 'json'] as const;
type Section = (typeof INSPECT_SECTIONS)[number];

type Json = Record<string, unknown>;

/** A table with right-aligned columns, in the style of `irm ipcp list`. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const border = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+\n`;
  const line = (r: string[]): string => `| ${r.map((c, i) => rpad(c, w[i]!)).join(' | ')} |\n`;
  return border + line(head) + border + rows.map(line).join('') + border;
}

const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const str = (v: unknown): string => (v === undefined || v === null ? '-' : Array.isArray(v) ? v.join(' ') : String(v));
const secs = (ms: unknown): string => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : '-');

/** Renders one section of an IPCP's state. */
export function renderSection(s: Json, section: Exclude<Section, 'json'>): string {
  switch (section) {
    case 'address':
      return `IPCP ${str(s.name)} (${str(s.type)}, pid ${str(s.pid)}) in layer ${str(s.layer)}${s.address !== undefined ? `, address ${str(s.address)}` : ''}\n`;
    case 'neighbours': {
      const n = arr(s.neighbours);
      if (n.length === 0) return 'Neighbours: none.\n';
      const keys = Object.keys(n[0]!);
      return `Neighbours:\n${table(keys, n.map((r) => keys.map((k) => str(r[k]))))}`;
    }
    case 'lsdb': {
      const l = (s.lsdb ?? {}) as Json;
      const adj = arr(l.adjacencies);
      if (adj.length === 0) return 'Link-state database: empty.\n';
      return `Link-state database:\n${table(['src', 'dst', 'seqno', 'age'], adj.map((a) => [str(a.src), str(a.dst), str(a.seqno), secs(a.ageMs)]))}`;
    }
    case 'pff': {
      const p = arr(s.pff);
      if (p.length === 0) return 'Forwarding table: empty.\n';
      return `Forwarding table:\n${table(['destination', 'next hops'], p.map((e) => [str(e.dst), str(e.nextHops)]))}`;
    }
    case 'dht': {
      const d = (s.dht ?? {}) as Json;
      const contacts = arr(d.contacts);
      const values = arr(d.values);
      let out = `DHT node ${str(d.id)}:\n`;
      out += contacts.length === 0 ? 'Contacts: none.\n' : `Contacts:\n${table(['id', 'address', 'last seen'], contacts.map((c) => [str(c.id), str(c.addr), secs(c.lastSeenMs)]))}`;
      out +=
        values.length === 0
          ? 'Stored names: none.\n'
          : `Stored names:\n${table(['key', 'addresses', 'owned', 'expires'], values.map((v) => [str(v.key), str(v.addrs), v.owned ? 'yes' : 'no', typeof v.expiresAt === 'number' ? new Date(v.expiresAt).toISOString() : str(v.expiresAt)]))}`;
      return out;
    }
    case 'flows': {
      const f = arr(s.flows);
      if (f.length === 0) return 'Flows: none.\n';
      const keys = Object.keys(f[0]!).filter((k) => typeof f[0]![k] !== 'object');
      return `Flows:\n${table(keys, f.map((r) => keys.map((k) => str(r[k]))))}`;
    }
    case 'counters': {
      const c = { plane: s.plane, ...((s.counters ?? {}) as Json) } as Json;
      let out = 'Counters:\n';
      for (const [comp, vals] of Object.entries(c)) {
        if (!vals || typeof vals !== 'object') continue;
        out += `  ${comp}: ${Object.entries(vals as Json).map(([k, v]) => `${k} ${str(v)}`).join(', ')}\n`;
      }
      return out;
    }
  }
}

export async function ipcpInspect(ctx: Ctx, args: string[]): Promise<Status> {
  if (wantsHelp(args)) return ctx.print(usage.ipcpInspect), OK;
  let name: string | undefined;
  const sections: Section[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (matches(a, 'name') && args[i + 1] !== undefined) {
      name = args[++i];
      continue;
    }
    const sec = pick(a, INSPECT_SECTIONS);
    if (sec === undefined) {
      ctx.say(`"${a}" is unknown, try "irm ipcp inspect help".`);
      return FAIL;
    }
    sections.push(sec);
  }
  if (name === undefined) {
    ctx.print(usage.ipcpInspect);
    return FAIL;
  }
  const ipcp = (await listIpcps(ctx))?.find((i) => i.name === name);
  if (!ipcp) {
    ctx.say(`No IPCP named "${name}".`);
    return FAIL;
  }
  const api = await ctx.api();
  if (!api.inspectIpcp) {
    ctx.warn('This IRMd cannot inspect IPCPs.');
    return FAIL;
  }
  const r = await ctx.call((x) => x.inspectIpcp!(ipcp.pid));
  if (!r.ok) {
    ctx.warn(`Failed to inspect IPCP "${name}": ${describe(r.error)}.`);
    return FAIL;
  }
  const state = r.value as Json;
  if (sections.includes('json')) {
    ctx.print(`${JSON.stringify(state, null, 2)}\n`);
    return OK;
  }
  const want = sections.length > 0 ? sections : INSPECT_SECTIONS.filter((x) => x !== 'json' && (x === 'address' || x === 'counters' || x in state));
  ctx.print(want.map((sec) => renderSection(state, sec as Exclude<Section, 'json'>)).join('\n'));
  return OK;
}
