// Pure planner for the UDP filter on Linux: iptables/ip6tables steps that refuse, in the sending
// socket, UDP from this host to the VNet ranges, except DNS to our own DNS address. No I/O here.
//
// Why: VNet carries TCP and DNS only, yet every datagram a local process sends to an app's virtual IP
// is routed to the tun, where it waits in the kernel's queue for the tun (500 packets, FIFO) and
// then costs the reader and the engine's main thread a read each. One process flooding an app address
// with 64 KB datagrams filled that queue, so SYNs, DNS queries and a download's ACKs were dropped
// behind it (issue 9). Our own reader's budget cannot help: the drops happen in the kernel before
// it. Refused in OUTPUT, such a datagram never reaches the tun and its sender gets EPERM at once.
// (An `ip rule … unreachable` would also refuse UDP connect(), which ping uses to pick a source.)
import { parseCidr } from './cidr';
import type { Step } from './types';

/** Our chain in the filter table, jumped to from OUTPUT. */
export const UDP_CHAIN = 'KEYVNET-UDP';

export type IpFamily = 4 | 6;

const tool = (f: IpFamily): string => (f === 4 ? 'iptables' : 'ip6tables');
// -w: wait for the xtables lock (another tool may hold it) instead of failing at once; bounded.
const ipt = (f: IpFamily, ...args: string[]): string[] => [tool(f), '-w', '5', ...args];

/** The families of the routed ranges, in order, each once. */
export function familiesOf(routes: string[]): IpFamily[] {
  const fams = routes.map((r) => parseCidr(r).family as IpFamily);
  return ([4, 6] as IpFamily[]).filter((f) => fams.includes(f));
}

/**
 * Steps that install the filter for each routed range. They start by removing an earlier run's chain
 * (so a second `up` leaves one jump, not two), and every step may fail: without iptables VNet works
 * as before, only without this protection (logged as skipped).
 */
export function planUdpFilterUp(routes: string[], dnsAddresses: string[]): Step[] {
  const steps: Step[] = [...planUdpFilterDown(familiesOf(routes))];
  for (const f of familiesOf(routes)) {
    const host = f === 4 ? '32' : '128';
    const dns = dnsAddresses.filter((a) => (f === 4) === !a.includes(':'));
    const ranges = routes.filter((r) => parseCidr(r).family === f);
    steps.push(
      { kind: 'run', argv: ipt(f, '-N', UDP_CHAIN), why: `UDP filter chain (IPv${f})`, mayFail: true },
      ...dns.map((d): Step => ({
        kind: 'run',
        argv: ipt(f, '-A', UDP_CHAIN, '-p', 'udp', '-d', `${d}/${host}`, '--dport', '53', '-j', 'RETURN'),
        why: `let DNS to ${d} through`,
        mayFail: true,
      })),
      ...ranges.map((r): Step => ({
        kind: 'run',
        argv: ipt(f, '-A', UDP_CHAIN, '-p', 'udp', '-d', r, '-j', 'DROP'),
        why: `refuse other UDP to ${r} (VNet carries TCP)`,
        mayFail: true,
      })),
      {
        kind: 'run',
        argv: ipt(f, '-I', 'OUTPUT', '-j', UDP_CHAIN),
        why: `UDP filter on locally sent packets (IPv${f})`,
        mayFail: true,
      },
    );
  }
  return steps;
}

/** Removes the jump and the chain; every step may fail (nothing there, or no iptables). */
export function planUdpFilterDown(families: IpFamily[]): Step[] {
  return families.flatMap((f): Step[] => [
    {
      kind: 'run',
      argv: ipt(f, '-D', 'OUTPUT', '-j', UDP_CHAIN),
      why: 'remove the UDP filter jump',
      mayFail: true,
    },
    { kind: 'run', argv: ipt(f, '-F', UDP_CHAIN), why: 'empty the UDP filter chain', mayFail: true },
    { kind: 'run', argv: ipt(f, '-X', UDP_CHAIN), why: 'remove the UDP filter chain', mayFail: true },
  ]);
}
