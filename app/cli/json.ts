// `--json` output: one JSON document on stdout, field names stable (README "keyvnet --json").
// VNet status fields are the daemon's (ipc/messages.ts VNetStatus), passed through unchanged.
import type { ConnectionInfo, VNetStatus } from '../../ipc/messages';
import type { AppConfig } from '../config/types';
import type { DaemonInfo } from './format';

export interface StatusJson {
  daemon: { running: true; socket: string; version: string; pid: number } | DaemonDownJson;
  vnet: VNetStatus | null;
}

export interface DaemonDownJson {
  running: false;
  socket: string;
  error: string;
}

export function statusJson(d: DaemonInfo, s: VNetStatus): StatusJson {
  return { daemon: { running: true, socket: d.socket, version: d.version, pid: d.pid }, vnet: s };
}

/** What `status --json` prints when there is no daemon (exit code 3), so scripts still get JSON. */
export function daemonDownJson(socket: string, error: string): StatusJson {
  return { daemon: { running: false, socket, error }, vnet: null };
}

export function connectionsJson(list: ConnectionInfo[]): { connections: ConnectionInfo[] } {
  return { connections: list };
}

export function printJson(write: (t: string) => void, value: unknown): void {
  write(JSON.stringify(value, null, 2) + '\n');
}

export interface AppJson {
  name: string;
  /** A bastion name or "direct". */
  via: string;
  /** "host:port" or "host" (the client's port is used). */
  target: string;
  /** Allowed ports as written ("443", "8000-8100"); empty = all. */
  ports: string[];
  description: string | null;
  /** Virtual addresses while VNet is up, else null. */
  v4: string | null;
  v6: string | null;
}

export function appsJson(
  apps: AppConfig[],
  addresses: Record<string, { v4: string; v6: string | null }>,
): { apps: AppJson[] } {
  return {
    apps: apps.map((a) => ({
      name: a.name,
      via: a.via,
      target: a.target.port === undefined ? a.target.host : `${hostForPort(a.target.host)}:${a.target.port}`,
      ports: a.ports.map((p) => (typeof p === 'number' ? String(p) : `${p[0]}-${p[1]}`)),
      description: a.description,
      v4: addresses[a.name]?.v4 ?? null,
      v6: addresses[a.name]?.v6 ?? null,
    })),
  };
}

function hostForPort(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
