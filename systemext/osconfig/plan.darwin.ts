// Pure planners for macOS: ifconfig(8) / route(8) command lines and /etc/resolver file steps. No I/O here.
import { join } from 'node:path';
import { firstHost, parseCidr, v4Netmask } from './cidr';
import { diffResolverDir } from './resolver-dir';
import type { OsState } from './state';
import type { OsConfigRequest, Step } from './types';

export const RESOLVER_DIR = '/etc/resolver';

/** ifconfig/route steps: utun is point-to-point, so inet takes a local and a destination address. */
export function planUpDarwin(req: OsConfigRequest, ipv6: boolean): Step[] {
  const dev = req.tunName;
  const v4 = parseCidr(req.ipv4Range);
  if (v4.family !== 4) throw new Error(`ipv4Range must be IPv4: ${req.ipv4Range}`);
  const me = firstHost(v4);
  const steps: Step[] = [
    {
      kind: 'run',
      argv: ['ifconfig', dev, 'inet', me, me, 'netmask', v4Netmask(v4.prefix), 'mtu', String(req.mtu), 'up'],
      why: 'IPv4 address, MTU, up',
    },
  ];
  if (ipv6 && req.ipv6Range) {
    const v6 = parseCidr(req.ipv6Range);
    if (v6.family !== 6) throw new Error(`ipv6Range must be IPv6: ${req.ipv6Range}`);
    steps.push({
      kind: 'run',
      argv: ['ifconfig', dev, 'inet6', firstHost(v6), 'prefixlen', String(v6.prefix)],
      why: 'IPv6 address',
    });
  }
  for (const r of darwinRoutes(req, ipv6)) {
    steps.push({
      kind: 'run',
      argv: ['route', '-n', 'add', ...(r.includes(':') ? ['-inet6'] : []), '-net', r, '-interface', dev],
      why: `route ${r} via the tun`,
    });
  }
  return steps;
}

export function darwinRoutes(req: OsConfigRequest, ipv6: boolean): string[] {
  const v4 = parseCidr(req.ipv4Range);
  const out = [`${v4.network}/${v4.prefix}`];
  if (ipv6 && req.ipv6Range) {
    const v6 = parseCidr(req.ipv6Range);
    out.push(`${v6.network}/${v6.prefix}`);
  }
  return out;
}

/** Route removal from a state record (the utun vanishes with our fd, addresses with it). */
export function planDownDarwin(state: OsState): Step[] {
  return state.routes.map((r): Step => ({
    kind: 'run',
    argv: [
      'route',
      '-n',
      'delete',
      ...(r.includes(':') ? ['-inet6'] : []),
      '-net',
      r,
      '-interface',
      state.tunName,
    ],
    why: `remove route ${r}`,
    mayFail: true,
  }));
}

/** Steps that bring /etc/resolver to the wanted files (writes and removals only where needed). */
export function planResolverDir(
  dir: string,
  existing: Map<string, string>,
  wanted: Map<string, string>,
): Step[] {
  const d = diffResolverDir(existing, wanted);
  return [
    ...d.write.map((w): Step => ({
      kind: 'write',
      path: join(dir, w.name),
      content: w.content,
      mode: 0o644,
      why: `resolver for ${w.name}`,
    })),
    ...d.remove.map((n): Step => ({ kind: 'remove', path: join(dir, n), why: `stale resolver ${n}` })),
  ];
}
