/** `npm run demo` runs from start to end and shows each step, and leaves nothing behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/system.js';

test('the demo tours three systems over udp4 and a unicast layer: pings and transfer succeed, everything is stopped', async () => {
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/demo/main.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  for (const step of ['== 1. Three systems', '== 2. A UDP layer', '== 3. Names and servers', '== 4. Ping', '== 5. A transfer', '== 6. What beta saw', '== 7. A unicast layer', '== 8. Ping over two hops', '== 9. Done']) {
    assert.ok(out.includes(step), `step "${step}" shown`);
  }
  assert.match(out, /5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss/);
  assert.match(out, /\|\s+\d+ \|\s+udp\.alpha \|\s+udp4 \|\s+demo \|/);
  assert.match(out, /Flow request arrived for perf\.beta\./);
  assert.match(out, /--- flow \d+ perf statistics ---\n\s+\d+ packets received/);
  assert.match(out, /\|\s+\d+ \|\s+net\.beta \|\s+unicast \|\s+net \|/);
  assert.equal(out.match(/5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss/g)?.length, 2, 'both pings');
  assert.match(out, /Forwarding table:/);
  assert.match(out, /all stopped\./);
});
