// Pure planners for Linux: iproute2 ip(8) command lines and resolver steps. No I/O here.
import { firstHost, parseCidr } from './cidr';
import { originalFrom, ourResolvConf } from './resolv-conf';
import type { OsState } from './state';
import type { OsConfigRequest, ResolverMode, Step } from './types';

/**
 * IPv6 is usable on a new tun unless the kernel has none (/proc/net/if_inet6 missing) or it is disabled by
 * sysctl for all devices or for new ones (`net.ipv6.conf.{all,default}.disable_ipv6` = 1, ip-sysctl.rst).
 * Arguments are the files' contents, null when absent.
 */
export function ipv6Enabled(
  disableAll: string | null,
  disableDefault: string | null,
  ifInet6Exists: boolean,
): boolean {
  if (!ifInet6Exists) return false;
  return disableAll?.trim() !== '1' && disableDefault?.trim() !== '1';
}

/** Addresses and routes for the tun: `.1` of each range with the range's prefix, a route per range. */
export function interfacePlan(
  req: OsConfigRequest,
  ipv6: boolean,
): { addresses: string[]; routes: string[] } {
  const v4 = parseCidr(req.ipv4Range);
  if (v4.family !== 4) throw new Error(`ipv4Range must be IPv4: ${req.ipv4Range}`);
  const addresses = [`${firstHost(v4)}/${v4.prefix}`];
  const routes = [`${v4.network}/${v4.prefix}`];
  if (ipv6 && req.ipv6Range) {
    const v6 = parseCidr(req.ipv6Range);
    if (v6.family !== 6) throw new Error(`ipv6Range must be IPv6: ${req.ipv6Range}`);
    addresses.push(`${firstHost(v6)}/${v6.prefix}`);
    routes.push(`${v6.network}/${v6.prefix}`);
  }
  return { addresses, routes };
}

/** ip(8) steps that give the tun its addresses and MTU, bring it up and route the ranges to it. */
export function planUpLinux(req: OsConfigRequest, ipv6: boolean): Step[] {
  const dev = req.tunName;
  const { addresses, routes } = interfacePlan(req, ipv6);
  const fam = (a: string) => (a.includes(':') ? ['-6'] : ['-4']);
  return [
    // MTU before up and before IPv6 addresses (IPv6 needs >= 1280, RFC 8200 §5).
    { kind: 'run', argv: ['ip', 'link', 'set', 'dev', dev, 'mtu', String(req.mtu), 'up'], why: 'MTU and up' },
    // Fair queueing on the tun, so one bulk flow's queue does not delay another's packets. Kernels
    // built without sch_fq_codel (or hosts without tc) refuse it: logged as skipped, not an error.
    // The qdisc goes with the device: nothing to undo.
    {
      kind: 'run',
      argv: ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'fq_codel'],
      why: 'fq_codel on the tun',
      mayFail: true,
    },
    ...addresses.map((a): Step => ({
      kind: 'run',
      // `replace` is idempotent; `noprefixroute`: the route below is the only one, and ours to remove;
      // `nodad`: a tun has no neighbours, duplicate address detection would only delay use.
      argv: [
        'ip',
        ...fam(a),
        'addr',
        'replace',
        a,
        'dev',
        dev,
        'noprefixroute',
        ...(a.includes(':') ? ['nodad'] : []),
      ],
      why: `address ${a}`,
    })),
    ...routes.map((r): Step => ({
      kind: 'run',
      argv: ['ip', ...fam(r), 'route', 'replace', r, 'dev', dev],
      why: `route ${r} via the tun`,
    })),
  ];
}

/** Undo steps from a state record. All may fail: the tun (and with it its addresses/routes) may be gone. */
export function planDownLinux(state: OsState): Step[] {
  const dev = state.tunName;
  const fam = (a: string) => (a.includes(':') ? ['-6'] : ['-4']);
  return [
    ...state.routes.map((r): Step => ({
      kind: 'run',
      argv: ['ip', ...fam(r), 'route', 'del', r, 'dev', dev],
      why: `remove route ${r}`,
      mayFail: true,
    })),
    ...state.addresses.map((a): Step => ({
      kind: 'run',
      argv: ['ip', ...fam(a), 'addr', 'del', a, 'dev', dev],
      why: `remove address ${a}`,
      mayFail: true,
    })),
  ];
}

/** Facts about the system that decide how the resolver is configured. */
export interface LinuxResolverFacts {
  /** /run/systemd/resolve exists and `resolvectl status` succeeded. */
  resolvedRunning: boolean;
  /** We run under `ip netns exec NAME` and /etc/resolv.conf is the bind-mounted /etc/netns/NAME/resolv.conf. */
  netnsResolvConf: boolean;
  /** We share pid 1's network namespace: only there do resolved's links include our tun. */
  inHostNetns: boolean;
}

/**
 * A namespace's own resolv.conf wins: processes in the namespace read that file, not the host's
 * systemd-resolved. And resolved (reached over the host's D-Bus) only knows links of the host's
 * namespace, so in any other namespace it cannot take our tun.
 */
export function chooseLinuxResolver(f: LinuxResolverFacts): ResolverMode {
  if (f.netnsResolvConf) return 'netns-resolv-conf';
  if (f.resolvedRunning && f.inHostNetns) return 'systemd-resolved';
  return 'none';
}

/** Steps for systemd-resolved: per-link DNS servers and `~zone` routing-only domains (resolvectl(1)). */
export function planResolvedUp(tunName: string, dnsAddresses: string[], zones: string[]): Step[] {
  return [
    {
      kind: 'run',
      argv: ['resolvectl', 'dns', tunName, ...dnsAddresses],
      why: 'DNS servers for the tun link',
    },
    {
      kind: 'run',
      argv: ['resolvectl', 'domain', tunName, ...zones.map((z) => `~${z.replace(/\.$/, '')}`)],
      why: 'route VNet zones to the tun link',
    },
  ];
}

export function planResolvedDown(tunName: string): Step[] {
  return [{ kind: 'run', argv: ['resolvectl', 'revert', tunName], why: 'drop per-link DNS', mayFail: true }];
}

/** Rewrites the namespace's resolv.conf (in place: it is a bind mount) to point at our DNS addresses. */
export function planResolvConfUp(path: string, current: string, dnsAddresses: string[]): Step[] {
  // If the file is already ours (an earlier run was not cleaned up), keep ITS original, not our copy.
  const original = originalFrom(current) ?? current;
  return [
    {
      kind: 'write',
      path,
      content: ourResolvConf(original, dnsAddresses),
      why: 'point resolv.conf at VNet DNS',
    },
  ];
}

/** Restores the original resolv.conf from one of our files; nothing when the file is not ours. */
export function planResolvConfDown(path: string, current: string | null): Step[] {
  if (current === null) return [];
  const original = originalFrom(current);
  if (original === null) return [];
  return [{ kind: 'write', path, content: original, why: 'restore the original resolv.conf' }];
}
