// The one interface the daemon uses to configure the OS around the tun device, whatever the platform,
// and the plain data (steps) that the pure planners produce and the one runner executes.

/** What the daemon asks the OS to do for one tun device. */
export interface OsConfigRequest {
  /** Interface name from the tun device (e.g. `kvn0`, `utun5`). */
  tunName: string;
  mtu: number;
  /** IPv4 VNet range, e.g. `100.64.0.0/10`; the tun gets its `.1` with the range's prefix. */
  ipv4Range: string;
  /** IPv6 VNet range (ULA), e.g. `fd00:6b76:6e00::/64`; null = IPv4 only. Ignored when IPv6 is off in the OS. */
  ipv6Range: string | null;
  /** Our DNS server addresses (v4 first), written into the resolver configuration. */
  dnsAddresses: string[];
  /** DNS zones answered by VNet (e.g. `corp.test`); queries for other names go to the original upstreams. */
  zones: string[];
}

/** How name resolution was pointed at us. */
export type ResolverMode =
  | 'resolver-files' // macOS /etc/resolver/<zone>
  | 'systemd-resolved' // Linux with systemd-resolved: per-link DNS + routing domains
  | 'netns-resolv-conf' // Linux inside `ip netns exec`: the namespace's own resolv.conf
  | 'none'; // nothing safe to change: DNS still answers explicit queries

export interface OsConfigResult {
  /** Whether an IPv6 address and route were configured (false when IPv6 is disabled in the OS). */
  ipv6: boolean;
  resolver: ResolverMode;
  /** Nameservers the system used before us, for forwarding non-zone queries (may be empty). */
  upstreams: string[];
  /** Human-readable notes (e.g. why the resolver was not configured). */
  warnings: string[];
}

export interface OsConfigurator {
  /** Undoes what an earlier run left behind (crash, kill -9): state file and our markers. Never throws. */
  cleanupLeftovers(): Promise<void>;
  /** Whether the OS can give the tun an IPv6 address (so the engine should answer AAAA at all). */
  ipv6Available(): boolean;
  /** Configures address, MTU, routes and resolver. Throws OsConfigError (after undoing partial work) on failure. */
  up(req: OsConfigRequest): Promise<OsConfigResult>;
  /** Undoes what up() did. Idempotent, never throws; problems are logged. */
  down(): Promise<void>;
}

/** One thing to do to the OS. Produced by pure planners, executed only by runner.ts. */
export type Step =
  | { kind: 'run'; argv: string[]; why: string; mayFail?: boolean }
  /** Writes in place (truncate + write, same inode) so bind-mounted files such as a netns resolv.conf work. */
  | { kind: 'write'; path: string; content: string; why: string; mode?: number }
  | { kind: 'remove'; path: string; why: string };

/** A failed step, with the command and what it printed. */
export interface StepFailure {
  step: Step;
  message: string;
}

export class OsConfigError extends Error {
  constructor(
    message: string,
    readonly failures: StepFailure[],
  ) {
    super(message);
    this.name = 'OsConfigError';
  }
}

/** Where log lines go; the daemon forwards these to its log (later to the agent). */
export type OsLog = (level: 'info' | 'warn' | 'error', msg: string) => void;
