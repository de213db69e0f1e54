import { expect } from 'chai';
import {
  formatAge,
  formatApps,
  formatBytes,
  formatConnections,
  processText,
  formatStatus,
  table,
} from '../../../app/cli/format';
import { appsJson, daemonDownJson, statusJson } from '../../../app/cli/json';
import type { VNetStatus } from '../../../ipc/messages';

const NOW = 1_700_000_000_000;
const down: VNetStatus = {
  state: 'down',
  error: null,
  since: NOW - 65_000,
  tun: null,
  mtu: null,
  ipv4Range: null,
  ipv6Range: null,
  dns: [],
  resolver: null,
  zones: [],
  apps: {},
  connections: 0,
  bastions: [],
};
const up: VNetStatus = {
  ...down,
  state: 'up',
  since: NOW - 3_725_000,
  tun: 'kvn0',
  mtu: 1500,
  ipv4Range: '100.64.0.0/10',
  ipv6Range: 'fd00:6b76:6e00::/64',
  dns: ['100.64.0.2'],
  resolver: 'systemd-resolved',
  zones: ['corp.example.com'],
  apps: { 'grafana.corp.example.com': { v4: '100.64.0.5', v6: null } },
  connections: 2,
  bastions: [
    { name: 'corp', state: 'connected', since: NOW - 10_000, policy: 'session', touches: 1, sessions: 1 },
  ],
};
const daemon = { socket: '/run/keyvnet/daemon.sock', version: '0.1.0', pid: 42 };

describe('cli: human output', () => {
  it('formats ages and sizes', () => {
    expect(formatAge(3_000)).to.equal('3s');
    expect(formatAge(250_000)).to.equal('4m 10s');
    expect(formatAge(7_500_000)).to.equal('2h 5m');
    expect(formatAge(-5)).to.equal('0s');
    expect(formatAge(3 * 86_400_000 + 4 * 3_600_000)).to.equal('3d 4h');
    expect(formatBytes(512)).to.equal('512 B');
    expect(formatBytes(1536)).to.equal('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).to.equal('20.0 MiB');
  });

  it('aligns tables without trailing spaces', () => {
    expect(
      table(
        ['A', 'BB'],
        [
          ['xxx', 'y'],
          ['z', ''],
        ],
      ),
    ).to.equal('A    BB\nxxx  y\nz');
  });

  it('prints a down VNet', () => {
    expect(formatStatus(daemon, down, NOW)).to.equal(
      'KeyVNet daemon 0.1.0 (pid 42) on /run/keyvnet/daemon.sock\nVNet: down for 1m 5s\n',
    );
    expect(formatStatus(daemon, { ...down, state: 'error', error: 'tun failed' }, NOW)).to.contain(
      '  error: tun failed',
    );
  });

  it('prints an up VNet with its bastions', () => {
    expect(formatStatus(daemon, up, NOW)).to.equal(
      [
        'KeyVNet daemon 0.1.0 (pid 42) on /run/keyvnet/daemon.sock',
        'VNet: up for 1h 2m on kvn0, MTU 1500',
        '  ranges:      100.64.0.0/10, fd00:6b76:6e00::/64',
        '  DNS:         100.64.0.2 (resolver: systemd-resolved)',
        '  zones:       corp.example.com',
        '  apps:        1',
        '  connections: 2',
        'Bastions:',
        '  NAME  STATE      FOR  DETAILS                      REASON',
        '  corp  connected  10s  session, 1 touch, 1 session',
        '',
      ].join('\n'),
    );
  });

  it('prints connections', () => {
    expect(formatConnections([], NOW)).to.equal('No open connections.\n');
    const text = formatConnections(
      [
        {
          id: 7,
          fqdn: 'a.corp',
          port: 443,
          openedAt: NOW - 5000,
          bytesUp: 100,
          bytesDown: 2048,
          via: 'corp',
        },
      ],
      NOW,
    );
    expect(text).to.equal(
      'ID  APP         VIA   AGE  UP     DOWN     PROCESS\n7   a.corp:443  corp  5s   100 B  2.0 KiB  -\n',
    );
    const withProcess = formatConnections(
      [
        {
          id: 8,
          fqdn: 'a.corp',
          port: 7,
          openedAt: NOW,
          bytesUp: 0,
          bytesDown: 0,
          via: 'corp',
          process: { pid: 4051, name: 'curl' },
        },
      ],
      NOW,
    );
    expect(withProcess.split('\n')[1]).to.match(/ curl \(4051\)$/);
    expect(processText({ pid: 9, name: 'evil\u001b[2J' })).to.equal('evil?[2J (9)');
    expect(processText({ pid: 9 })).to.equal('pid 9');
  });

  it('prints apps with their addresses', () => {
    const { apps } = appsJson(
      [
        {
          name: 'g.corp',
          via: 'corp',
          target: { host: 'grafana', port: 3000 },
          ports: [80, [8000, 8100]],
          description: 'Grafana',
        },
        {
          name: 'v6.corp',
          via: 'direct',
          target: { host: 'fd00::1', port: 22 },
          ports: [],
          description: null,
        },
      ],
      { 'g.corp': { v4: '100.64.0.5', v6: null } },
    );
    expect(apps[1].target).to.equal('[fd00::1]:22');
    expect(formatApps(apps)).to.equal(
      'APP      ADDRESS     VIA     TARGET        PORTS         DESCRIPTION\n' +
        'g.corp   100.64.0.5  corp    grafana:3000  80,8000-8100  Grafana\n' +
        'v6.corp  -           direct  [fd00::1]:22  all\n',
    );
  });
});

describe('cli: JSON output (stable field names)', () => {
  it('status', () => {
    const j = statusJson(daemon, up);
    expect(Object.keys(j)).to.deep.equal(['daemon', 'vnet']);
    expect(j.daemon).to.deep.equal({ running: true, ...daemon });
    expect(Object.keys(j.vnet!)).to.have.members([
      'state',
      'error',
      'since',
      'tun',
      'mtu',
      'ipv4Range',
      'ipv6Range',
      'dns',
      'resolver',
      'zones',
      'apps',
      'connections',
      'bastions',
    ]);
    expect(daemonDownJson('/x.sock', 'gone')).to.deep.equal({
      daemon: { running: false, socket: '/x.sock', error: 'gone' },
      vnet: null,
    });
  });

  it('apps', () => {
    const { apps } = appsJson(
      [{ name: 'g.corp', via: 'corp', target: { host: 'grafana' }, ports: [443], description: null }],
      {},
    );
    expect(apps).to.deep.equal([
      {
        name: 'g.corp',
        via: 'corp',
        target: 'grafana',
        ports: ['443'],
        description: null,
        v4: null,
        v6: null,
      },
    ]);
  });
});
