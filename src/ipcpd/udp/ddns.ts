/**
 * Dynamic DNS for UDP layers, as the reference does it: `nsupdate` to add and
 * delete `<hash hex> 86400 A|AAAA <ip>` records on the configured server, and
 * `nslookup <hash hex> <server>` to resolve.
 */
import { execFile, spawn } from 'node:child_process';
import { isIP } from 'node:net';
import type { Logger } from '../../common/log.js';
import type { Ddns } from './directory.js';

const TTL = 86400;

function nsupdate(server: string, commands: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('nsupdate', [], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', (e) => reject(new Error(`nsupdate: ${e.message} (install bind9-dnsutils)`)));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nsupdate exited ${code}: ${err.trim()}`))));
    p.stdin.end(`server ${server}\n${commands}send\nquit\n`);
  });
}

export function ddnsClient(server: string, log: Logger): Ddns {
  return {
    async add(hex, ip) {
      const rr = isIP(ip) === 6 ? 'AAAA' : 'A';
      try {
        await nsupdate(server, `update add ${hex} ${TTL} ${rr} ${ip}\n`);
      } catch (e) {
        log.err(`Failed to register ${hex} with DNS server ${server}: ${(e as Error).message}`);
        throw e;
      }
    },
    async remove(hex, ip) {
      const rr = isIP(ip) === 6 ? 'AAAA' : 'A';
      try {
        await nsupdate(server, `update delete ${hex} ${rr}\n`);
      } catch (e) {
        log.warn(`Failed to unregister ${hex} from DNS server ${server}: ${(e as Error).message}`);
      }
    },
    lookup(hex) {
      return new Promise((resolve) => {
        execFile('nslookup', [hex, server], { timeout: 2000 }, (err, stdout) => {
          if (err) return resolve(undefined);
          const addrs = [...stdout.matchAll(/^Address:\s*([^\s#]+)\s*$/gm)].map((m) => m[1]!);
          const last = addrs.at(-1);
          resolve(last && last !== server ? last : undefined);
        });
      });
    },
  };
}
