/**
 * Who is privileged (DESIGN.md §3, ARCHITECTURE.md §3.7): uid 0, or a
 * member of the group `ouroboros` (as primary or supplementary group).
 * Privileged processes share one class (the reference's GSPP users: flows
 * record uid 0 for them); every other user is a class of its own.
 *
 * Membership is what the group database says (as the reference's
 * getgrouplist), or, for a peer known by pid, a supplementary group the
 * process has (/proc/<pid>/status).
 */
import { readFileSync } from 'node:fs';

export const PRIVILEGED_GROUP = 'ouroboros';

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function readDb(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0 && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

function group(name: string): GroupEntry | undefined {
  for (const f of readDb('/etc/group')) {
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) {
      return { name, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m.length > 0) };
    }
  }
  return undefined;
}

function userName(uid: number): { name: string; gid: number } | undefined {
  for (const f of readDb('/etc/passwd')) {
    if (f[2] === String(uid) && f[0] !== undefined) return { name: f[0], gid: Number(f[3]) };
  }
  return undefined;
}

/** Supplementary groups of a live process, from /proc (undefined when unreadable). */
function procGroups(pid: number): number[] | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const line = status.split('\n').find((l) => l.startsWith('Groups:'));
    if (line === undefined) return undefined;
    return line
      .slice('Groups:'.length)
      .trim()
      .split(/\s+/)
      .filter((s) => s.length > 0)
      .map(Number);
  } catch {
    return undefined;
  }
}

/** The gid of group `ouroboros`, or undefined when the group does not exist. */
export function privilegedGid(): number | undefined {
  return group(PRIVILEGED_GROUP)?.gid;
}

export interface Credentials {
  uid: number;
  gid: number;
  /** The process, when known: its real supplementary groups count. */
  pid?: number | undefined;
}

/** True for uid 0 and for members of the group `ouroboros`. */
export function isPrivileged(c: Credentials): boolean {
  if (c.uid === 0) return true;
  const g = group(PRIVILEGED_GROUP);
  if (!g) return false;
  if (c.gid === g.gid) return true;
  if (c.pid !== undefined && procGroups(c.pid)?.includes(g.gid)) return true;
  const u = userName(c.uid);
  return u !== undefined && (u.gid === g.gid || g.members.includes(u.name));
}

/** Whether this process is privileged. */
export function selfPrivileged(): boolean {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return true;
  const gid = privilegedGid();
  if (gid === undefined) return false;
  return process.getgid?.() === gid || (process.getgroups?.() ?? []).includes(gid);
}

/** The class a process's flows belong to: 0 for privileged processes, else the uid (the reference's flow uid). */
export const userClass = (uid: number, privileged: boolean): number => (privileged ? 0 : uid);
