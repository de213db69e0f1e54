// The user's configuration as the agent uses it, after loading and checking (load.ts). Names are
// normalised (lower-case DNS names), paths expanded, defaults filled in: consumers never re-validate.

/** One allowed port, or an inclusive range [from, to]. */
export type PortRange = number | [number, number];

export interface BastionConfig {
  name: string;
  host: string;
  port: number;
  user: string;
  /** Absolute path of the sk private key file (or its .pub). */
  keyPath: string;
  /** "type base64" lines from the config, or null = use known_hosts. */
  hostKeys: string[] | null;
  /** Absolute path; used when hostKeys is null (the file may not exist yet). */
  knownHostsPath: string;
  /** "session": one touch opens a session reused by many connections; "connection": a touch each. */
  policy: 'session' | 'connection';
  /** Seconds between keepalives; 0 = off. */
  keepaliveSec: number;
  /** Seconds a session may live before a new one (and a new touch) is needed; 0 = no limit. */
  maxSessionAgeSec: number;
  /** Name of the bastion this one is reached through (like ProxyJump), or null. */
  jump: string | null;
}

export interface ZoneConfig {
  /** Lower-case DNS suffix, without leading or trailing dot. */
  suffix: string;
  /** Bastion name or 'direct'. */
  via: string;
}

export interface AppConfig {
  /** Lower-case FQDN, inside exactly one zone. */
  name: string;
  /** No port = the port the client connected to. */
  target: { host: string; port?: number };
  /** Allowed ports; empty = all. */
  ports: PortRange[];
  /** Bastion name or 'direct' (the app's own, else its zone's). */
  via: string;
  description: string | null;
}

export interface UserConfig {
  /** The file it was loaded from. */
  path: string;
  vnet: { range: string; ipv6: boolean; mtu: number | null };
  bastions: BastionConfig[];
  zones: ZoneConfig[];
  apps: AppConfig[];
}
