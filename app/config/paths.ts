// Where the user's config lives, and how paths written in it are expanded (`~`, relative paths).
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * macOS: ~/Library/Application Support/KeyVNet/config.toml; elsewhere (Linux):
 * $XDG_CONFIG_HOME/keyvnet/config.toml, with ~/.config when XDG_CONFIG_HOME is unset or not absolute
 * (as the XDG spec says). `--config` overrides this; the caller handles that.
 */
export function defaultConfigPath(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'KeyVNet', 'config.toml');
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(home, '.config');
  return join(base, 'keyvnet', 'config.toml');
}

/** `~` and `~/x` → the home directory; a relative path is taken from the config file's directory. */
export function expandPath(p: string, home: string, baseDir: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return resolve(baseDir, p);
}
