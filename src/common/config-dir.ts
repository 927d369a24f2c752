/**
 * The configuration directory: where irmd finds `security/` (certificates,
 * keys, enc.conf per name; ARCHITECTURE.md §3.8). As the reference:
 * `/etc/ouroboros` (for root). o7s additions: `OUROBOROS_CONFIG_DIR` or
 * irmd's `--config-dir` choose another one (tests use temporary
 * directories), and a non-root irmd defaults to `$XDG_CONFIG_HOME/ouroboros`
 * (or `~/.config/ouroboros`).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export const SYSTEM_CONFIG_DIR = '/etc/ouroboros';

export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.OUROBOROS_CONFIG_DIR;
  if (set) return set;
  if (process.getuid?.() === 0) return SYSTEM_CONFIG_DIR;
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.config'), 'ouroboros');
}

/** `<config>/security`. */
export const securityDirOf = (configDir: string): string => join(configDir, 'security');
