/**
 * A test certificate authority: a root CA (optionally with an
 * intermediate), and per-name server/client certificates and keys, written
 * into a security directory laid out as the IRMd reads it:
 *
 *   <security>/cacert/ca.crt.pem            root certificate
 *   <security>/untrusted/im.crt.pem         intermediate (when asked for)
 *   <security>/server/<name>/crt.pem,key.pem
 *   <security>/client/<name>/crt.pem,key.pem
 *   <security>/server/<name>/kex.key.{pem,raw} + client/<name>/kex.srv.pub.{pem,raw}
 *   <security>/{server,client}/<name>/enc.conf
 *
 * Key types: ECDSA P-256 (signatures with SHA-256), Ed25519 and ML-DSA-65.
 * Certificates are X.509 v3 with basicConstraints, keyUsage and key
 * identifiers; the subject is `O=o7s, CN=<name>`.
 */
import { createHash, generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fail } from '../../common/errors.js';
import * as der from '../../lib/crypt/der.js';
import { formatEncConf, type SecConfig } from '../../lib/crypt/enc-conf.js';
import { exportKemKeyFiles, generateKemStaticKey } from '../../lib/crypt/kex.js';
import type { KexName } from '../../lib/crypt/nid.js';
import { type Certificate, ML_DSA, parseCertificate, parseCertificates, parsePrivateKey, privateKeyPem, type SigningKey, signingKeySpki } from './auth.js';
import { nameSecurity, securityDirsAt, type NameSecurity } from './config.js';

export type TestKeyType = 'ecdsa-p256' | 'ed25519' | 'ml-dsa-65';

export const TEST_KEY_TYPES: readonly TestKeyType[] = ['ecdsa-p256', 'ed25519', 'ml-dsa-65'];

/** A fresh signing key of the given type. */
export function generateSigningKey(type: TestKeyType): SigningKey {
  switch (type) {
    case 'ecdsa-p256': {
      const kp = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return { type: 'node', key: kp.privateKey, publicKey: kp.publicKey };
    }
    case 'ed25519': {
      const kp = generateKeyPairSync('ed25519');
      return { type: 'node', key: kp.privateKey, publicKey: kp.publicKey };
    }
    case 'ml-dsa-65': {
      const p = ML_DSA['ML-DSA-65'];
      const seed = randomBytes(32);
      const kp = p.dsa.keygen(seed);
      return { type: 'mldsa', params: p, sk: kp.secretKey, pk: kp.publicKey, seed: Uint8Array.from(seed) };
    }
  }
}

/** signatureAlgorithm and the signing function for certificates signed by `key`. */
function certSigner(key: SigningKey): { alg: Buffer; sign: (tbs: Buffer) => Buffer } {
  if (key.type === 'mldsa') {
    return { alg: der.seq(der.oid(key.params.oid)), sign: (tbs) => Buffer.from(key.params.dsa.sign(tbs, key.sk)) };
  }
  switch (key.key.asymmetricKeyType) {
    case 'ec':
      return { alg: der.seq(der.oid('1.2.840.10045.4.3.2')), sign: (tbs) => nodeSign('sha256', tbs, key.key) };
    case 'ed25519':
      return { alg: der.seq(der.oid('1.3.101.112')), sign: (tbs) => nodeSign(null, tbs, key.key) };
    case 'ed448':
      return { alg: der.seq(der.oid('1.3.101.113')), sign: (tbs) => nodeSign(null, tbs, key.key) };
    default:
      fail('EINVAL', `cannot sign certificates with a ${key.key.asymmetricKeyType} key`);
  }
}

function name(cn: string): Buffer {
  const rdn = (oid: string, v: string) => der.set(der.seq(der.oid(oid), der.utf8(v)));
  return der.seq(rdn('2.5.4.10', 'o7s'), rdn('2.5.4.3', cn));
}

function keyId(spki: Buffer): Buffer {
  const top = der.parseOne(spki, der.Tag.SEQUENCE);
  const bits = der.children(spki, top)[1]!;
  return createHash('sha1').update(der.bitStringBytes(bits)).digest();
}

function ext(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? der.seq(der.oid(oid), der.bool(true), der.octets(value)) : der.seq(der.oid(oid), der.octets(value));
}

export interface CertificateOptions {
  /** The subject's common name (the Ouroboros name for end entities). */
  subjectCN: string;
  /** The subject's public key (the key pair is the subject's). */
  subjectKey: SigningKey;
  /** Issuer certificate; omit for a self-signed certificate. */
  issuer?: Certificate;
  /** Key that signs: the issuer's, or the subject's own when self-signed. */
  issuerKey: SigningKey;
  ca?: boolean;
  pathLen?: number;
  notBefore?: Date;
  notAfter?: Date;
  serial?: bigint;
}

/** Builds and signs one X.509 v3 certificate (DER). */
export function makeCertificate(o: CertificateOptions): Buffer {
  const spki = signingKeySpki(o.subjectKey);
  const subject = name(o.subjectCN);
  const issuerName = o.issuer ? o.issuer.subject : subject;
  const issuerSpki = o.issuer ? o.issuer.spki : spki;
  const notBefore = o.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + 365 * 86_400_000);
  const serial = o.serial ?? BigInt('0x' + randomBytes(12).toString('hex')) + 1n;
  const { alg, sign } = certSigner(o.issuerKey);
  const ku = o.ca ? 0x06 : 0x80; // keyCertSign|cRLSign : digitalSignature
  const bc = o.ca ? der.seq(der.bool(true), ...(o.pathLen !== undefined ? [der.uint(o.pathLen)] : [])) : der.seq();
  const extensions = der.seq(
    ext('2.5.29.19', true, bc),
    ext('2.5.29.15', true, der.tlv(der.Tag.BIT_STRING, Buffer.from([o.ca ? 1 : 7, ku]))),
    ext('2.5.29.14', false, der.octets(keyId(spki))),
    ext('2.5.29.35', false, der.seq(der.implicitPrim(0, keyId(issuerSpki)))),
  );
  const tbs = der.seq(
    der.explicit(0, der.uint(2)),
    der.uint(serial),
    alg,
    issuerName,
    der.seq(der.time(notBefore), der.time(notAfter)),
    subject,
    spki,
    der.explicit(3, extensions),
  );
  return der.seq(tbs, alg, der.bitString(sign(tbs)));
}

export interface Issued {
  certificate: Certificate;
  key: SigningKey;
  certPem: string;
  keyPem: string;
}

function issued(d: Buffer, key: SigningKey): Issued {
  return { certificate: parseCertificate(d), key, certPem: der.toPem('CERTIFICATE', d), keyPem: privateKeyPem(key) };
}

function write(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data, { mode });
}

export interface TestCaOptions {
  /** The security directory (`<config>/security`). */
  dir: string;
  keyType?: TestKeyType;
  /** CN of the root. */
  caName?: string;
  /** Also create an intermediate CA (pathLen 0) that signs the end entities. */
  intermediate?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}

export interface IssueOptions {
  role: 'server' | 'client';
  /** Key type of the end entity; default the CA's. */
  keyType?: TestKeyType;
  notBefore?: Date;
  notAfter?: Date;
  /** Certificate CN if it should differ from the name (to test name checks). */
  subjectCN?: string;
}

export interface TestCa {
  readonly dir: string;
  readonly keyType: TestKeyType;
  readonly root: Issued;
  /** The intermediate, when created. */
  readonly intermediate: Issued | undefined;
  /** Issues a certificate for `name` and writes crt.pem/key.pem into `<role>/<name>/`. */
  issue(name: string, opts: IssueOptions): Issued;
  /** Issues a certificate without writing anything. */
  make(name: string, opts?: Omit<IssueOptions, 'role'>): Issued;
}

/** Creates a CA and writes its certificate(s) into `<dir>/cacert` (and `<dir>/untrusted`). */
export function createTestCa(opts: TestCaOptions): TestCa {
  const keyType = opts.keyType ?? 'ecdsa-p256';
  const rootKey = generateSigningKey(keyType);
  const validity = { notBefore: opts.notBefore, notAfter: opts.notAfter };
  const root = issued(
    makeCertificate({ subjectCN: opts.caName ?? 'ca.o7s', subjectKey: rootKey, issuerKey: rootKey, ca: true, ...validity }),
    rootKey,
  );
  write(join(opts.dir, 'cacert', 'ca.crt.pem'), root.certPem);
  let intermediate: Issued | undefined;
  if (opts.intermediate) {
    const imKey = generateSigningKey(keyType);
    intermediate = issued(
      makeCertificate({
        subjectCN: `im.${opts.caName ?? 'ca.o7s'}`,
        subjectKey: imKey,
        issuer: root.certificate,
        issuerKey: rootKey,
        ca: true,
        pathLen: 0,
        ...validity,
      }),
      imKey,
    );
    write(join(opts.dir, 'untrusted', 'im.crt.pem'), intermediate.certPem);
  }
  return caOf(opts.dir, keyType, root, intermediate);
}

/** The TestCa that issues with `intermediate` (or `root`) into `dir`. */
function caOf(dir: string, keyType: TestKeyType, root: Issued, intermediate: Issued | undefined): TestCa {
  const signer = intermediate ?? root;
  const make = (n: string, o: Omit<IssueOptions, 'role'> = {}): Issued => {
    const key = generateSigningKey(o.keyType ?? keyType);
    return issued(
      makeCertificate({
        subjectCN: o.subjectCN ?? n,
        subjectKey: key,
        issuer: signer.certificate,
        issuerKey: signer.key,
        notBefore: o.notBefore,
        notAfter: o.notAfter,
      }),
      key,
    );
  };
  return {
    dir,
    keyType,
    root,
    intermediate,
    make,
    issue(n, o) {
      const it = make(n, o);
      writeCredentials(dir, o.role, n, it);
      return it;
    },
  };
}

/** Where {@link saveTestCa} keeps the CA's own certificate and key, under the security directory. */
export const CA_STORE = { dir: 'ca', crt: 'ca.crt.pem', key: 'ca.key.pem' } as const;

/** The key type of a signing key, as the test CA names them. */
export function keyTypeOf(k: SigningKey): TestKeyType {
  if (k.type === 'mldsa') return 'ml-dsa-65';
  if (k.key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (k.key.asymmetricKeyType === 'ec') return 'ecdsa-p256';
  fail('EINVAL', `unsupported CA key type ${k.key.asymmetricKeyType}`);
}

/**
 * Keeps the root's certificate and private key (mode 0600) in
 * `<dir>/ca/`, outside the directories the IRMd reads, so that more
 * certificates can be issued later ({@link openTestCa}).
 */
export function saveTestCa(ca: TestCa): void {
  write(join(ca.dir, CA_STORE.dir, CA_STORE.crt), ca.root.certPem);
  write(join(ca.dir, CA_STORE.dir, CA_STORE.key), ca.root.keyPem, 0o600);
}

/** The CA saved in `<dir>/ca/` by {@link saveTestCa}. */
export function openTestCa(dir: string): TestCa {
  const crt = readFileSync(join(dir, CA_STORE.dir, CA_STORE.crt));
  const keyPem = readFileSync(join(dir, CA_STORE.dir, CA_STORE.key));
  const key = parsePrivateKey(keyPem);
  const certificate = parseCertificates(crt)[0]!;
  const root: Issued = { certificate, key, certPem: crt.toString(), keyPem: keyPem.toString() };
  return caOf(dir, keyTypeOf(key), root, undefined);
}

/** The default security paths of name `n` in the security directory `dir` (the layout irmd reads). */
const pathsOf = (dir: string, n: string): NameSecurity => nameSecurity(securityDirsAt(dir), n);

/** Writes crt.pem and key.pem (mode 0600) of a name's role. */
export function writeCredentials(dir: string, role: 'server' | 'client', n: string, it: Pick<Issued, 'certPem' | 'keyPem'>): void {
  const p = pathsOf(dir, n)[role];
  write(p.crt, it.certPem);
  write(p.key, it.keyPem, 0o600);
}

/** Writes a name's enc.conf for a role (text, or a configuration to format). */
export function writeEncConf(dir: string, role: 'server' | 'client', n: string, conf: string | SecConfig): void {
  write(pathsOf(dir, n)[role].enc, typeof conf === 'string' ? conf : formatEncConf(conf));
}

/**
 * Creates a static KEM key for a server name (client-encapsulation mode):
 * the private key into `server/<name>/kex.key.<ext>` and its public key
 * into `client/<name>/kex.srv.pub.<ext>` (pem for ML-KEM, raw for hybrids).
 */
export function writeServerKemKey(dir: string, n: string, algo: KexName): { ext: 'pem' | 'raw' } {
  const p = pathsOf(dir, n);
  const f = exportKemKeyFiles(generateKemStaticKey(algo));
  write(p.serverKemKey(f.ext), f.privateKey, 0o600);
  write(p.clientKemServerPub(f.ext), f.publicKey);
  return { ext: f.ext };
}
