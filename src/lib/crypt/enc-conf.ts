/**
 * enc.conf, the per-name encryption configuration (WIRE.md §10.7), read
 * as the reference reads it: lines starting with '#' and empty lines are
 * skipped; a line that is just `none` turns encryption off (and ends the
 * file); otherwise `key = value`, both trimmed, lines without '=' and
 * unknown keys ignored, an unknown value is an error. A file that exists
 * starts from the defaults (prime256v1, aes-256-gcm, HKDF-SHA256, SHA-256
 * digest, server encapsulation); a missing file means no key exchange.
 *
 * Differences: a line longer than 255 characters is an error here (the
 * reference would silently split it), and ignored lines can be reported
 * through `warn`.
 */
import { readFileSync } from 'node:fs';
import { fail } from '../../common/errors.js';
import {
  CIPHERS,
  CipherNid,
  cipherByName,
  cipherInfo,
  DIGESTS,
  DigestNid,
  digestByName,
  digestInfo,
  isKem,
  KEXES,
  kexByName,
  KexNid,
  kexInfo,
  NID_UNDEF,
} from './nid.js';

export type KemMode = 'server' | 'client';

/** One side's security configuration as NIDs (0 = none). */
export interface SecConfig {
  /** Key exchange NID; 0 = no key exchange, so no encryption. */
  kex: number;
  /** Who encapsulates for KEMs: 'server' (default) or 'client' (to the server's static key). */
  kemMode: KemMode;
  cipher: number;
  kdf: number;
  /** Digest for signatures and the request hash. */
  digest: number;
}

/** No enc.conf, or `none`. */
export const NO_ENCRYPTION: Readonly<SecConfig> = Object.freeze({
  kex: NID_UNDEF,
  kemMode: 'server',
  cipher: NID_UNDEF,
  kdf: NID_UNDEF,
  digest: NID_UNDEF,
});

/** What an existing but empty enc.conf means. */
export const DEFAULT_SEC_CONFIG: Readonly<SecConfig> = Object.freeze({
  kex: KexNid.PRIME256V1,
  kemMode: 'server',
  cipher: CipherNid.AES_256_GCM,
  kdf: DigestNid.SHA256,
  digest: DigestNid.SHA256,
});

/** The longest line the reference reads in one piece. */
export const MAX_LINE = 255;

export interface ParseOptions {
  /** Name used in error messages (a path). */
  source?: string;
  /** Told about lines that are ignored (no '=', unknown key). */
  warn?: (msg: string) => void;
}

const KEX_NAMES = KEXES.map((k) => k.name);
const CIPHER_NAMES = CIPHERS.map((c) => c.name);
const DIGEST_NAMES = DIGESTS.map((d) => d.name);

const ASCII_SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;
const trim = (s: string) => s.replace(ASCII_SPACE, '');

/** Parses the text of an enc.conf; throws EINVAL naming the line for a bad value. */
export function parseEncConf(text: string, opts: ParseOptions = {}): SecConfig {
  const src = opts.source ?? 'enc.conf';
  const cfg: SecConfig = { ...DEFAULT_SEC_CONFIG };
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const where = `${src}:${i + 1}`;
    if (line.length > MAX_LINE) fail('EINVAL', `${where}: line longer than ${MAX_LINE} characters`);
    if (line.length === 0 || line[0] === '#') continue;
    if (trim(line) === 'none') return { ...NO_ENCRYPTION };
    const eq = line.indexOf('=');
    if (eq < 0) {
      if (trim(line) !== '') opts.warn?.(`${where}: ignored line without '='`);
      continue;
    }
    const key = trim(line.slice(0, eq));
    const value = trim(line.slice(eq + 1));
    const bad = (what: string, choices: readonly string[]): never =>
      fail('EINVAL', `${where}: unknown ${what} "${value}" (one of: ${choices.join(', ')})`);
    switch (key) {
      case 'kex': {
        const k = kexByName(value);
        if (!k) bad('key exchange', KEX_NAMES);
        cfg.kex = k!.nid;
        break;
      }
      case 'cipher': {
        const c = cipherByName(value);
        if (!c) bad('cipher', CIPHER_NAMES);
        cfg.cipher = c!.nid;
        break;
      }
      case 'kdf': {
        const d = digestByName(value);
        if (!d) bad('kdf', DIGEST_NAMES);
        cfg.kdf = d!.nid;
        break;
      }
      case 'digest': {
        const d = digestByName(value);
        if (!d) bad('digest', DIGEST_NAMES);
        cfg.digest = d!.nid;
        break;
      }
      case 'kem_mode':
        if (value !== 'server' && value !== 'client') bad('kem_mode', ['server', 'client']);
        cfg.kemMode = value as KemMode;
        break;
      default:
        opts.warn?.(`${where}: ignored unknown key "${key}"`);
    }
  }
  return cfg;
}

/** Reads an enc.conf; a missing file means no encryption (NO_ENCRYPTION). */
export function loadEncConf(path: string, opts: Omit<ParseOptions, 'source'> = {}): SecConfig {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...NO_ENCRYPTION };
    fail('EINVAL', `${path}: ${(e as Error).message}`);
  }
  return parseEncConf(text, { ...opts, source: path });
}

/** Whether the configured key exchange is a KEM used in client-encapsulation mode. */
export function isClientEncap(cfg: SecConfig): boolean {
  const k = kexInfo(cfg.kex);
  return k !== undefined && isKem(k) && cfg.kemMode === 'client';
}

/** Renders a configuration back as enc.conf text (for tools and tests). */
export function formatEncConf(cfg: SecConfig): string {
  if (cfg.kex === NID_UNDEF) return 'none\n';
  const name = (n: number, f: (n: number) => { name: string } | undefined) => f(n)?.name ?? String(n);
  return [
    `kex = ${name(cfg.kex, kexInfo)}`,
    `cipher = ${name(cfg.cipher, cipherInfo)}`,
    `kdf = ${name(cfg.kdf, digestInfo)}`,
    `digest = ${name(cfg.digest, digestInfo)}`,
    `kem_mode = ${cfg.kemMode}`,
    '',
  ].join('\n');
}

