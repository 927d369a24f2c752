import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPrivileged, privilegedGid, userClass } from '../../../src/common/privilege.js';
import { defaultConfigDir } from '../../../src/common/config-dir.js';

test('root is privileged; another user only through group ouroboros', () => {
  assert.equal(isPrivileged({ uid: 0, gid: 0 }), true);
  const gid = privilegedGid();
  if (gid === undefined) {
    assert.equal(isPrivileged({ uid: 54321, gid: 54321 }), false);
  } else {
    assert.equal(isPrivileged({ uid: 54321, gid }), true, 'primary group ouroboros');
  }
});

test('flow class: 0 for the privileged, the uid otherwise', () => {
  assert.equal(userClass(1000, true), 0);
  assert.equal(userClass(1000, false), 1000);
});

test('configuration directory: OUROBOROS_CONFIG_DIR, else /etc/ouroboros for root, else the user\'s', () => {
  assert.equal(defaultConfigDir({ OUROBOROS_CONFIG_DIR: '/x/y' }), '/x/y');
  if (process.getuid?.() === 0) assert.equal(defaultConfigDir({}), '/etc/ouroboros');
  else assert.equal(defaultConfigDir({ XDG_CONFIG_HOME: '/h/.cfg' }), '/h/.cfg/ouroboros');
});
