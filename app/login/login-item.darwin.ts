// macOS: SMAppService.mainAppService (macOS 13+, inside the app bundle) registers the app itself as
// a login item, which the user sees and controls in System Settings › General › Login Items. Older
// macOS, and runs outside a bundle (a development checkout), use a LaunchAgent in
// ~/Library/LaunchAgents instead. Both are read back from the system, never remembered.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, release } from 'node:os';
import { dirname, join } from 'node:path';
import { launchAgentPlist } from './launch-agent';
import { LAUNCH_AGENT_LABEL, loginCommand, type LoginItem, type LoginStatus } from './login-item';
import { newOutPointer, ObjcRuntime, readOutPointer } from './objc';

/** SMAppServiceStatus (ServiceManagement/SMAppService.h). */
export const SM_STATUS = { notRegistered: 0, enabled: 1, requiresApproval: 2, notFound: 3 } as const;

export function loginStatusFromSm(status: number): LoginStatus {
  if (status === SM_STATUS.enabled) return 'enabled';
  if (status === SM_STATUS.requiresApproval) return 'requires-approval';
  return 'disabled';
}

/** SMAppService needs macOS 13 (Darwin 22) and a bundle to register; otherwise a LaunchAgent. */
export function darwinMechanism(darwinRelease: string, execPath: string): 'sm-app-service' | 'launch-agent' {
  const major = Number(darwinRelease.split('.')[0]);
  const bundled = /\.app\/Contents\/MacOS\/[^/]+$/.test(execPath);
  return Number.isFinite(major) && major >= 22 && bundled ? 'sm-app-service' : 'launch-agent';
}

export class SmAppServiceLoginItem implements LoginItem {
  readonly where = 'System Settings › General › Login Items';
  private readonly rt = new ObjcRuntime(['Foundation', 'ServiceManagement']);
  private readonly service: bigint;

  constructor() {
    this.service = this.rt.send('id', this.rt.cls('SMAppService'), 'mainAppService') as bigint;
  }

  status(): LoginStatus {
    return loginStatusFromSm(Number(this.rt.send('long', this.service, 'status')));
  }

  setEnabled(on: boolean): void {
    const err = newOutPointer();
    const ok = this.rt.send(
      'bool',
      this.service,
      on ? 'registerAndReturnError:' : 'unregisterAndReturnError:',
      ['out-ptr'],
      [err],
    );
    if (ok) return;
    const nsError = readOutPointer(err);
    const why =
      nsError === 0n
        ? 'no reason given'
        : this.rt.string(this.rt.send('id', nsError, 'localizedDescription') as bigint);
    throw new Error(`macOS refused to ${on ? 'add' : 'remove'} KeyVNet as a login item: ${why}`);
  }
}

export class LaunchAgentLoginItem implements LoginItem {
  readonly where: string;

  constructor(
    private readonly path: string = join(homedir(), 'Library', 'LaunchAgents', `${LAUNCH_AGENT_LABEL}.plist`),
    private readonly command: string[] = loginCommand(),
  ) {
    this.where = path;
  }

  status(): LoginStatus {
    return existsSync(this.path) ? 'enabled' : 'disabled';
  }

  setEnabled(on: boolean): void {
    if (!on) {
      rmSync(this.path, { force: true });
      return;
    }
    // Loaded by launchd at the next login (not now: RunAtLoad would start a second copy).
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, launchAgentPlist({ label: LAUNCH_AGENT_LABEL, programArguments: this.command }), {
      mode: 0o644,
    });
    renameSync(tmp, this.path);
  }
}

export function darwinLoginItem(): LoginItem {
  if (darwinMechanism(release(), process.execPath) === 'sm-app-service') {
    try {
      return new SmAppServiceLoginItem();
    } catch {
      // The runtime or the framework would not load: the LaunchAgent still works.
    }
  }
  return new LaunchAgentLoginItem();
}
