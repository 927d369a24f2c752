/** The error table: reference numbers (ARCHITECTURE.md §4.6, Linux errno), and result <-> error mapping. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS, OuroborosError, codeOf, errorFromResult, fail, reasonOf, resultOf, type ErrorCode } from '../../../src/common/errors.js';

const OUROBOROS: Record<string, number> = {
  ENOTALLOC: 1000,
  EIPCPTYPE: 1001,
  EIRMD: 1002,
  EIPCP: 1003,
  EIPCPSTATE: 1004,
  EFLOWDOWN: 1005,
  EFLOWPEER: 1006,
  ENAME: 1007,
  ECRYPT: 1008,
  EAUTH: 1009,
};

/** Linux values of the standard codes the reference uses. */
const LINUX: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EEXIST: 17,
  EINVAL: 22,
  EPIPE: 32,
  EMSGSIZE: 90,
  ENOTSUP: 95,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
};

describe('error table', () => {
  it('has every Ouroboros code with the reference number', () => {
    for (const [code, errno] of Object.entries(OUROBOROS)) {
      assert.ok(code in ERRORS, `${code} missing`);
      assert.equal(ERRORS[code as ErrorCode].errno, errno, code);
    }
  });

  it('has the standard codes with their Linux numbers', () => {
    for (const [code, errno] of Object.entries(LINUX)) {
      assert.ok(code in ERRORS, `${code} missing`);
      assert.equal(ERRORS[code as ErrorCode].errno, errno, code);
    }
  });

  it('has no two codes with the same number, and every code has a text', () => {
    const seen = new Map<number, string>();
    for (const [code, e] of Object.entries(ERRORS)) {
      assert.ok(!seen.has(e.errno), `${code} and ${seen.get(e.errno)} share ${e.errno}`);
      seen.set(e.errno, code);
      assert.ok(e.text.length > 0, code);
    }
  });

  it('codeOf finds the code of positive and negative numbers', () => {
    assert.equal(codeOf(1005), 'EFLOWDOWN');
    assert.equal(codeOf(-1005), 'EFLOWDOWN');
    assert.equal(codeOf(-22), 'EINVAL');
    assert.equal(codeOf(-110), 'ETIMEDOUT');
    assert.equal(codeOf(0), undefined);
    assert.equal(codeOf(-4242), undefined);
  });
});

describe('OuroborosError', () => {
  it('carries code, errno, a negative result and a default text', () => {
    const e = new OuroborosError('ENAME');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'OuroborosError');
    assert.equal(e.code, 'ENAME');
    assert.equal(e.errno, 1007);
    assert.equal(e.result, -1007);
    assert.equal(e.message, ERRORS.ENAME.text);
    assert.equal(new OuroborosError('EPERM', 'nope').message, 'nope');
  });

  it('fail throws one', () => {
    assert.throws(() => fail('EIPCPSTATE', 'x'), (e: unknown) => e instanceof OuroborosError && e.code === 'EIPCPSTATE' && e.message === 'x');
  });

  it('resultOf / errorFromResult round-trip every code', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const r = resultOf(new OuroborosError(code));
      assert.equal(r, -ERRORS[code].errno, code);
      const back = errorFromResult(r, 'doing something');
      assert.ok(back instanceof OuroborosError);
      assert.equal(back.code, code);
      assert.equal(back.errno, ERRORS[code].errno);
      assert.match(back.message, new RegExp(`^doing something: .*\\(${code}\\)$`));
    }
  });

  it('errorFromResult uses the detail when given', () => {
    const e = errorFromResult(-1007, 'allocating a flow to x', 'there is no name x');
    assert.equal(e.code, 'ENAME');
    assert.equal(e.message, 'allocating a flow to x: there is no name x (ENAME)');
  });

  it('an unknown result maps to EIRMD', () => {
    assert.equal(errorFromResult(-4242, 'x').code, 'EIRMD');
    assert.equal(errorFromResult(-1, 'x').code, 'EPERM');
  });

  it('a non-Ouroboros error becomes -EIRMD with a generic reason', () => {
    assert.equal(resultOf(new Error('boom')), -1002);
    assert.equal(resultOf('string'), -1002);
    assert.equal(reasonOf(new Error('boom')), 'internal error');
    assert.equal(reasonOf(new OuroborosError('EPIPE', 'gone')), 'gone');
  });
});
