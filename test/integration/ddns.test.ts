/**
 * Dynamic DNS for UDP layers against a real BIND 9, as the reference does it
 * (ARCHITECTURE.md §6.2, WIRE.md §13): `dns ADDR` at bootstrap, `irm name
 * register` publishes `<md5 hex> 86400 A <ip>` with nsupdate, other systems
 * resolve the hex name with nslookup, `irm name unregister` deletes it.
 *
 * The reference's `dns` option is an address only (port 53), so named runs in
 * a namespace of its own on port 53: systems a and b each have a link to the
 * `dns` namespace, which also routes between them (a — dns — b). named is
 * authoritative for the root zone (the reference's records are bare hex
 * names) and takes updates from the test's addresses. No hosts file is given
 * to the IPCPs: names are found through DNS only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsNetwork } from '../helpers/netns.js';
import { until, type Child } from '../helpers/system.js';

/** Why this cannot run here, or undefined. */
async function unavailable(): Promise<string | undefined> {
  const ns = await NetnsNetwork.unavailable();
  if (ns) return ns;
  const missing = ['named', 'nsupdate', 'nslookup', 'dig'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) return `BIND 9 is not installed (missing ${missing.join(', ')}): apt-get install bind9 bind9-dnsutils`;
  return undefined;
}

// In CI (.ci/run installs BIND 9) a missing named is a failure, not a reason to skip.
const skip = process.env.CI ? undefined : await unavailable();
const hex = (name: string): string => createHash('md5').update(name).digest('hex');

/** named.conf: authoritative for ".", updates from the test's networks, nothing else. */
function namedConf(dir: string): string {
  return `options {
  directory "${dir}";
  listen-on port 53 { any; };
  listen-on-v6 port 53 { any; };
  pid-file none;
  session-keyfile "${dir}/session.key";
  recursion no;
  dnssec-validation no;
  allow-query { any; };
  notify no;
};
controls { };
zone "." {
  type master;
  file "${dir}/root.zone";
  allow-update { 127.0.0.1; ::1; 10.0.0.0/8; fd00::/8; };
};
`;
}

const ROOT_ZONE = `$TTL 300
.	IN SOA	ns. hostmaster. 1 3600 600 86400 300
.	IN NS	ns.
ns.	IN A	127.0.0.1
`;

for (const family of [4, 6] as const) {
  const rr = family === 4 ? 'A' : 'AAAA';
  test(`dynamic DNS with BIND 9 over udp${family}: register publishes <md5 hex> 86400 ${rr}, the other system resolves and pings, unregister deletes it`, { skip, timeout: 60000 }, async () => {
    const net = await NetnsNetwork.create({
      systems: ['a', 'b'],
      bare: ['dns'],
      family,
      links: [['a', 'dns'], ['b', 'dns']],
      dns: 'dns',
      hosts: false,
    });
    // Debian's AppArmor profile for named allows /var/cache/bind only: keep named's files there when it exists.
    const dir = existsSync('/var/cache/bind') ? mkdtempSync('/var/cache/bind/o7s-named-') : join(net.dir, 'named');
    let named: Child | undefined;
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'named.conf'), namedConf(dir));
      writeFileSync(join(dir, 'root.zone'), ROOT_ZONE);
      named = net.spawnIn('dns', 'named', ['-g', '-c', join(dir, 'named.conf')]);
      // "running as: ..." comes first; the line that ends in "running" means it serves.
      // An installed named that does not start is a failure, not a reason to skip.
      await named.waitFor(/ running$/m, 15000);
      const server = net.addr('dns');
      const dig = async (name: string): Promise<string> => {
        const r = await net.exec('a', 'dig', [`@${server}`, '+noall', '+answer', '+time=2', '+tries=1', name, rr]);
        assert.equal(r.code, 0, `dig failed: ${r.stderr}`);
        return r.stdout.trim();
      };

      const a = net.sys('a');
      const b = net.sys('b');
      const NAME = `ddns${family}.oping.b`;
      const HEX = hex(NAME);
      await a.irmd.waitFor(new RegExp(`Bound to IP address ${net.addr('a').replace(/\./g, '\\.')} port 3435\\.`));

      // Before registration nobody can resolve the name.
      assert.equal(await dig(HEX), '', 'no record before registration');
      const before = await a.run('oping', ['-n', NAME, '-c', '1', '-i', '50'], 20000);
      assert.notEqual(before.code, 0, `oping to an unregistered name succeeded:\n${before.stdout}`);

      // Register on b: the IPCP adds <hex> 86400 A <b's address> with nsupdate.
      const srv = b.spawn('oping', ['-l']);
      await srv.waitFor(/Ouroboros ping server started\./);
      await b.irm(['name', 'create', NAME]);
      await b.irm(['name', 'register', NAME, 'layer', 'udp']);
      await b.irm(['bind', 'process', String(srv.pid), 'name', NAME]);
      const answer = await until(async () => (await dig(HEX)) || undefined, 10000, `the ${rr} record of ${HEX}`);
      assert.match(answer, new RegExp(`^${HEX}\\.\\s+86400\\s+IN\\s+${rr}\\s+${net.addr('b').replace(/\./g, '\\.')}$`), answer);

      // a resolves it through the DNS server (nslookup) and pings b.
      const r = await a.run('oping', ['-n', NAME, '-c', '3', '-i', '50'], 20000);
      assert.equal(r.code, 0, r.stdout + r.stderr + `\nirmd of a:\n${a.log}`);
      assert.match(r.stdout, /3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss/);

      // Unregister: the IPCP deletes the record.
      await b.irm(['name', 'unregister', NAME, 'layer', 'udp']);
      await until(async () => (await dig(HEX)) === '', 10000, `the ${rr} record of ${HEX} to be deleted`);
    } catch (e) {
      if (e instanceof Error && named) e.message += `\nnamed:\n${named.out}${named.err}`.slice(-4000);
      throw e;
    } finally {
      await named?.stop('SIGTERM', 3000);
      await net.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
