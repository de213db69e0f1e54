// Carries out a service plan: write (or remove) the unit file under `root` and run the commands.
// With a root other than "/" (tests, packaging) no command is run: they are only reported.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { launchdInstallPlan, launchdUninstallPlan } from './launchd';
import { systemdInstallPlan, systemdUninstallPlan } from './systemd';
import type { ServicePlan, ServiceSpec } from './types';

export function installPlan(platform: NodeJS.Platform, spec: ServiceSpec): ServicePlan {
  if (platform === 'darwin') return launchdInstallPlan(spec);
  if (platform === 'linux') return systemdInstallPlan(spec);
  throw new Error(`installing the daemon is supported on macOS and Linux, not ${platform}`);
}

export function uninstallPlan(platform: NodeJS.Platform): ServicePlan {
  if (platform === 'darwin') return launchdUninstallPlan();
  if (platform === 'linux') return systemdUninstallPlan();
  throw new Error(`the daemon service exists on macOS and Linux only, not ${platform}`);
}

export interface ApplyResult {
  file: string;
  /** Commands run (root "/") or to be run by hand (another root). */
  commands: string[][];
  ran: boolean;
}

export function applyInstall(plan: ServicePlan, root: string): ApplyResult {
  const file = join(root, plan.path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, plan.content, { mode: 0o644 });
  const ran = root === '/';
  if (ran) for (const [cmd, ...args] of plan.commands) execFileSync(cmd, args, { stdio: 'inherit' });
  return { file, commands: plan.commands, ran };
}

export function applyUninstall(plan: ServicePlan, root: string): ApplyResult {
  const file = join(root, plan.path);
  const ran = root === '/';
  if (ran) {
    // Stopping may fail when it was never started or is already gone; the file goes either way.
    for (const [cmd, ...args] of plan.commands) {
      try {
        execFileSync(cmd, args, { stdio: 'inherit' });
      } catch {
        /* reported by the command itself */
      }
    }
  }
  rmSync(file, { force: true });
  if (ran && plan.path.startsWith('/etc/systemd/')) execFileSync('systemctl', ['daemon-reload']);
  return { file, commands: plan.commands, ran };
}
