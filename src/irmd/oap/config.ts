/**
 * Per-name security configuration (ARCHITECTURE.md §3.8): where a name's
 * enc.conf, certificate and key live for its server and client roles, the
 * static KEM key files, and loading them into OAP configurations.
 *
 * Defaults under `<config>/security`:
 *   server/<name>/{enc.conf,crt.pem,key.pem,kex.key.pem|kex.key.raw}
 *   client/<name>/{enc.conf,crt.pem,key.pem,kex.srv.pub.pem|kex.srv.pub.raw}
 *   cacert/ (trusted roots), untrusted/ (intermediates, same store)
 * and per name the paths can be overridden (sencpath, scrtpath, skeypath,
 * cencpath, ccrtpath, ckeypath). The files are read again for every
 * allocation, so edits apply without a restart; parsed keys and
 * certificates are cached by (path, digest of the content) to keep the
 * expensive part (an ML-DSA key is re-derived from its seed) off the
 * common path.
 *
 * Errors, as the reference's flow allocation reports them: on the server
 * side credentials fail with EAUTH, enc.conf and KEM key files with
 * ECRYPT; on the client side everything fails with ECRYPT.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, OuroborosError } from '../../common/errors.js';
import { loadEncConf, type SecConfig } from '../../lib/crypt/enc-conf.js';
import { type KexKeyPair, loadKemPrivateKey, loadKemPublicKey } from '../../lib/crypt/kex.js';
import { type Credentials, loadCredentials, loadTrustStore, type TrustStore } from './auth.js';
import type { OapClientConfig, OapServerConfig } from './oap.js';
import { securityDirOf } from '../../common/config-dir.js';

export interface SecurityDirs {
  /** `<config>/security` */
  root: string;
  /** Trusted root CA certificates. */
  caDir: string;
  /** Intermediate CA certificates (loaded into the same store). */
  untrustedDir: string;
  serverDir: string;
  clientDir: string;
}

/** The security directories under a configuration directory (e.g. /etc/ouroboros). */
export function securityDirs(configDir: string): SecurityDirs {
  return securityDirsAt(securityDirOf(configDir));
}

/** The directories under the security directory `root` itself (what `irm security` writes into). */
export function securityDirsAt(root: string): SecurityDirs {
  return {
    root,
    caDir: join(root, 'cacert'),
    untrustedDir: join(root, 'untrusted'),
    serverDir: join(root, 'server'),
    clientDir: join(root, 'client'),
  };
}

export interface SecPaths {
  enc: string;
  crt: string;
  key: string;
}

/** Per-name path overrides, as `irm name create` and irmd.conf name them. */
export interface SecPathOverrides {
  sencpath?: string;
  scrtpath?: string;
  skeypath?: string;
  cencpath?: string;
  ccrtpath?: string;
  ckeypath?: string;
}

export interface NameSecurity {
  name: string;
  server: SecPaths;
  client: SecPaths;
  /** Static KEM private key of the server (`ext` pem: ML-KEM, raw: hybrid). */
  serverKemKey: (ext: 'pem' | 'raw') => string;
  /** Cached static KEM public key of the server, on the client side. */
  clientKemServerPub: (ext: 'pem' | 'raw') => string;
}

const nonEmpty = (s: string | undefined): s is string => typeof s === 'string' && s.length > 0;

/** The security file paths of `name`, defaults filled in where no override is given. */
export function nameSecurity(dirs: SecurityDirs, name: string, o: SecPathOverrides = {}): NameSecurity {
  if (name.length === 0 || name.includes('/') || name === '.' || name === '..') fail('EINVAL', `bad name for security paths: "${name}"`);
  const srv = join(dirs.serverDir, name);
  const cli = join(dirs.clientDir, name);
  return {
    name,
    server: {
      enc: nonEmpty(o.sencpath) ? o.sencpath : join(srv, 'enc.conf'),
      crt: nonEmpty(o.scrtpath) ? o.scrtpath : join(srv, 'crt.pem'),
      key: nonEmpty(o.skeypath) ? o.skeypath : join(srv, 'key.pem'),
    },
    client: {
      enc: nonEmpty(o.cencpath) ? o.cencpath : join(cli, 'enc.conf'),
      crt: nonEmpty(o.ccrtpath) ? o.ccrtpath : join(cli, 'crt.pem'),
      key: nonEmpty(o.ckeypath) ? o.ckeypath : join(cli, 'key.pem'),
    },
    serverKemKey: (ext) => join(srv, `kex.key.${ext}`),
    clientKemServerPub: (ext) => join(cli, `kex.srv.pub.${ext}`),
  };
}

/** The trust store of an IRMd: cacert/ then untrusted/. */
export function loadSecurityTrustStore(dirs: SecurityDirs): TrustStore {
  return loadTrustStore(dirs.caDir, dirs.untrustedDir);
}

// ---- cached loading ---------------------------------------------------------------------------

/**
 * What a file holds, as a digest of its bytes: files are small, reading
 * them is cheap next to parsing keys, and unlike sizes and times (whose
 * granularity is coarse) the digest always sees an edit.
 */
function fileSig(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('base64');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `error:${(e as Error).message}`;
  }
}

/** Memoises a loader by the identity of the files it reads. */
export class SecurityCache {
  private readonly entries = new Map<string, { sig: string; value: unknown }>();

  get<T>(kind: string, paths: string[], load: () => T): T {
    const key = `${kind}\0${paths.join('\0')}`;
    const sig = paths.map((p) => fileSig(p) ?? '-').join('|');
    const hit = this.entries.get(key);
    if (hit && hit.sig === sig) return hit.value as T;
    const value = load();
    this.entries.set(key, { sig, value });
    return value;
  }
}

const defaultCache = new SecurityCache();

function loadCreds(cache: SecurityCache, p: SecPaths): Credentials | undefined {
  return cache.get('creds', [p.crt, p.key], () => loadCredentials(p.crt, p.key));
}

function loadEnc(p: SecPaths): SecConfig {
  try {
    return loadEncConf(p.enc);
  } catch (e) {
    fail('ECRYPT', (e as Error).message);
  }
}

function readKemFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    fail('ECRYPT', `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}`);
  }
}

function withPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OuroborosError && e.message.startsWith(path)) throw e;
    fail('ECRYPT', `${path}: ${(e as Error).message}`);
  }
}

/** Reads the server side of `sec` for one allocation (credentials: EAUTH; enc.conf: ECRYPT). */
export function loadServerConfig(sec: NameSecurity, cache: SecurityCache = defaultCache): OapServerConfig {
  const credentials = loadCreds(cache, sec.server);
  const enc = loadEnc(sec.server);
  return {
    name: sec.name,
    enc,
    credentials,
    staticKemKey: (raw: boolean): KexKeyPair => {
      const path = sec.serverKemKey(raw ? 'raw' : 'pem');
      return cache.get('kem-key', [path], () => withPath(path, () => loadKemPrivateKey(readKemFile(path), raw)));
    },
  };
}

/** Reads the client side of `sec` for one allocation (any failure: ECRYPT, as the reference's client). */
export function loadClientConfig(sec: NameSecurity, cache: SecurityCache = defaultCache): OapClientConfig {
  let credentials: Credentials | undefined;
  try {
    credentials = loadCreds(cache, sec.client);
  } catch (e) {
    fail('ECRYPT', (e as Error).message);
  }
  const enc = loadEnc(sec.client);
  return {
    name: sec.name,
    enc,
    credentials,
    serverKemPublicKey: (raw: boolean): Buffer => {
      const path = sec.clientKemServerPub(raw ? 'raw' : 'pem');
      return cache.get('kem-pub', [path], () => withPath(path, () => loadKemPublicKey(readKemFile(path), raw)));
    },
  };
}
