/**
 * OAP in the IRMd (ARCHITECTURE.md §3.6, §3.8; WIRE.md §10): where the
 * security files are, the trust store, the replay memory, and the three
 * OAP steps with the per-name configuration read afresh for every
 * allocation (edits to enc.conf, certificates, keys and the CA directories
 * apply to the next allocation, no restart needed).
 *
 * Errors, as the reference's IRMd reports them:
 *  - client preparation fails: EBADF ("failed to prepare OAP");
 *  - server processing: EAUTH for credentials, malformed, stale, replayed
 *    or badly signed requests; ECRYPT when no key exchange is agreed (or
 *    the server's enc.conf is bad);
 *  - client completion: ECRYPT.
 */
import { createHash } from 'node:crypto';
import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, systemClock } from '../common/clock.js';
import { fail, OuroborosError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { TrustStore, parseCertificates } from './oap/auth.js';
import {
  loadClientConfig,
  loadServerConfig,
  nameSecurity,
  SecurityCache,
  securityDirs,
  type NameSecurity,
  type SecPathOverrides,
  type SecurityDirs,
} from './oap/config.js';
import {
  oapClientComplete,
  oapClientPrepare,
  oapServerProcess,
  type FlowSecurity,
  type OapClientState,
  type OapContext,
  type OapServerResult,
} from './oap/oap.js';
import { OAP_REPLAY_WINDOW_MS, ReplayGuard } from './oap/replay.js';
import type { SecurityPaths } from './registry/names.js';

/** The per-name overrides a name entry keeps, in the OAP configuration's terms. */
export function overridesOf(sec: Partial<SecurityPaths> | undefined): SecPathOverrides {
  if (!sec) return {};
  return {
    sencpath: sec.serverEnc,
    scrtpath: sec.serverCrt,
    skeypath: sec.serverKey,
    cencpath: sec.clientEnc,
    ccrtpath: sec.clientCrt,
    ckeypath: sec.clientKey,
  };
}

export interface IrmdSecurityInit {
  /** The configuration directory (its `security/` subdirectory holds the files). */
  configDir: string;
  log: Logger;
  clock?: Clock;
}

/** The regular files of the CA directories (each directory's by name), read once, and a digest of names and bytes. */
function readCaDirs(dirs: string[]): { sig: string; files: { path: string; bytes: Buffer }[] } {
  const h = createHash('sha256');
  const files: { path: string; bytes: Buffer }[] = [];
  for (const d of dirs) {
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      h.update(`${d}:-\0`);
      continue;
    }
    for (const e of entries) {
      try {
        const path = join(d, e.name);
        // The entry's type saves a stat for plain files; links and the rest are followed as before.
        if (!(e.isFile() || (!e.isDirectory() && statSync(path).isFile()))) continue;
        const bytes = readFileSync(path);
        h.update(`${path}\0`).update(bytes);
        files.push({ path, bytes });
      } catch {
        /* vanished meanwhile */
      }
    }
  }
  return { sig: h.digest('base64'), files };
}

export class IrmdSecurity {
  readonly dirs: SecurityDirs;
  readonly replay: ReplayGuard;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly cache = new SecurityCache();
  private trust = new TrustStore();
  private trustSig: string | undefined;

  constructor(init: IrmdSecurityInit) {
    this.dirs = securityDirs(init.configDir);
    this.clock = init.clock ?? systemClock;
    this.log = init.log;
    this.replay = new ReplayGuard({ clock: this.clock });
  }

  /**
   * The trust store (cacert/ roots and untrusted/ intermediates), reloaded
   * when the directories changed. A file that does not parse is skipped
   * with a warning, as the reference's IRMd skips CA files it cannot load.
   */
  trustStore(): TrustStore {
    const { sig, files } = readCaDirs([this.dirs.caDir, this.dirs.untrustedDir]);
    if (sig === this.trustSig) return this.trust;
    const store = new TrustStore();
    for (const { path, bytes } of files) {
      try {
        for (const c of parseCertificates(bytes)) store.add(c);
      } catch (e) {
        this.log.warn(`Failed to load CA certificate ${path}: ${(e as Error).message}`);
      }
    }
    if (this.trustSig !== undefined || store.size > 0) this.log.info(`Loaded ${store.size} CA certificate(s) from ${this.dirs.root}.`);
    this.trust = store;
    this.trustSig = sig;
    return store;
  }

  /**
   * The context of one OAP step. The trust store is looked up (and its
   * directories read) only when the step checks a peer certificate: a
   * request carries none to check, and neither do unauthenticated peers.
   */
  private oapContext(more: Omit<OapContext, 'trust' | 'clock'> = {}): OapContext {
    const self = this;
    let trust: TrustStore | undefined;
    return {
      ...more,
      get trust(): TrustStore {
        trust ??= self.trustStore();
        return trust;
      },
      clock: this.clock,
    };
  }

  /** The security files of `name` (defaults under the security directory, overrides from the name). */
  files(name: string, overrides?: SecPathOverrides): NameSecurity {
    return nameSecurity(this.dirs, name, overrides);
  }

  /** Client side, step 1: the request for a flow to `name`. Throws EBADF. */
  clientPrepare(name: string, overrides?: SecPathOverrides): OapClientState {
    try {
      const cfg = loadClientConfig(this.files(name, overrides), this.cache);
      return oapClientPrepare(this.oapContext(), cfg);
    } catch (e) {
      this.log.err(`Failed to prepare OAP request for ${name}: ${(e as Error).message}`);
      fail('EBADF', `cannot prepare the flow's authentication for ${name}: ${(e as Error).message}`);
    }
  }

  /**
   * Server side: processes the request for `name` that came through a layer
   * with maximum packet lifetime `mplMs`. Throws EAUTH or ECRYPT.
   */
  serverProcess(name: string, overrides: SecPathOverrides | undefined, request: Uint8Array, mplMs: number): OapServerResult {
    try {
      const cfg = loadServerConfig(this.files(name, overrides), this.cache);
      const replayWindowMs = Math.max(OAP_REPLAY_WINDOW_MS, mplMs);
      const r = oapServerProcess(this.oapContext({ replay: this.replay, replayWindowMs }), cfg, request);
      this.log.info(`OAP request processed for ${name}${r.peerName ? ` (client ${r.peerName})` : ''}${r.cipherNid ? ', encrypted' : ''}.`);
      return r;
    } catch (e) {
      const code = e instanceof OuroborosError && e.code === 'ECRYPT' ? 'ECRYPT' : 'EAUTH';
      this.log.err(`OAP processing failed for ${name}: ${(e as Error).message}`);
      fail(code, `${name}: ${(e as Error).message}`);
    }
  }

  /** Client side, step 2: checks the response and derives the key. Throws ECRYPT. */
  clientComplete(st: OapClientState, response: Uint8Array): FlowSecurity {
    try {
      return oapClientComplete(this.oapContext(), st, response);
    } catch (e) {
      this.log.err(`OAP completion failed for ${st.name}: ${(e as Error).message}`);
      fail('ECRYPT', `${st.name}: ${(e as Error).message}`);
    }
  }
}
