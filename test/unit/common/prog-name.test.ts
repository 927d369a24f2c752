import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progName } from '../../../src/common/prog-name.js';

test('program names', () => {
  assert.equal(progName('/usr/bin/oping'), 'oping');
  assert.equal(progName('/x/dist/src/tools/oping/main.js'), 'oping');
  assert.equal(progName('/x/bin/oping'), 'oping');
  assert.equal(progName('/home/me/app.mjs'), 'app');
  assert.equal(progName('/home/me/server/index.js'), 'server');
});
