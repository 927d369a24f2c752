/**
 * Name resolution of a UDP layer, as the reference: a name is known by the
 * lowercase hex of its MD5 hash. Order: the cache; an o7s hosts file
 * (`hosts FILE`: lines `ADDRESS NAME...`, NAME a service name or the hex of its
 * hash); dynamic DNS when a DNS server is configured; else the system resolver
 * (/etc/hosts, DNS) on the hex name. Answers are cached.
 */
import { lookup } from 'node:dns/promises';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { HashAlgo, hashName } from '../../common/hash.js';
import type { Logger } from '../../common/log.js';
import { HashSet } from '../common/shim-registry.js';

export interface Ddns {
  add(hex: string, ip: string): Promise<void>;
  remove(hex: string, ip: string): Promise<void>;
  lookup(hex: string): Promise<string | undefined>;
}

export interface DirectoryInit {
  family: 4 | 6;
  ownIp: string;
  hostsFile?: string | undefined;
  ddns?: Ddns | undefined;
  log: Logger;
}

const HEX32 = /^[0-9a-f]{32}$/;

/** Parses a hosts-format file into hash hex -> address. Bad lines are skipped and returned. */
export function parseHosts(text: string, family: 4 | 6): { map: Map<string, string>; bad: number[] } {
  const map = new Map<string, string>();
  const bad: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [addr, ...names] = line.split(/\s+/);
    if (!addr || names.length === 0 || isIP(addr) !== family) {
      if (addr && isIP(addr) === 0) bad.push(i + 1);
      else if (names.length === 0) bad.push(i + 1);
      return;
    }
    for (const n of names) {
      const hex = HEX32.test(n) ? n : Buffer.from(hashName(HashAlgo.MD5, n)).toString('hex');
      if (!map.has(hex)) map.set(hex, addr);
    }
  });
  return { map, bad };
}

export class UdpDirectory {
  readonly local = new HashSet();
  private readonly cache = new Map<string, string>();
  private hosts = new Map<string, string>();
  private hostsMtime = -1;

  constructor(private readonly init: DirectoryInit) {}

  private loadHosts(): void {
    const file = this.init.hostsFile;
    if (!file) return;
    try {
      const st = statSync(file);
      if (st.mtimeMs === this.hostsMtime) return;
      const { map, bad } = parseHosts(readFileSync(file, 'utf8'), this.init.family);
      this.hosts = map;
      this.hostsMtime = st.mtimeMs;
      for (const l of bad) this.init.log.warn(`Ignoring line ${l} of ${file}: expected "ADDRESS NAME".`);
    } catch (e) {
      this.init.log.warn(`Cannot read hosts file ${file}: ${(e as Error).message}`);
    }
  }

  async reg(hash: Uint8Array): Promise<void> {
    this.local.add(hash);
    if (this.init.ddns) await this.init.ddns.add(Buffer.from(hash).toString('hex'), this.init.ownIp);
  }

  async unreg(hash: Uint8Array): Promise<void> {
    this.local.delete(hash);
    if (this.init.ddns) await this.init.ddns.remove(Buffer.from(hash).toString('hex'), this.init.ownIp);
  }

  /** The address serving `hash`, or undefined. */
  async resolve(hash: Uint8Array): Promise<string | undefined> {
    const hex = Buffer.from(hash).toString('hex');
    const cached = this.cache.get(hex);
    if (cached) return cached;
    this.loadHosts();
    const fromHosts = this.hosts.get(hex);
    if (fromHosts) return fromHosts; // not cached: the file may change
    let addr: string | undefined;
    if (this.init.ddns) addr = await this.init.ddns.lookup(hex);
    if (!addr && !this.init.ddns && this.local.has(hash)) addr = this.init.ownIp;
    if (!addr && !this.init.ddns) {
      try {
        addr = (await lookup(hex, { family: this.init.family })).address;
      } catch {
        addr = undefined;
      }
    }
    if (addr) {
      this.cache.set(hex, addr);
      this.init.log.dbg(`Resolved ${hex} to ${addr}.`);
    }
    return addr;
  }
}
