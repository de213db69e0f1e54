// Pure parsers for the system's DNS configuration, to find the upstream resolvers the VNet
// DNS server forwards to. I/O lives in upstreams.linux.ts / upstreams.darwin.ts.
import { isIP } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

/** `nameserver` lines of resolv.conf(5) (scope ids and comments stripped). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1].split('%')[0];
    if (isIP(host)) out.push(host);
  }
  return out;
}

/**
 * Global DNS servers from `resolvectl dns` output, e.g.
 *   Global: 10.0.0.1
 *   Link 2 (eth0): 192.168.1.1 fe80::1%2
 * Link lines are included too (resolved forwards per link); addresses may carry '#name' or ':port'.
 */
export function parseResolvectlDns(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(Global|Link \d+ \([^)]*\)):(.*)$/.exec(line);
    if (!m) continue;
    for (const tok of m[2].trim().split(/\s+/)) {
      const host = tok.split('#')[0].split('%')[0];
      if (isIP(host) && !out.includes(host)) out.push(host);
    }
  }
  return out;
}

export interface ScutilResolver {
  nameservers: string[];
  domains: string[];
  /** Resolvers only for specific domains (supplemental/scoped) have domains; the default has none. */
  port?: number;
}

/**
 * `scutil --dns` output (macOS): blocks "resolver #N" with "nameserver[i] : addr",
 * "domain : x", "search domain[i] : x", "port : n". Only the "DNS configuration" section (not
 * "DNS configuration (for scoped queries)") is read.
 */
export function parseScutilDns(text: string): ScutilResolver[] {
  const out: ScutilResolver[] = [];
  let cur: ScutilResolver | null = null;
  for (const line of text.split('\n')) {
    if (/^DNS configuration \(for scoped queries\)/.test(line)) break;
    if (/^resolver #\d+/.test(line)) {
      cur = { nameservers: [], domains: [] };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const m = /^\s*([a-z ]+?)(?:\[\d+\])?\s*:\s*(\S+)/.exec(line);
    if (!m) continue;
    if (m[1] === 'nameserver' && isIP(m[2].split('%')[0])) cur.nameservers.push(m[2].split('%')[0]);
    else if (m[1] === 'domain') cur.domains.push(m[2].toLowerCase());
    else if (m[1] === 'port') cur.port = Number(m[2]);
  }
  return out;
}

/** The default resolvers of a scutil listing: those with no domain (the first such block). */
export function defaultScutilServers(resolvers: ScutilResolver[]): Upstream[] {
  const def = resolvers.find((r) => r.domains.length === 0 && r.nameservers.length > 0);
  return (def?.nameservers ?? []).map((host) => ({ host, port: def?.port ?? 53 }));
}

/**
 * Drops upstreams that would loop back to us: our own DNS addresses, and loopback stubs
 * (127.0.0.53 systemd-resolved, 127.0.0.1 dnsmasq...) that may forward VNet zones to us.
 */
export function excludeSelf(hosts: Upstream[], ownAddrs: string[]): Upstream[] {
  return hosts.filter((u) => !ownAddrs.includes(u.host) && !/^127\./.test(u.host) && u.host !== '::1');
}
