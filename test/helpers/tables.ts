/**
 * The irm tables as the reference prints them (printf right-aligned columns),
 * written independently of src/tools/irm/table.ts so tests check it.
 */
const IPCP_BORDER = '+---------+----------------------+------------+----------------------+';
const ipcpRow = (pid: string, name: string, type: string, layer: string): string =>
  `| ${pid.padStart(7)} | ${name.padStart(20)} | ${type.padStart(10)} | ${layer.padStart(20)} |`;

/** `irm ipcp list` for rows [pid, name, type, layer]. */
export function ipcpTable(rows: Array<[number, string, string, string]>): string {
  const sorted = [...rows].sort((a, b) => a[0] - b[0]);
  return [IPCP_BORDER, ipcpRow('pid', 'name', 'type', 'layer'), IPCP_BORDER, ...sorted.map(([p, n, t, l]) => ipcpRow(String(p), n, t, l)), IPCP_BORDER].join('\n') + '\n\n';
}

const NAME_BORDER = `+${'-'.repeat(52)}+${'-'.repeat(22)}+`;
const nameRow = (name: string, lb: string): string => `| ${name.padStart(50)} | ${lb.padStart(20)} |`;

/** `irm name list` for rows [name, policy]. */
export function nameTable(rows: Array<[string, string]>): string {
  return [NAME_BORDER, nameRow('name', 'load-balance policy'), NAME_BORDER, ...rows.map(([n, l]) => nameRow(n, l)), NAME_BORDER].join('\n') + '\n';
}
