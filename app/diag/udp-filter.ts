// UDP filter: is the daemon's KEYVNET-UDP chain in place (Linux)? It refuses UDP sent from this host
// to the VNet ranges (but DNS to our address) before it reaches the tun, so that one program
// flooding an app address cannot hold up VNet's connections (systemext/osconfig/udp-filter.linux.ts).
// Pure: evaluates `iptables -S` / `ip6tables -S` output. Another firewall tool reloading its rules can
// flush the chain while VNet runs; this check is how a user finds out.
import { UDP_CHAIN as CHAIN } from '../../systemext/osconfig/udp-filter.linux';
import { check, type CheckResult } from './types';

const TITLE = 'UDP filter: UDP to app addresses is refused before the tun';

/** One family's rules: the tool, its `-S` output (null: could not be read), the VNet range. */
export interface UdpFilterRules {
  tool: 'iptables' | 'ip6tables';
  rules: string | null;
  range: string;
}

/** What is missing from one family's rules, or null when the jump and the range's DROP are there. */
export function missingFilter(rules: string, range: string): string | null {
  const lines = rules.split('\n').map((l) => l.trim());
  if (!lines.includes(`-A OUTPUT -j ${CHAIN}`)) return `no jump from OUTPUT to ${CHAIN}`;
  const drop = lines.some(
    (l) =>
      l.startsWith(`-A ${CHAIN} `) &&
      l.includes(` -d ${range} `) &&
      / -p udp\b/.test(l) &&
      l.endsWith('-j DROP'),
  );
  return drop ? null : `${CHAIN} does not drop UDP to ${range}`;
}

export function udpFilterCheck(families: UdpFilterRules[]): CheckResult {
  const evidence: string[] = [];
  const missing: string[] = [];
  for (const f of families) {
    if (f.rules === null) {
      evidence.push(`${f.tool}: cannot read the rules (run as root)`);
      continue;
    }
    const why = missingFilter(f.rules, f.range);
    if (why) missing.push(`${f.tool}: ${why}`);
    else evidence.push(`${f.tool}: UDP to ${f.range} is dropped, DNS to VNet let through`);
  }
  if (missing.length > 0)
    return check(
      'udp-filter',
      TITLE,
      'warn',
      [...missing, ...evidence],
      'Another firewall tool may have reloaded its rules, or iptables is not installed: install iptables ' +
        'and turn VNet off and on. Until then a program sending UDP to an app address can slow VNet down.',
    );
  if (evidence.every((e) => e.endsWith('(run as root)'))) return check('udp-filter', TITLE, 'skip', evidence);
  return check('udp-filter', TITLE, 'ok', evidence);
}
