import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_SEC_CONFIG,
  formatEncConf,
  isClientEncap,
  loadEncConf,
  NO_ENCRYPTION,
  parseEncConf,
} from '../../../../src/lib/crypt/enc-conf.js';
import {
  CIPHERS,
  cipherRank,
  DIGESTS,
  digestLen,
  digestRank,
  isHybrid,
  isKem,
  KEXES,
  kexByName,
  kexRank,
} from '../../../../src/lib/crypt/nid.js';

test('NID table and ranks as WIRE §10.2', () => {
  assert.deepEqual(
    CIPHERS.map((c) => [c.name, c.nid, c.rank, c.ivLen, c.tagLen]),
    [
      ['aes-128-ctr', 904, 1, 16, 0],
      ['aes-192-ctr', 905, 2, 16, 0],
      ['aes-256-ctr', 906, 3, 16, 0],
      ['aes-128-gcm', 895, 4, 12, 16],
      ['aes-192-gcm', 898, 5, 12, 16],
      ['aes-256-gcm', 901, 6, 12, 16],
      ['chacha20-poly1305', 1018, 7, 12, 16],
    ],
  );
  assert.deepEqual(
    DIGESTS.map((d) => [d.name, d.nid, d.rank]),
    [
      ['blake2s256', 1057, 1],
      ['sha256', 672, 2],
      ['sha3-256', 1096, 3],
      ['sha384', 673, 4],
      ['sha3-384', 1097, 5],
      ['blake2b512', 1056, 6],
      ['sha512', 674, 7],
      ['sha3-512', 1098, 8],
    ],
  );
  assert.deepEqual(
    KEXES.map((k) => [k.name, k.nid, k.rank]),
    [
      ['ffdhe2048', 1126, 1],
      ['prime256v1', 415, 2],
      ['X25519', 1034, 3],
      ['ffdhe3072', 1127, 4],
      ['secp384r1', 715, 5],
      ['ffdhe4096', 1128, 6],
      ['X448', 1035, 7],
      ['secp521r1', 716, 8],
      ['ML-KEM-512', 1454, 9],
      ['ML-KEM-768', 1455, 10],
      ['ML-KEM-1024', 1456, 11],
      ['X25519MLKEM768', 2053, 12],
      ['X448MLKEM1024', 2054, 13],
    ],
  );
  assert.deepEqual([cipherRank(0), cipherRank(1), digestRank(0), digestRank(9), kexRank(0), kexRank(2055)], [0, -1, 0, -1, 0, -1]);
  assert.deepEqual([digestLen(673), digestLen(1057), digestLen(1056), digestLen(0)], [48, 32, 64, undefined]);
  assert.ok(isKem('ML-KEM-768') && isKem('X448MLKEM1024') && !isKem('X25519'));
  assert.ok(isHybrid('X25519MLKEM768') && !isHybrid('ML-KEM-512') && !isHybrid(kexByName('X448')!));
});

test('enc.conf: an existing empty file means the defaults', () => {
  assert.deepEqual(parseEncConf(''), DEFAULT_SEC_CONFIG);
  assert.deepEqual(DEFAULT_SEC_CONFIG, { kex: 415, kemMode: 'server', cipher: 901, kdf: 672, digest: 672 });
});

test('enc.conf: all keys, whitespace, comments, ignored lines', () => {
  const warnings: string[] = [];
  const cfg = parseEncConf(
    [
      '# a comment',
      '',
      'kex=X448MLKEM1024',
      '   cipher   =   chacha20-poly1305   ',
      '\tkdf\t= sha3-512\r',
      'digest = blake2b512',
      'kem_mode = client',
      'no equals sign here',
      'colour = blue',
      '  # indented comment = with equals',
    ].join('\n'),
    { warn: (m) => warnings.push(m) },
  );
  assert.deepEqual(cfg, { kex: 2054, kemMode: 'client', cipher: 1018, kdf: 1098, digest: 1056 });
  assert.ok(isClientEncap(cfg));
  assert.deepEqual(warnings, [
    "enc.conf:8: ignored line without '='",
    'enc.conf:9: ignored unknown key "colour"',
    'enc.conf:10: ignored unknown key "# indented comment"',
  ]);
});

test('enc.conf: "none" disables encryption and ends the file', () => {
  assert.deepEqual(parseEncConf('kex = X25519\n  none  \ncipher = bogus\n'), NO_ENCRYPTION);
  assert.deepEqual(NO_ENCRYPTION, { kex: 0, kemMode: 'server', cipher: 0, kdf: 0, digest: 0 });
  // `none` as a value is not the keyword
  assert.throws(() => parseEncConf('kex = none'), /unknown key exchange "none"/);
});

test('enc.conf: unknown values are errors naming the line', () => {
  assert.throws(() => parseEncConf('\nkex = X25519\ncipher = aes-256-cbc\n', { source: '/x/enc.conf' }), {
    code: 'EINVAL',
    message: /^\/x\/enc\.conf:3: unknown cipher "aes-256-cbc" \(one of: aes-128-ctr, /,
  });
  assert.throws(() => parseEncConf('kdf = md5'), { code: 'EINVAL', message: /enc\.conf:1: unknown kdf "md5"/ });
  assert.throws(() => parseEncConf('digest = SHA256'), /unknown digest "SHA256"/); // names are case-sensitive
  assert.throws(() => parseEncConf('kem_mode = both'), /unknown kem_mode "both" \(one of: server, client\)/);
  assert.throws(() => parseEncConf('kex = x25519'), /unknown key exchange/);
  assert.throws(() => parseEncConf(`kex = X25519 ${' '.repeat(250)}`), /line longer than 255 characters/);
  assert.deepEqual(parseEncConf(`kex = X25519${' '.repeat(243)}`).kex, 1034); // 255 characters is fine
});

test('enc.conf: a missing file means no encryption; format round-trips', () => {
  const dir = mkdtempSync(join(tmpdir(), 'o7s-enc-'));
  try {
    assert.deepEqual(loadEncConf(join(dir, 'missing.conf')), NO_ENCRYPTION);
    const p = join(dir, 'enc.conf');
    writeFileSync(p, 'kex = ffdhe3072\ncipher = aes-128-ctr\n');
    const cfg = loadEncConf(p);
    assert.deepEqual(cfg, { ...DEFAULT_SEC_CONFIG, kex: 1127, cipher: 904 });
    assert.deepEqual(parseEncConf(formatEncConf(cfg)), cfg);
    assert.equal(formatEncConf(NO_ENCRYPTION), 'none\n');
    writeFileSync(p, 'cipher = rot13\n');
    assert.throws(() => loadEncConf(p), { message: `${p}:1: unknown cipher "rot13" (one of: ${CIPHERS.map((c) => c.name).join(', ')})` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
