/**
 * `irm security ...` (an o7s extension; the reference has no such command):
 * a test certificate authority and per-name files in the layout the IRMd
 * reads (ARCHITECTURE.md §3.8), without OpenSSL:
 *
 *   irm security ca    [dir D] [type T] [cn CN] [days N] [force]
 *   irm security cert  NAME [role server|client|both] [dir D] [type T] [days N]
 *   irm security enc   NAME [role server|client|both] [dir D] [kex K] [cipher C]
 *                      [kdf F] [digest G] [kem_mode server|client] [none]
 *   irm security kem   NAME kex K [dir D]
 *   irm security show  NAME [dir D]
 *
 * D is the security directory, default `<configuration dir>/security`
 * (/etc/ouroboros/security for root, OUROBOROS_CONFIG_DIR to change). The
 * CA's own key is kept in `D/ca/` (mode 0600), apart from what the IRMd
 * reads (`cacert/`, `server/NAME/`, `client/NAME/`). Nothing here talks to
 * the IRMd: it reads the files again for every flow allocation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultConfigDir, securityDirOf } from '../../common/config-dir.js';
import { parseEncConf, type SecConfig } from '../../lib/crypt/enc-conf.js';
import { CIPHERS, DIGESTS, KEXES, cipherInfo, isKem, kexByName, kexInfo, type KexName } from '../../lib/crypt/nid.js';
import { parseCertificates } from '../../irmd/oap/auth.js';
import {
  CA_STORE,
  createTestCa,
  openTestCa,
  saveTestCa,
  TEST_KEY_TYPES,
  type TestKeyType,
  writeEncConf,
  writeServerKemKey,
} from '../../irmd/oap/testca.js';
import { type Ctx, FAIL, OK, type Status } from './context.js';
import { matches, pick } from './match.js';
import { usage } from './usage.js';
import { nameSecurity, securityDirsAt, type NameSecurity } from '../../irmd/oap/config.js';

type Role = 'server' | 'client';

interface Words {
  name: string | undefined;
  opts: Map<string, string>;
  flags: Set<string>;
}

/** `NAME? key value ... flag ...`: keys take a value, flags do not. */
function parse(ctx: Ctx, args: string[], keys: readonly string[], flags: readonly string[], withName: boolean, help: string): Words | undefined {
  const w: Words = { name: undefined, opts: new Map(), flags: new Set() };
  let i = 0;
  if (withName) {
    w.name = args[0];
    if (w.name === undefined || w.name === 'help') {
      ctx.print(help);
      return undefined;
    }
    i = 1;
  }
  for (; i < args.length; i++) {
    const word = args[i]!;
    const flag = flags.find((f) => f === word);
    if (flag) {
      w.flags.add(flag);
      continue;
    }
    const key = pick(word, keys);
    const value = args[i + 1];
    if (key === undefined || value === undefined) {
      if (key === undefined) ctx.say(`"${word}" is unknown, try "irm security help".`);
      else ctx.print(help);
      return undefined;
    }
    w.opts.set(key, value);
    i++;
  }
  return w;
}

function securityDir(w: Words): string {
  return w.opts.get('dir') ?? securityDirOf(defaultConfigDir());
}

function roles(ctx: Ctx, w: Words, help: string): Role[] | undefined {
  const r = w.opts.get('role') ?? 'both';
  if (matches(r, 'server') && r.length > 0) return ['server'];
  if (matches(r, 'client') && r.length > 0) return ['client'];
  if (matches(r, 'both') && r.length > 0) return ['server', 'client'];
  ctx.print(help);
  return undefined;
}

function keyType(ctx: Ctx, w: Words): TestKeyType | undefined | false {
  const t = w.opts.get('type');
  if (t === undefined) return undefined;
  if ((TEST_KEY_TYPES as readonly string[]).includes(t)) return t as TestKeyType;
  ctx.warn(`Unknown key type ${t}; one of: ${TEST_KEY_TYPES.join(' ')}.`);
  return false;
}

function validity(ctx: Ctx, w: Words): { notBefore?: Date; notAfter?: Date } | undefined {
  const d = w.opts.get('days');
  if (d === undefined) return {};
  if (!/^[0-9]+$/.test(d) || Number(d) < 1) {
    ctx.warn(`days must be a positive number, not ${d}.`);
    return undefined;
  }
  const notBefore = new Date(Date.now() - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + Number(d) * 86_400_000) };
}

/** The default security paths of `name` in the security directory `dir`, as irmd reads them. */
const namePaths = (dir: string, name: string): NameSecurity => nameSecurity(securityDirsAt(dir), name);

function badName(ctx: Ctx, name: string): boolean {
  if (name.length === 0 || name.includes('/') || name === '.' || name === '..' || Buffer.byteLength(name) > 255) {
    ctx.warn(`Bad name "${name}".`);
    return true;
  }
  return false;
}

async function caCmd(ctx: Ctx, args: string[]): Promise<Status> {
  const w = parse(ctx, args, ['dir', 'type', 'cn', 'days'], ['force'], false, usage.securityCa);
  if (!w) return FAIL;
  const dir = securityDir(w);
  const type = keyType(ctx, w);
  const valid = validity(ctx, w);
  if (type === false || !valid) return FAIL;
  if (existsSync(join(dir, CA_STORE.dir, CA_STORE.key)) && !w.flags.has('force')) {
    ctx.warn(`A CA exists already in ${dir}; add "force" to replace it (certificates it issued will no longer verify).`);
    return FAIL;
  }
  const ca = createTestCa({ dir, keyType: type, caName: w.opts.get('cn'), ...valid });
  saveTestCa(ca);
  ctx.say(`Created CA "${ca.root.certificate.subjectCN}" (${ca.keyType}) in ${dir}:`);
  ctx.say(`  trusted by the IRMd: ${join(dir, 'cacert', 'ca.crt.pem')}`);
  ctx.say(`  its key (keep it safe): ${join(dir, CA_STORE.dir, CA_STORE.key)}`);
  return OK;
}

async function certCmd(ctx: Ctx, args: string[]): Promise<Status> {
  const w = parse(ctx, args, ['role', 'dir', 'type', 'days'], [], true, usage.securityCert);
  if (!w || badName(ctx, w.name!)) return FAIL;
  const dir = securityDir(w);
  const rs = roles(ctx, w, usage.securityCert);
  const type = keyType(ctx, w);
  const valid = validity(ctx, w);
  if (!rs || type === false || !valid) return FAIL;
  if (!existsSync(join(dir, CA_STORE.dir, CA_STORE.key))) {
    ctx.warn(`No CA in ${dir}: create one first (irm security ca${w.opts.has('dir') ? ` dir ${dir}` : ''}).`);
    return FAIL;
  }
  const ca = openTestCa(dir);
  for (const role of rs) {
    ca.issue(w.name!, { role, keyType: type, ...valid });
    ctx.say(`Issued ${role} certificate for ${w.name} in ${dirname(namePaths(dir, w.name!)[role].crt)} (crt.pem, key.pem).`);
  }
  return OK;
}

const ENC_KEYS = ['dir', 'role', 'kex', 'cipher', 'kdf', 'digest', 'kem_mode'] as const;

async function encCmd(ctx: Ctx, args: string[]): Promise<Status> {
  const w = parse(ctx, args, ENC_KEYS, ['none'], true, usage.securityEnc);
  if (!w || badName(ctx, w.name!)) return FAIL;
  const dir = securityDir(w);
  const rs = roles(ctx, w, usage.securityEnc);
  if (!rs) return FAIL;
  let text: string;
  if (w.flags.has('none')) {
    text = 'none\n';
  } else {
    const lines: string[] = [];
    for (const k of ENC_KEYS.slice(2)) {
      const v = w.opts.get(k);
      if (v !== undefined) lines.push(`${k} = ${v}`);
    }
    text = lines.join('\n') + (lines.length ? '\n' : '');
  }
  let cfg: SecConfig;
  try {
    cfg = parseEncConf(text, { source: 'arguments' });
  } catch (e) {
    ctx.warn(`${(e as Error).message}`);
    ctx.warn(`kex: ${KEXES.map((k) => k.name).join(' ')}`);
    ctx.warn(`cipher: ${CIPHERS.map((c) => c.name).join(' ')}`);
    ctx.warn(`kdf, digest: ${DIGESTS.map((d) => d.name).join(' ')}`);
    return FAIL;
  }
  for (const role of rs) {
    writeEncConf(dir, role, w.name!, text.length ? text : '# defaults: prime256v1, aes-256-gcm, sha256\n');
    ctx.say(`Wrote ${namePaths(dir, w.name!)[role].enc}${cfg.kex === 0 ? ' (no encryption)' : ''}.`);
  }
  return OK;
}

async function kemCmd(ctx: Ctx, args: string[]): Promise<Status> {
  const w = parse(ctx, args, ['dir', 'kex'], [], true, usage.securityKem);
  if (!w || badName(ctx, w.name!)) return FAIL;
  const kex = w.opts.get('kex');
  const info = kex !== undefined ? kexByName(kex) : undefined;
  if (!info || !isKem(info)) {
    ctx.warn(`kex must be a KEM: ${KEXES.filter((k) => isKem(k)).map((k) => k.name).join(' ')}.`);
    return FAIL;
  }
  const dir = securityDir(w);
  const { ext } = writeServerKemKey(dir, w.name!, info.name as KexName);
  const p = namePaths(dir, w.name!);
  ctx.say(`Wrote ${p.serverKemKey(ext)} and ${p.clientKemServerPub(ext)}.`);
  ctx.say(`Copy the latter to the clients' ${join('client', w.name!)}/ and set kem_mode = client in their enc.conf.`);
  return OK;
}

async function showCmd(ctx: Ctx, args: string[]): Promise<Status> {
  const w = parse(ctx, args, ['dir'], [], true, usage.securityShow);
  if (!w || badName(ctx, w.name!)) return FAIL;
  const dir = securityDir(w);
  for (const role of ['server', 'client'] as const) {
    const p = namePaths(dir, w.name!)[role];
    ctx.say(`${role} (${dirname(p.crt)}):`);
    const crt = p.crt;
    if (existsSync(crt)) {
      try {
        const c = parseCertificates(readFileSync(crt))[0]!;
        ctx.say(`  certificate: CN ${c.subjectCN}, valid ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()}${existsSync(p.key) ? '' : ' (no key.pem: not used)'}`);
      } catch (e) {
        ctx.say(`  certificate: unreadable (${(e as Error).message})`);
      }
    } else {
      ctx.say('  certificate: none (unauthenticated)');
    }
    const enc = p.enc;
    if (!existsSync(enc)) ctx.say('  enc.conf: none (no encryption asked for)');
    else {
      try {
        const cfg = parseEncConf(readFileSync(enc, 'utf8'), { source: enc });
        if (cfg.kex === 0) ctx.say('  enc.conf: none (encryption off)');
        else {
          const k = kexInfo(cfg.kex);
          ctx.say(`  enc.conf: kex ${k?.name}, cipher ${cipherInfo(cfg.cipher)?.name}${k && isKem(k) ? `, kem_mode ${cfg.kemMode}` : ''}`);
        }
      } catch (e) {
        ctx.say(`  enc.conf: invalid (${(e as Error).message})`);
      }
    }
  }
  return OK;
}

const SUBCOMMANDS: ReadonlyArray<[string, (ctx: Ctx, args: string[]) => Promise<Status>]> = [
  ['ca', caCmd],
  ['cert', certCmd],
  ['enc', encCmd],
  ['kem', kemCmd],
  ['show', showCmd],
  ['help', async (ctx) => (ctx.print(usage.security), OK)],
];

/** `irm security <op> ...` */
export async function securityCmd(ctx: Ctx, args: string[]): Promise<Status> {
  const op = args[0];
  if (op === undefined) {
    ctx.print(usage.security);
    return FAIL;
  }
  for (const [kw, fn] of SUBCOMMANDS) if (matches(op, kw)) return fn(ctx, args.slice(1));
  ctx.warn(`"${op}" is unknown, try "irm security help".`);
  return FAIL;
}
