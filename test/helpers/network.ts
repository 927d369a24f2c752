/**
 * Test helper: several o7s systems on this host, each with its own rundir and
 * irmd, joined by a UDP layer: every system's udp4 (or udp6) IPCP binds its own
 * loopback address (127.R.S.1, 127.R.S.2, ... for a random R.S, or ::1 with
 * distinct ports for udp6 not being possible: udp6 networks use one address per
 * system only where the host has them), all on one port. Names are resolved
 * through a shared hosts file that `register()` fills in.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestSystem, type SystemOptions } from './system.js';

export interface NetworkOptions {
  /** Layer name (default `udp`). */
  layer?: string;
  /** UDP port all members use (default: a random one in 20000..39999). */
  port?: number;
  /** Extra bootstrap arguments for every udp IPCP (e.g. ['drop', '0.1']). */
  extra?: string[];
  /** Options of each system's irmd (e.g. its configuration directory). */
  system?: (name: string) => SystemOptions;
}

export class TestNetwork {
  readonly systems = new Map<string, TestSystem>();
  readonly addrs = new Map<string, string>();
  readonly hostsFile: string;
  private readonly dir: string;

  private constructor(readonly layer: string, readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'o7s-net-'));
    this.hostsFile = join(this.dir, 'hosts');
    writeFileSync(this.hostsFile, '# o7s test network\n');
  }

  /** Starts one system per name, each with a udp4 IPCP named `udp` in the layer. */
  static async udp4(names: string[], opts: NetworkOptions = {}): Promise<TestNetwork> {
    const net = new TestNetwork(opts.layer ?? 'udp', opts.port ?? 20000 + Math.floor(Math.random() * 20000));
    const r = 1 + Math.floor(Math.random() * 250);
    const s = 1 + Math.floor(Math.random() * 250);
    try {
      await Promise.all(
        names.map(async (name, i) => {
          const sys = await TestSystem.start(opts.system?.(name));
          net.systems.set(name, sys);
          const ip = `127.${r}.${s}.${i + 1}`;
          net.addrs.set(name, ip);
          await sys.irm([
            'ipcp', 'bootstrap', 'type', 'udp4', 'name', 'udp', 'layer', net.layer,
            'ip', ip, 'port', String(net.port), 'hosts', net.hostsFile, ...(opts.extra ?? []),
          ]);
        }),
      );
    } catch (e) {
      await net.stop();
      throw e;
    }
    return net;
  }

  sys(name: string): TestSystem {
    const s = this.systems.get(name);
    if (!s) throw new Error(`no system ${name} in this network`);
    return s;
  }

  /** Creates `name` on system `at`, registers it in the layer and publishes it in the hosts file. */
  async register(at: string, name: string): Promise<void> {
    const sys = this.sys(at);
    await sys.irm(['name', 'create', name]);
    await sys.irm(['name', 'register', name, 'layer', this.layer]);
    appendFileSync(this.hostsFile, `${this.addrs.get(at)} ${name}\n`);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.systems.values()].map((s) => s.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
