// Route conflicts: another interface (a VPN, Tailscale, Docker, a LAN) routing part of the VNet range.
// Pure: parses `ip -j -4 route show table all` (Linux) and `netstat -rn -f inet` (macOS) output.
import { check, type CheckResult } from './types';
import { overlaps, range4, suggestFreeRange, type Range4 } from './ipv4';

export interface Route {
  /** Destination, normalised CIDR. */
  dst: Range4;
  dev: string;
  /** Routing table ("main" unless said otherwise; Linux policy routing can consult others first). */
  table: string;
}

/** `ip -j route show table all`: unicast IPv4 routes (local/broadcast entries and default are left out). */
export function parseIpJsonRoutes(json: string): Route[] {
  let rows: unknown;
  try {
    rows = JSON.parse(json);
  } catch {
    throw new Error('ip -j route printed something that is not JSON');
  }
  if (!Array.isArray(rows)) return [];
  const out: Route[] = [];
  for (const r of rows as Array<Record<string, unknown>>) {
    const type = typeof r.type === 'string' ? r.type : 'unicast';
    if (type !== 'unicast' || typeof r.dst !== 'string' || r.dst === 'default') continue;
    const dst = range4(r.dst);
    if (!dst) continue;
    out.push({
      dst,
      dev: typeof r.dev === 'string' ? r.dev : '?',
      table: typeof r.table === 'string' ? r.table : 'main',
    });
  }
  return out;
}

/**
 * macOS `netstat -rn -f inet`. Destinations are abbreviated: "10/8", "192.168.1" (a /24 by its
 * octets), "127" (/8), a full address is a host (/32); "default" is left out.
 */
export function parseNetstatRoutes(text: string): Route[] {
  const out: Route[] = [];
  let netifCol = -1;
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === 'Destination') {
      netifCol = cols.indexOf('Netif');
      continue;
    }
    if (netifCol < 0 || cols.length <= netifCol || cols[0] === 'default') continue;
    const [addr, p] = cols[0].split('%')[0].split('/');
    const octets = addr.split('.');
    if (octets.length > 4 || octets.some((o) => !/^\d{1,3}$/.test(o))) continue;
    const prefix = p !== undefined ? Number(p) : octets.length * 8;
    const full = [...octets, '0', '0', '0'].slice(0, 4).join('.');
    const dst = range4(`${full}/${prefix}`);
    if (dst) out.push({ dst, dev: cols[netifCol], table: 'main' });
  }
  return out;
}

/** Interfaces of well-known tools, to name them in the evidence. */
export function describeInterface(dev: string): string {
  if (/^tailscale\d*$/.test(dev)) return `${dev} (Tailscale, which uses 100.64.0.0/10)`;
  if (/^(docker\d*|br-[0-9a-f]+)$/.test(dev)) return `${dev} (Docker)`;
  if (/^(wg\d+|utun\d+|tun\d+|ppp\d+|ipsec\d+)$/.test(dev)) return `${dev} (a VPN)`;
  return dev;
}

/**
 * Routes through other interfaces that take VNet traffic: any overlap that is as specific as ours or
 * more (longest prefix wins), or any overlap in another table (policy routing may look there first,
 * as Tailscale's table 52 is). A wider route in the main table is harmless: ours is more specific.
 */
export function routeConflicts(vnet: Range4, routes: Route[], ourDev: string | null): Route[] {
  return routes.filter(
    (r) =>
      r.dev !== ourDev &&
      overlaps(r.dst, vnet) &&
      (r.dst.prefix >= vnet.prefix || (r.table !== 'main' && r.table !== 'local')),
  );
}

export function routeCheck(vnetCidr: string, routes: Route[], ourDev: string | null): CheckResult {
  const title = `Routes: nothing else routes the VNet range ${vnetCidr}`;
  const vnet = range4(vnetCidr);
  if (!vnet) return check('routes', title, 'skip', [`${vnetCidr} is not an IPv4 range`]);
  const bad = routeConflicts(vnet, routes, ourDev);
  if (bad.length === 0) {
    const ours = routes.filter((r) => r.dev === ourDev && r.dst.cidr === vnet.cidr);
    return check('routes', title, 'ok', [
      ours.length > 0
        ? `${vnet.cidr} is routed to ${ourDev}`
        : `no other interface routes any part of ${vnet.cidr}`,
    ]);
  }
  const evidence = bad.map(
    (r) => `${r.dst.cidr} → ${describeInterface(r.dev)}${r.table !== 'main' ? ` (table ${r.table})` : ''}`,
  );
  const free = suggestFreeRange(
    vnet,
    routes.filter((r) => r.dev !== ourDev).map((r) => r.dst),
  );
  const fix =
    `Traffic to those addresses goes to ${[...new Set(bad.map((r) => r.dev))].join(', ')} instead of VNet. ` +
    (free
      ? `Use a free range: set range = "${free}" under [vnet] in your config.`
      : 'Choose a [vnet] range that no interface routes.');
  return check('routes', title, 'fail', evidence, fix);
}
