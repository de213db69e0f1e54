// "Start at login": one interface, a file per platform. The menu's checkbox shows status() and
// calls setEnabled(); both read and change the real thing (the autostart file, SMAppService, the
// LaunchAgent), never a remembered flag.
import { join } from 'node:path';

export type LoginStatus =
  | 'enabled'
  | 'disabled'
  /** macOS: registered, but the user must allow it in System Settings › General › Login Items. */
  | 'requires-approval';

export interface LoginItem {
  /** Where it lives, for messages ("~/.config/autostart/keyvnet.desktop", "SMAppService"). */
  readonly where: string;
  status(): LoginStatus;
  /** Throws an Error with a sentence a user can act on when the system refuses. */
  setEnabled(on: boolean): void;
}

/** The app's identity as launchd and desktops know it. */
export const BUNDLE_ID = 'net.keyvnet.KeyVNet';
export const LAUNCH_AGENT_LABEL = `${BUNDLE_ID}.login`;
export const AUTOSTART_FILE = 'keyvnet.desktop';

const ROOT = join(__dirname, '..', '..');

/**
 * What to start at login: the packaged app's executable when we are one (qode inside a bundle), the
 * repository's launcher otherwise (a development checkout).
 */
export function loginCommand(execPath: string = process.execPath, root: string = ROOT): string[] {
  if (/\.app\/Contents\/MacOS\/[^/]+$/.test(execPath)) return [execPath];
  return [join(root, 'scripts', 'run-app.sh')];
}

/** The LoginItem of this platform, or null where there is none. */
export function loginItemForPlatform(platform: NodeJS.Platform = process.platform): LoginItem | null {
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (platform === 'linux') {
    const { XdgAutostart } = require('./login-item.linux') as typeof import('./login-item.linux');
    return new XdgAutostart();
  }
  if (platform === 'darwin') {
    const { darwinLoginItem } = require('./login-item.darwin') as typeof import('./login-item.darwin');
    return darwinLoginItem();
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  return null;
}
