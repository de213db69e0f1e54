// Linux: an XDG autostart entry, $XDG_CONFIG_HOME/autostart/keyvnet.desktop (~/.config/...). The
// file is the state: present and not disabled means KeyVNet starts at login.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { desktopEntry, desktopEntryEnabled } from './desktop-entry';
import { AUTOSTART_FILE, loginCommand, type LoginItem, type LoginStatus } from './login-item';

export function autostartPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(base, 'autostart', AUTOSTART_FILE);
}

export class XdgAutostart implements LoginItem {
  readonly where: string;

  constructor(
    private readonly path: string = autostartPath(),
    private readonly command: string[] = loginCommand(),
    private readonly icon: string = join(__dirname, '..', 'ui', 'assets', 'keyvnet.png'),
  ) {
    this.where = path;
  }

  status(): LoginStatus {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'disabled';
      throw err;
    }
    return desktopEntryEnabled(text) ? 'enabled' : 'disabled';
  }

  setEnabled(on: boolean): void {
    if (!on) {
      rmSync(this.path, { force: true });
      return;
    }
    const text = desktopEntry({
      name: 'KeyVNet',
      comment: 'Virtual network to your company’s internal apps',
      exec: this.command,
      icon: this.icon,
    });
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // Whole or nothing: a desktop session reading it half-written would skip it.
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, this.path);
  }
}
