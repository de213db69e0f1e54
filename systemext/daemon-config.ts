// The daemon's configuration file (JSON) and its validation. Every error names the field at fault,
// e.g. `apps[1].target: expected "host" or "host:port"`, so a wrong file is fixed at once.
import { isIP } from 'node:net';

export interface AppConfig {
  /** FQDN inside one of the zones, e.g. `hello.corp.test`. */
  name: string;
  target: { host: string; port?: number };
  /** Allowed ports or inclusive ranges; empty = all. */
  ports: Array<number | [number, number]>;
  via: 'direct';
}

export interface DaemonConfig {
  /** IPv4 VNet range (CIDR /8../24). */
  range: string;
  /** Configure IPv6 (the ULA range) too, when the OS has IPv6. */
  ipv6: boolean;
  zones: string[];
  apps: AppConfig[];
  /** Where the daemon keeps its state (address plan, OS configuration record). */
  stateDir: string;
  mtu: number;
  /** Requested tun name (Linux); the kernel picks one when absent (macOS always does). */
  tunName?: string;
}

export const DEFAULTS = {
  range: '100.64.0.0/10',
  ipv6: true,
  // Persistent, so apps keep their addresses across reboots; a stale OS record there is harmless to undo.
  stateDir: '/var/lib/keyvnet',
  // Chosen with bench/vnet.ts (MTU sweep): figures and reasons in the comment at the top of daemon.ts.
  mtu: defaultMtu(process.platform),
};

/** 64 KiB on Linux (measured best there); 16 KiB on macOS (Teleport's measured choice for utun). */
export function defaultMtu(platform: NodeJS.Platform): number {
  return platform === 'darwin' ? 16384 : 65535;
}

export class ConfigError extends Error {
  constructor(
    /** Path of the offending value, e.g. `apps[0].target` (main.ts turns it into a line number). */
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const DNS_NAME = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Validates parsed JSON into a DaemonConfig; throws ConfigError naming the field. */
export function parseDaemonConfig(x: unknown): DaemonConfig {
  const o = obj(x, '(config)');
  const known = ['range', 'ipv6', 'zones', 'apps', 'stateDir', 'mtu', 'tunName'];
  for (const k of Object.keys(o))
    if (!known.includes(k)) throw new ConfigError(k, `unknown field (known: ${known.join(', ')})`);

  const range = o.range === undefined ? DEFAULTS.range : str(o.range, 'range');
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(range);
  if (!m || isIP(m[1]) !== 4 || Number(m[2]) < 8 || Number(m[2]) > 24) {
    throw new ConfigError(
      'range',
      `expected an IPv4 CIDR with prefix /8../24, e.g. "100.64.0.0/10", got ${JSON.stringify(range)}`,
    );
  }
  const ipv6 = o.ipv6 === undefined ? DEFAULTS.ipv6 : bool(o.ipv6, 'ipv6');
  const mtu = o.mtu === undefined ? DEFAULTS.mtu : int(o.mtu, 'mtu', 1280, 65535);
  const stateDir = o.stateDir === undefined ? DEFAULTS.stateDir : str(o.stateDir, 'stateDir');
  if (!stateDir.startsWith('/')) throw new ConfigError('stateDir', 'must be an absolute path');
  let tunName: string | undefined;
  if (o.tunName !== undefined) {
    tunName = str(o.tunName, 'tunName');
    // IFNAMSIZ is 16 including the NUL (linux/if.h).
    if (!/^[a-zA-Z][a-zA-Z0-9_-]{0,14}$/.test(tunName))
      throw new ConfigError('tunName', 'expected 1-15 letters, digits, - or _');
  }

  if (!Array.isArray(o.zones) || o.zones.length === 0)
    throw new ConfigError('zones', 'expected a non-empty array of DNS zones');
  const zones = o.zones.map((z, i) => {
    const zone = str(z, `zones[${i}]`).toLowerCase().replace(/\.$/, '');
    if (!DNS_NAME.test(zone)) throw new ConfigError(`zones[${i}]`, `not a DNS name: ${JSON.stringify(z)}`);
    return zone;
  });

  if (o.apps !== undefined && !Array.isArray(o.apps)) throw new ConfigError('apps', 'expected an array');
  const seen = new Set<string>();
  const apps = ((o.apps as unknown[] | undefined) ?? []).map((a, i) => {
    const app = parseApp(a, `apps[${i}]`, zones);
    if (seen.has(app.name)) throw new ConfigError(`apps[${i}].name`, `duplicate app ${app.name}`);
    seen.add(app.name);
    return app;
  });
  return { range, ipv6, zones, apps, stateDir, mtu, ...(tunName ? { tunName } : {}) };
}

function parseApp(x: unknown, at: string, zones: string[]): AppConfig {
  const o = obj(x, at);
  const name = str(o.name, `${at}.name`).toLowerCase().replace(/\.$/, '');
  if (!DNS_NAME.test(name)) throw new ConfigError(`${at}.name`, `not a DNS name: ${JSON.stringify(o.name)}`);
  if (!zones.some((z) => name.endsWith(`.${z}`))) {
    throw new ConfigError(`${at}.name`, `${name} is in none of the zones (${zones.join(', ')})`);
  }
  const via = o.via === undefined ? 'direct' : str(o.via, `${at}.via`);
  if (via !== 'direct')
    throw new ConfigError(
      `${at}.via`,
      `only "direct" is supported by the daemon config for now, got ${JSON.stringify(via)}`,
    );
  const target = parseTarget(o.target, `${at}.target`);
  if (o.ports !== undefined && !Array.isArray(o.ports))
    throw new ConfigError(`${at}.ports`, 'expected an array of ports or [from, to]');
  const ports = ((o.ports as unknown[] | undefined) ?? []).map((p, j): number | [number, number] => {
    const f = `${at}.ports[${j}]`;
    if (typeof p === 'number') return int(p, f, 1, 65535);
    if (Array.isArray(p) && p.length === 2) {
      const lo = int(p[0], f, 1, 65535);
      const hi = int(p[1], f, 1, 65535);
      if (lo > hi) throw new ConfigError(f, `range ${lo}-${hi} is reversed`);
      return [lo, hi];
    }
    throw new ConfigError(f, 'expected a port number or [from, to]');
  });
  return { name, target, ports, via: 'direct' };
}

/** `"host"`, `"host:port"`, `"[v6]:port"` or `{ "host": ..., "port": ... }`. */
function parseTarget(x: unknown, at: string): AppConfig['target'] {
  if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
    const o = x as Record<string, unknown>;
    const host = str(o.host, `${at}.host`);
    return o.port === undefined ? { host } : { host, port: int(o.port, `${at}.port`, 1, 65535) };
  }
  const s = str(x, at);
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m || m[1] === '')
    throw new ConfigError(at, `expected "host", "host:port" or "[ipv6]:port", got ${JSON.stringify(s)}`);
  return m[2] === undefined ? { host: m[1] } : { host: m[1], port: int(Number(m[2]), at, 1, 65535) };
}

function obj(x: unknown, at: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw new ConfigError(at, 'expected an object');
  return x as Record<string, unknown>;
}
function str(x: unknown, at: string): string {
  if (typeof x !== 'string' || x === '') throw new ConfigError(at, 'expected a non-empty string');
  return x;
}
function bool(x: unknown, at: string): boolean {
  if (typeof x !== 'boolean') throw new ConfigError(at, 'expected true or false');
  return x;
}
function int(x: unknown, at: string, min: number, max: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    throw new ConfigError(at, `expected an integer ${min}..${max}, got ${JSON.stringify(x)}`);
  }
  return x;
}
