/** The name a program is known by: the basename of its path, with o7s's JavaScript bins named by their folder. */
import { basename, dirname } from 'node:path';

/** `/x/bin/oping` -> `oping`; `/x/dist/src/tools/oping/main.js` -> `oping`; `app.js` -> `app`. */
export function progName(path: string): string {
  const base = basename(path);
  const js = base.replace(/\.(c|m)?[jt]s$/, '');
  if (js === base) return base;
  return js === 'main' || js === 'index' ? basename(dirname(path)) : js;
}
