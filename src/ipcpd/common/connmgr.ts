/**
 * The connection manager of unicast and broadcast IPCPs: every N-1 flow an
 * IPCP makes or accepts starts with a CACEP exchange naming the component
 * (Enrollment, Data Transfer, Management) that will use it. Components
 * register here; the acceptor loop answers incoming flows and hands each to
 * its component; connect() allocates a flow in a lower layer and does the
 * exchange from the other side.
 */
import type { Flow, Process } from '../../lib/api.js';
import type { QosSpec } from '../../lib/qos.js';
import type { Logger } from '../../common/log.js';
import { OuroborosError, fail } from '../../common/errors.js';
import { CEP_RCV_TIMEOUT_MS, CEP_UNKNOWN, cepCompatible, cepMsg, cepRequest, decodeCep, encodeCep, type CepChannel, type CepComponent, type CepMsg } from './cep.js';
/** How long an allocation in the lower layer may take. */
const ALLOC_TIMEOUT_MS = 10000;

export interface Conn {
  flow: Flow;
  /** The peer's CEP message (its address for DT and Management). */
  peer: CepMsg;
  /** The name dialled (outgoing connections), for disconnect. */
  dst: string | undefined;
}

export interface ConnComponent {
  /** Our CEP message for this component, without the address (filled in when sent). */
  readonly cep: CepComponent;
  /** A connection was made (in either direction) and is now the component's. */
  onConn(conn: Conn): void;
}

export class ConnMgr {
  private readonly comps = new Map<string, ConnComponent>();
  private running = false;
  private readonly outgoing = new Map<string, Conn>();
  readonly counters = { accepted: 0, refused: 0, connected: 0, failed: 0 };

  constructor(
    private readonly proc: Process,
    private readonly log: Logger,
    /** Our address in the layer (0 until known). */
    private readonly address: () => number,
  ) {}

  register(comp: ConnComponent): void {
    this.comps.set(comp.cep.compName, comp);
  }

  private ours(comp: ConnComponent): CepMsg {
    const usesAddress = comp.cep.protocol !== '' && comp.cep.compName !== 'Enrollment';
    return cepMsg(comp.cep, usesAddress ? this.address() : 0);
  }

  /** Starts accepting N-1 flows (each IPCP is bound to its own and its layer's name below). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.acceptLoop();
  }

  stop(): void {
    this.running = false;
  }

  private async acceptLoop(): Promise<void> {
    while (this.running) {
      let flow: Flow;
      try {
        flow = await this.proc.flowAccept();
      } catch (e) {
        if (!this.running) return;
        this.log.dbg(`Accepting an N-1 flow failed: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100).unref());
        continue;
      }
      this.answer(flow).catch((e: Error) => {
        this.log.warn(`Handing over a connection failed: ${e.message}`);
        void flow.dealloc();
      });
    }
  }

  private async answer(flow: Flow): Promise<void> {
    let theirs: CepMsg;
    try {
      theirs = await readCep(flow);
    } catch (e) {
      this.counters.refused++;
      this.log.dbg(`Connection without a valid CEP message: ${(e as Error).message}`);
      void flow.dealloc();
      return;
    }
    const comp = this.comps.get(theirs.compName);
    if (!comp || !this.running) {
      this.counters.refused++;
      this.log.warn(`Connection for unknown component "${theirs.compName}" refused.`);
      await flow.write(encodeCep(CEP_UNKNOWN)).catch(() => {});
      void flow.dealloc();
      return;
    }
    try {
      await flow.write(encodeCep(this.ours(comp)));
    } catch {
      void flow.dealloc();
      return;
    }
    if (!cepCompatible(comp.cep, theirs)) {
      this.counters.refused++;
      this.log.warn(`Connection for ${theirs.compName} speaks ${theirs.protocol}/${theirs.prefVersion}; refused.`);
      void flow.dealloc();
      return;
    }
    this.counters.accepted++;
    comp.onConn({ flow, peer: theirs, dst: undefined });
  }

  /**
   * Allocates a flow to `dst` in a lower layer for component `compName` and
   * hands it to the component, unless `keep` (the caller uses it itself, as
   * an enrollee does).
   */
  async connect(dst: string, compName: string, qos: QosSpec, keep = false): Promise<Conn> {
    const comp = this.comps.get(compName);
    if (!comp) fail('EINVAL', `no component ${compName} in this IPCP`);
    let flow: Flow;
    try {
      flow = await this.proc.flowAlloc(dst, { qos, timeout: ALLOC_TIMEOUT_MS });
    } catch (e) {
      this.counters.failed++;
      if (e instanceof OuroborosError) throw new OuroborosError(e.code, `cannot reach ${dst} for ${compName}: ${e.message}`);
      throw e;
    }
    let theirs: CepMsg;
    try {
      theirs = await cepRequest(channel(flow), this.ours(comp));
    } catch (e) {
      this.counters.failed++;
      void flow.dealloc();
      throw e;
    }
    this.counters.connected++;
    const conn: Conn = { flow, peer: theirs, dst };
    if (keep) return conn;
    const key = `${compName}\0${dst}`;
    const before = this.outgoing.get(key);
    if (before && !before.flow.closed) void before.flow.dealloc(); // a new connection replaces the old one
    this.outgoing.set(key, conn);
    comp.onConn(conn);
    return conn;
  }

  /** Deallocates the connection of `compName` made to `dst`. */
  async disconnect(dst: string, compName: string): Promise<void> {
    const key = `${compName}\0${dst}`;
    const conn = this.outgoing.get(key);
    this.outgoing.delete(key);
    if (!conn || conn.flow.closed) fail('ENOENT', `no ${compName} connection to ${dst}`);
    await conn.flow.dealloc();
  }
}

/** A flow as a CEP channel: each read with its own timeout, the flow's own restored after. */
function channel(flow: Flow): CepChannel {
  return {
    write: (b) => flow.write(b),
    async read(timeoutMs) {
      const before = flow.readTimeout;
      flow.readTimeout = timeoutMs;
      try {
        return await flow.read();
      } finally {
        if (!flow.closed) flow.readTimeout = before;
      }
    },
  };
}

/** Reads one CEP message with the reference's timeout. */
async function readCep(flow: Flow): Promise<CepMsg> {
  const m = decodeCep(await channel(flow).read(CEP_RCV_TIMEOUT_MS));
  if (typeof m === 'string') fail('EPROTO', m);
  return m;
}
