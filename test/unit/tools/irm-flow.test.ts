import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runIrm } from '../../../src/tools/irm/cli.js';
import type { FlowListEntry, IrmApi } from '../../../src/lib/irm-api.js';

async function irm(argv: string[], flows: FlowListEntry[] | undefined) {
  let out = '';
  let err = '';
  const api = { listFlows: flows ? async () => flows : undefined, close() {} } as unknown as IrmApi;
  const code = await runIrm(argv, { api: async () => api, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

test('irm flow list prints the flow table', async () => {
  const r = await irm(['flow', 'list'], [
    { id: 1, nPid: 100, n1Pid: 200, state: 3, name: 'oping', direct: false, mpl: 100 },
    { id: 7, nPid: 300, n1Pid: 0, state: 2, name: '', direct: false, mpl: 0 },
    { id: 9, nPid: 301, n1Pid: 302, state: 3, name: 'x', direct: true, mpl: 1 },
  ]);
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    '+-------+-----------------+---------+---------+--------+----------------------+\n' +
      '|    id |           state |   n_pid | n_1_pid |    via |                 name |\n' +
      '+-------+-----------------+---------+---------+--------+----------------------+\n' +
      '|     1 |       allocated |     100 |     200 |   ipcp |                oping |\n' +
      '|     7 |  accept-pending |     300 |       - |   ipcp |                    - |\n' +
      '|     9 |       allocated |     301 |     302 | direct |                    x |\n' +
      '+-------+-----------------+---------+---------+--------+----------------------+\n\n',
  );
});

test('irm flow list: empty, usage errors, abbreviations', async () => {
  assert.equal((await irm(['f', 'l'], [])).out, 'No flows in system.\n\n');
  const bad = await irm(['flow', 'bogus'], []);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /Usage: irm flow \[OPERATION\]/);
  assert.equal((await irm(['flow', 'list', 'extra'], [])).code, 1);
  assert.equal((await irm(['flow', 'help'], [])).code, 0);
});
