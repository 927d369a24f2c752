/** The `irm ipcp list` and `irm name list` tables, laid out as the reference prints them. */
import type { IpcpListEntry, NameInfo } from '../../lib/irm-api.js';
import { IpcpType, LoadBalance } from '../../common/ipcp-types.js';
import { matches } from './match.js';

/** Right-aligns `s` in a field of `width` bytes, never truncating (printf `%<width>s`). */
export function rpad(s: string, width: number): string {
  const len = Buffer.byteLength(s, 'utf8');
  return len >= width ? s : ' '.repeat(width - len) + s;
}

/** IPCP type as shown in the table (unknown values as `UNKNOWN`). */
export function typeName(type: number): string {
  switch (type) {
    case IpcpType.UNICAST: return 'unicast';
    case IpcpType.BROADCAST: return 'broadcast';
    case IpcpType.ETH_LLC: return 'eth-llc';
    case IpcpType.ETH_DIX: return 'eth-dix';
    case IpcpType.UDP4: return 'udp4';
    case IpcpType.UDP6: return 'udp6';
    case IpcpType.LOCAL: return 'local';
    default: return 'UNKNOWN';
  }
}

/** Load-balancing policy as shown in the table. */
export function lbName(lb: number): string {
  switch (lb) {
    case LoadBalance.ROUND_ROBIN: return 'round-robin';
    case LoadBalance.SPILL: return 'spillover';
    default: return 'UNKNOWN';
  }
}

const IPCP_BORDER = '+---------+----------------------+------------+----------------------+\n';

function ipcpRow(pid: string, name: string, type: string, layer: string): string {
  return `| ${rpad(pid, 7)} | ${rpad(name, 20)} | ${rpad(type, 10)} | ${rpad(layer, 20)} |\n`;
}

/** The full `irm ipcp list` output. */
export function ipcpTable(ipcps: readonly IpcpListEntry[]): string {
  if (ipcps.length === 0) return 'No IPCPs in system.\n\n';
  let s = IPCP_BORDER + ipcpRow('pid', 'name', 'type', 'layer') + IPCP_BORDER;
  for (const i of ipcps) s += ipcpRow(String(i.pid), i.name, typeName(i.type), i.layer);
  return s + IPCP_BORDER + '\n';
}

const NAME_BORDER = `+${'-'.repeat(52)}+${'-'.repeat(22)}+\n`;

function nameRow(name: string, lb: string): string {
  return `| ${rpad(name, 50)} | ${rpad(lb, 20)} |\n`;
}

/**
 * The full `irm name list` output. With a filter, a name is shown when the
 * name is a prefix of the filter (the reference's test, reversed on purpose
 * here to stay compatible).
 */
export function nameTable(names: readonly NameInfo[], filter?: string): string {
  if (names.length === 0) return 'No names in system.\n\n';
  let s = NAME_BORDER + nameRow('name', 'load-balance policy') + NAME_BORDER;
  for (const n of names) {
    if (filter !== undefined && !matches(n.name, filter)) continue;
    s += nameRow(n.name, lbName(n.lb));
  }
  return s + NAME_BORDER;
}
