// Linux: a systemd system unit for the daemon (systemd.service(5), systemd.exec(5)).
import type { ServicePlan, ServiceSpec } from './types';

export const SYSTEMD_UNIT_NAME = 'keyvnet-daemon.service';
export const SYSTEMD_UNIT_PATH = `/etc/systemd/system/${SYSTEMD_UNIT_NAME}`;

/** systemd's command-line quoting: words with spaces, quotes or backslashes go in double quotes. */
export function systemdQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word.replace(/%/g, '%%');
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

export function systemdUnit(spec: ServiceSpec): string {
  if (spec.allowUid === null) throw new Error('Linux needs the uid of the user whose agent may connect');
  const argv = [
    spec.node,
    ...spec.nodeArgs,
    spec.daemonScript,
    '--allow-uid',
    String(spec.allowUid),
    '--socket-dir',
    spec.socketDir,
    '--state-dir',
    spec.stateDir,
  ];
  return [
    '# Installed by `keyvnet daemon install`; removed by `keyvnet daemon uninstall`.',
    '[Unit]',
    'Description=KeyVNet daemon (virtual network to internal apps through an SSH bastion)',
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${argv.map(systemdQuote).join(' ')}`,
    // SIGTERM: VNet goes down and the OS configuration is undone before exit.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=15',
    'Restart=on-failure',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function systemdInstallPlan(spec: ServiceSpec): ServicePlan {
  return {
    path: SYSTEMD_UNIT_PATH,
    content: systemdUnit(spec),
    commands: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', SYSTEMD_UNIT_NAME],
    ],
  };
}

export function systemdUninstallPlan(): ServicePlan {
  return {
    path: SYSTEMD_UNIT_PATH,
    content: '',
    commands: [['systemctl', 'disable', '--now', SYSTEMD_UNIT_NAME]],
  };
}
