// Makes the built bins executable (tsc does not), so irmd can start them directly.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const bin of Object.values(pkg.bin)) {
  const p = new URL(`../${bin}`, import.meta.url);
  if (existsSync(p)) chmodSync(p, 0o755);
}
