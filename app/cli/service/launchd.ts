// macOS: a launchd LaunchDaemon (launchd.plist(5)) that runs the daemon as root at boot.
import type { ServicePlan, ServiceSpec } from './types';

export const LAUNCHD_LABEL = 'com.keyvnet.daemon';
export const LAUNCHD_PLIST_PATH = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
export const LAUNCHD_LOG_PATH = '/var/log/keyvnet-daemon.log';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function launchdPlist(spec: ServiceSpec): string {
  const argv = [spec.node, ...spec.nodeArgs, spec.daemonScript];
  // On macOS the daemon serves the console user by default; an explicit uid pins it.
  if (spec.allowUid !== null) argv.push('--allow-uid', String(spec.allowUid));
  argv.push('--socket-dir', spec.socketDir, '--state-dir', spec.stateDir);
  const args = argv.map((a) => `    <string>${xmlEscape(a)}</string>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Installed by `keyvnet daemon install`; removed by `keyvnet daemon uninstall`. -->',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${LAUNCHD_LABEL}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...args,
    '  </array>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>ExitTimeOut</key>',
    '  <integer>15</integer>',
    '  <key>StandardErrorPath</key>',
    `  <string>${LAUNCHD_LOG_PATH}</string>`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

export function launchdInstallPlan(spec: ServiceSpec): ServicePlan {
  return {
    path: LAUNCHD_PLIST_PATH,
    content: launchdPlist(spec),
    commands: [['launchctl', 'bootstrap', 'system', LAUNCHD_PLIST_PATH]],
  };
}

export function launchdUninstallPlan(): ServicePlan {
  return {
    path: LAUNCHD_PLIST_PATH,
    content: '',
    commands: [['launchctl', 'bootout', `system/${LAUNCHD_LABEL}`]],
  };
}
