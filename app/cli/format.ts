// Human output of the read commands, pure (the clock is an argument) so tests compare exact text.
// JSON output is built in json.ts; both come from the same daemon answers.
import type { BastionStateInfo, ConnectionInfo, VNetStatus } from '../../ipc/messages';
import type { AppJson } from './json';

export interface DaemonInfo {
  socket: string;
  version: string;
  pid: number;
}

/** "3s", "4m 10s", "2h 5m", "3d 4h": how long ago, for humans. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "512 B", "1.5 KiB", "20.0 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Left-aligned columns, two spaces apart; no trailing spaces. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i] - [...cell].length)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatBastion(b: BastionStateInfo, now: number): string[] {
  const touches = `${b.touches} ${b.touches === 1 ? 'touch' : 'touches'}`;
  return [
    b.name,
    b.state,
    formatAge(now - b.since),
    `${b.policy}, ${touches}, ${b.sessions} ${b.sessions === 1 ? 'session' : 'sessions'}`,
    b.reason ?? '',
  ];
}

export function formatStatus(d: DaemonInfo, s: VNetStatus, now: number): string {
  const lines = [`KeyVNet daemon ${d.version} (pid ${d.pid}) on ${d.socket}`];
  const since = `for ${formatAge(now - s.since)}`;
  if (s.state === 'up') {
    lines.push(`VNet: up ${since} on ${s.tun ?? '?'}${s.mtu !== null ? `, MTU ${s.mtu}` : ''}`);
    lines.push(`  ranges:      ${[s.ipv4Range, s.ipv6Range].filter((r) => r !== null).join(', ')}`);
    lines.push(`  DNS:         ${s.dns.join(', ') || '-'}${s.resolver ? ` (resolver: ${s.resolver})` : ''}`);
    lines.push(`  zones:       ${s.zones.join(', ') || '-'}`);
    lines.push(`  apps:        ${Object.keys(s.apps).length}`);
    lines.push(`  connections: ${s.connections}`);
  } else {
    lines.push(`VNet: ${s.state} ${since}`);
  }
  if (s.error) lines.push(`  error: ${s.error}`);
  if (s.bastions.length > 0) {
    lines.push('Bastions:');
    const t = table(
      ['NAME', 'STATE', 'FOR', 'DETAILS', 'REASON'],
      s.bastions.map((b) => formatBastion(b, now)),
    );
    lines.push(...t.split('\n').map((l) => `  ${l}`));
  }
  return lines.join('\n') + '\n';
}

export function formatConnections(list: ConnectionInfo[], now: number): string {
  if (list.length === 0) return 'No open connections.\n';
  const rows = list.map((c) => [
    String(c.id),
    `${c.fqdn}:${c.port}`,
    c.via,
    formatAge(now - c.openedAt),
    formatBytes(c.bytesUp),
    formatBytes(c.bytesDown),
    processText(c.process),
  ]);
  return table(['ID', 'APP', 'VIA', 'AGE', 'UP', 'DOWN', 'PROCESS'], rows) + '\n';
}

/** "curl (4051)", "-" when the OS did not tell; a name's control characters never reach the terminal. */
export function processText(p: ConnectionInfo['process']): string {
  if (!p) return '-';
  // eslint-disable-next-line no-control-regex
  const name = (p.name ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return name ? `${name} (${p.pid})` : `pid ${p.pid}`;
}

export function formatApps(apps: AppJson[]): string {
  if (apps.length === 0) return 'No apps in the config.\n';
  const rows = apps.map((a) => [
    a.name,
    a.v4 ?? '-',
    a.via,
    a.target,
    a.ports.length === 0 ? 'all' : a.ports.join(','),
    a.description ?? '',
  ]);
  return table(['APP', 'ADDRESS', 'VIA', 'TARGET', 'PORTS', 'DESCRIPTION'], rows) + '\n';
}
