/**
 * How a unicast or broadcast IPCP uses the layers below it: it announces
 * itself to irmd as a process on its own data plane (before it reports
 * ready, so that irmd can bind names to it at once), and runs a connection
 * manager over that process's flows.
 */
import type { Ipcp } from './ipcp.js';
import { ProcessImpl } from '../../lib/process.js';
import { fail } from '../../common/errors.js';
import { ConnMgr } from './connmgr.js';

export class LowerLayers {
  private proc: ProcessImpl | undefined;
  private cm: ConnMgr | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly ipcp: Ipcp,
    /** The program name announced (ipcpd-unicast, ipcpd-broadcast). */
    private readonly prog: string,
    /** Our address in the layer, for CEP messages (0 until known). */
    private readonly address: () => number,
    /** Registers the IPCP's components with the connection manager. */
    private readonly setup: (cm: ConnMgr) => void,
  ) {}

  /** IpcpOps.init: announces the process and creates the connection manager. */
  init(): Promise<void> {
    this.starting ??= (async () => {
      try {
        this.proc = await ProcessImpl.attach(this.ipcp.init.rundir, this.ipcp.plane, this.prog);
      } catch (e) {
        fail('EIRMD', `cannot announce this IPCP as a process: ${(e as Error).message}`);
      }
      this.cm = new ConnMgr(this.proc, this.ipcp.log, this.address);
      this.setup(this.cm);
    })();
    return this.starting;
  }

  /** The connection manager, once init() is done. */
  async connmgr(): Promise<ConnMgr> {
    await this.starting;
    if (!this.cm) fail('EIPCP', 'the IPCP could not announce itself to the IRMd');
    return this.cm;
  }

  get counters(): ConnMgr['counters'] | undefined {
    return this.cm?.counters;
  }

  async close(): Promise<void> {
    this.cm?.stop();
    await this.proc?.close();
  }
}
