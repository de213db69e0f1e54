// Resolver checks: is the system pointed at VNet's DNS for each zone, and does a name in each zone
// resolve through the system resolver (getent / dscacheutil, not our socket). Pure over the outputs
// of resolvectl, resolv.conf and `scutil --dns`.
import { parseResolvConf, parseScutilDns } from '../../systemext/dns/system-config-parse';
import { range4 } from './ipv4';
import { check, type CheckResult } from './types';

export interface ResolvedLink {
  dnsServers: string[];
  /** Search and routing domains as listed ("~corp.example.com" is routing-only). */
  domains: string[];
}

/** `resolvectl status LINK`: the "DNS Servers:" and "DNS Domain:" fields (continuation lines included). */
export function parseResolvectlLink(text: string): ResolvedLink {
  const out: ResolvedLink = { dnsServers: [], domains: [] };
  let field: 'dns' | 'domain' | null = null;
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z ]+):\s*(.*)$/.exec(line);
    let values: string;
    if (m) {
      field = m[1].trim() === 'DNS Servers' ? 'dns' : m[1].trim() === 'DNS Domain' ? 'domain' : null;
      values = m[2];
    } else if (field !== null && /^\s+\S/.test(line)) values = line;
    else {
      field = null;
      continue;
    }
    if (field === null) continue;
    for (const tok of values.trim().split(/\s+/).filter(Boolean)) {
      if (field === 'dns') out.dnsServers.push(tok.split('#')[0].split('%')[0]);
      else out.domains.push(tok.toLowerCase().replace(/\.$/, ''));
    }
  }
  return out;
}

export interface ResolverExpectation {
  /** Our DNS addresses (from the daemon's status). */
  dns: string[];
  zones: string[];
  tun: string | null;
}

const TITLE = 'Resolver: the system asks VNet for each zone';

export function resolvedCheck(linkText: string | null, want: ResolverExpectation): CheckResult {
  if (linkText === null)
    return check(
      'resolver.config',
      TITLE,
      'fail',
      [`resolvectl status ${want.tun} failed`],
      'Is systemd-resolved running?',
    );
  const link = parseResolvectlLink(linkText);
  const evidence = [
    `${want.tun}: DNS servers ${link.dnsServers.join(' ') || '(none)'}`,
    `${want.tun}: DNS domains ${link.domains.join(' ') || '(none)'}`,
  ];
  const missingDns = !want.dns.some((a) => link.dnsServers.includes(a));
  const missingZones = want.zones.filter((z) => !link.domains.includes(`~${z}`) && !link.domains.includes(z));
  if (!missingDns && missingZones.length === 0) return check('resolver.config', TITLE, 'ok', evidence);
  if (missingDns) evidence.push(`our DNS ${want.dns.join(' ')} is not set on ${want.tun}`);
  if (missingZones.length > 0) evidence.push(`zones without a routing domain: ${missingZones.join(', ')}`);
  return check(
    'resolver.config',
    TITLE,
    'fail',
    evidence,
    'Turn VNet off and on (keyvnet down; keyvnet up) so the daemon sets the link DNS again; check that nothing else (NetworkManager, a VPN client) resets it.',
  );
}

export function resolvConfCheck(text: string | null, want: ResolverExpectation): CheckResult {
  if (text === null)
    return check(
      'resolver.config',
      TITLE,
      'fail',
      ['/etc/resolv.conf is missing'],
      'Turn VNet off and on to write it again.',
    );
  const servers = parseResolvConf(text);
  const evidence = [`/etc/resolv.conf nameservers: ${servers.join(' ') || '(none)'}`];
  if (want.dns.some((a) => servers[0] === a)) return check('resolver.config', TITLE, 'ok', evidence);
  return check(
    'resolver.config',
    TITLE,
    'fail',
    [...evidence, `the first nameserver should be ours (${want.dns.join(' ')})`],
    'Something rewrote /etc/resolv.conf; turn VNet off and on (keyvnet down; keyvnet up).',
  );
}

export function scutilCheck(text: string, want: ResolverExpectation): CheckResult {
  const resolvers = parseScutilDns(text);
  const evidence: string[] = [];
  const missing: string[] = [];
  for (const zone of want.zones) {
    const r = resolvers.find((x) => x.domains.includes(zone));
    if (r && r.nameservers.some((a) => want.dns.includes(a)))
      evidence.push(`${zone}: nameserver ${r.nameservers.join(' ')}`);
    else {
      missing.push(zone);
      evidence.push(
        r ? `${zone}: resolver with ${r.nameservers.join(' ')}, not ours` : `${zone}: no resolver`,
      );
    }
  }
  if (missing.length === 0) return check('resolver.config', TITLE, 'ok', evidence);
  return check(
    'resolver.config',
    TITLE,
    'fail',
    evidence,
    `macOS has no resolver pointing at VNet for ${missing.join(', ')}: check /etc/resolver/<zone> (a file of your own for the zone wins over ours), then turn VNet off and on.`,
  );
}

/** What the resolver mode alone says (the daemon reports it in status.resolver). */
export function resolverModeCheck(mode: string | null): CheckResult | null {
  if (mode === 'none')
    return check(
      'resolver.config',
      TITLE,
      'warn',
      ['the daemon found no resolver configuration it may change (status.resolver = none)'],
      'Names in VNet zones resolve only when asked of the VNet DNS address directly; install systemd-resolved, or point your resolver at the VNet DNS for the zones.',
    );
  return null;
}

export interface Lookup {
  zone: string;
  name: string;
  /** Addresses the system resolver returned (empty when it failed). */
  addresses: string[];
  /** What the lookup command said, when it failed. */
  error: string | null;
  /** The address the daemon assigned, when known. */
  expected: string | null;
}

/** One check per zone: the system resolver answers a name of the zone with a VNet address. */
export function lookupCheck(l: Lookup, vnetRange: string): CheckResult {
  const id = `resolver.lookup.${l.zone}`;
  const title = `DNS round trip for ${l.zone} (${l.name}) through the system resolver`;
  const range = range4(vnetRange);
  const inRange = l.addresses.filter((a) => {
    const r = range4(a);
    return r !== null && range !== null && r.start >= range.start && r.end <= range.end;
  });
  if (l.addresses.length === 0)
    return check(
      id,
      title,
      'fail',
      [`${l.name}: no answer${l.error ? ` (${l.error})` : ''}`],
      'The system resolver does not reach VNet for this zone: see the resolver check above.',
    );
  if (inRange.length === 0)
    return check(
      id,
      title,
      'fail',
      [`${l.name} → ${l.addresses.join(' ')}: not a VNet address (${vnetRange})`],
      'Another resolver answers this zone first (a VPN, /etc/hosts, a search domain); make VNet the resolver for the zone.',
    );
  if (l.expected !== null && !inRange.includes(l.expected))
    return check(
      id,
      title,
      'warn',
      [`${l.name} → ${l.addresses.join(' ')}; the daemon assigned ${l.expected}`],
      'A cached answer from an earlier VNet session: flush the DNS cache (macOS: sudo killall -HUP mDNSResponder; systemd: resolvectl flush-caches).',
    );
  return check(id, title, 'ok', [`${l.name} → ${inRange.join(' ')}`]);
}

/** `getent ahostsv4 NAME` lines: "100.64.0.5      STREAM name". */
export function parseGetent(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const a = line.trim().split(/\s+/)[0];
    if (a && range4(a) && !out.includes(a)) out.push(a);
  }
  return out;
}

/** `dscacheutil -q host -a name NAME`: "ip_address: 100.64.0.5" lines. */
export function parseDscacheutil(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^ip_address:\s*(\S+)/gm)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}
