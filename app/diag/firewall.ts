// Firewall: would the host firewall drop the SYNs VNet delivers on its tun (Linux: they arrive on the
// tun and go through INPUT; macOS: pf on the utun)? Pure: evaluates `iptables-save`, `nft -j list
// ruleset` and `pfctl -s rules` output for "a new TCP connection arriving on <tun>". Rules with
// conditions we do not model (addresses, ports, conntrack state) are passed over, and said so.
import { check, type CheckResult } from './types';

export interface Verdict {
  /** 'accept': reaches us; 'drop': dropped or rejected; 'unknown': a jump or a condition we cannot judge. */
  result: 'accept' | 'drop' | 'unknown';
  /** The rule (or policy) that decided, as text. */
  because: string;
  /** Rules that might drop it, depending on conditions we did not evaluate. */
  maybe: string[];
}

/** iptables/nft interface match: exact, or a prefix with a trailing '+' (iptables) / '*' (nft). */
export function ifaceMatches(pattern: string, dev: string): boolean {
  if (pattern.endsWith('+') || pattern.endsWith('*')) return dev.startsWith(pattern.slice(0, -1));
  return pattern === dev;
}

/** The filter table's INPUT chain of `iptables-save` output, for a TCP SYN arriving on `dev`. */
export function evalIptables(save: string, dev: string): Verdict | null {
  let table = '';
  let policy: string | null = null;
  const rules: string[] = [];
  for (const line of save.split('\n').map((l) => l.trim())) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (table === 'filter' && line.startsWith(':INPUT ')) policy = line.split(/\s+/)[1];
    else if (table === 'filter' && line.startsWith('-A INPUT ')) rules.push(line);
  }
  if (policy === null) return null;
  const maybe: string[] = [];
  for (const rule of rules) {
    const t = rule.split(/\s+/).slice(2);
    let applies = true;
    let conditional = false;
    let target = '';
    for (let i = 0; i < t.length; i++) {
      const neg = t[i] === '!';
      if (neg) i++;
      const opt = t[i];
      const val = t[i + 1];
      if (opt === '-i' || opt === '--in-interface') {
        if (ifaceMatches(val, dev) === neg) applies = false;
        i++;
      } else if (opt === '-p' || opt === '--protocol') {
        const tcp = ['tcp', '6', 'all'].includes(val);
        if (tcp === neg) applies = false;
        i++;
      } else if (opt === '-j' || opt === '--jump' || opt === '-g' || opt === '--goto') {
        target = val;
        i++;
      } else {
        conditional = true; // -s, -d, -m ..., --dport ...: not modelled
        if (val !== undefined && !val.startsWith('-')) i++;
      }
    }
    if (!applies || target === '') continue;
    const isDrop = target === 'DROP' || target === 'REJECT';
    if (conditional) {
      if (isDrop) maybe.push(rule);
      continue;
    }
    if (target === 'ACCEPT') return { result: 'accept', because: rule, maybe };
    if (isDrop) return { result: 'drop', because: rule, maybe };
    if (target === 'RETURN') break;
    if (target === 'LOG') continue;
    return { result: 'unknown', because: `${rule} (jumps to chain ${target}, not evaluated)`, maybe };
  }
  return {
    result: policy === 'DROP' ? 'drop' : 'accept',
    because: `INPUT policy ${policy}`,
    maybe,
  };
}

type NftObject = Record<string, Record<string, unknown>>;

/** Every base chain hooked on input (ip, ip6 and inet families) of `nft -j list ruleset`, for a TCP SYN on `dev`. */
export function evalNft(json: string, dev: string): Verdict | null {
  let doc: { nftables?: NftObject[] };
  try {
    doc = JSON.parse(json);
  } catch {
    return null;
  }
  const items = doc.nftables ?? [];
  const chains = items
    .map((o) => o.chain)
    .filter((c) => c && c.hook === 'input' && ['ip', 'ip6', 'inet'].includes(String(c.family)));
  if (chains.length === 0) return null;
  const maybe: string[] = [];
  // A packet must pass every input base chain; the first one that drops it decides.
  let accepted: Verdict | null = null;
  for (const c of chains) {
    const name = `${c.family} ${c.table} ${c.name}`;
    const rules = items
      .map((o) => o.rule)
      .filter((r) => r && r.family === c.family && r.table === c.table && r.chain === c.name);
    let v: Verdict | null = null;
    for (const r of rules) {
      const exprs = (r.expr as Array<Record<string, unknown>>) ?? [];
      let applies = true;
      let conditional = false;
      let verdict: string | null = null;
      for (const e of exprs) {
        const [kind] = Object.keys(e);
        if (kind === 'match') {
          const m = e.match as {
            op?: string;
            left?: Record<string, Record<string, string>>;
            right?: unknown;
          };
          const key = m.left?.meta?.key ?? m.left?.payload?.field;
          const neg = m.op === '!=';
          if ((key === 'iifname' || key === 'iif') && typeof m.right === 'string') {
            if (ifaceMatches(m.right, dev) === neg) applies = false;
          } else if (
            (key === 'l4proto' || key === 'protocol' || key === 'nexthdr') &&
            typeof m.right === 'string'
          ) {
            if ((m.right === 'tcp') === neg) applies = false;
          } else conditional = true;
        } else if (['accept', 'drop', 'reject', 'jump', 'goto', 'return'].includes(kind)) verdict = kind;
        else if (kind !== 'counter' && kind !== 'log' && kind !== 'comment') conditional = true;
      }
      if (!applies || verdict === null) continue;
      const text = `${name}: rule ${String(r.handle)} (${verdict})`;
      if (conditional) {
        if (verdict === 'drop' || verdict === 'reject') maybe.push(text);
        continue;
      }
      if (verdict === 'accept') v = { result: 'accept', because: text, maybe };
      else if (verdict === 'drop' || verdict === 'reject') v = { result: 'drop', because: text, maybe };
      else if (verdict === 'return') v = null;
      else v = { result: 'unknown', because: `${text}: jumps to another chain, not evaluated`, maybe };
      break;
    }
    v ??= {
      result: c.policy === 'drop' ? 'drop' : 'accept',
      because: `${name}: policy ${String(c.policy ?? 'accept')}`,
      maybe,
    };
    if (v.result !== 'accept') return v;
    accepted = v;
  }
  return accepted;
}

/** `pfctl -s info`: whether pf is enabled. */
export function pfEnabled(info: string): boolean {
  return /^Status:\s*Enabled/m.test(info);
}

/** `pfctl -s rules` for an inbound TCP SYN on `dev`: the last matching rule wins, unless one is `quick`. */
export function evalPf(rules: string, dev: string): Verdict {
  const maybe: string[] = [];
  let decided: Verdict = { result: 'accept', because: 'no pf rule matches (pf passes by default)', maybe };
  for (const line of rules.split('\n').map((l) => l.trim())) {
    const t = line.split(/\s+/);
    if (t[0] !== 'block' && t[0] !== 'pass') continue;
    let applies = true;
    let conditional = false;
    let quick = false;
    for (let i = 1; i < t.length; i++) {
      const w = t[i];
      if (w === 'drop' || w === 'return' || w === 'all' || w === 'keep' || w === 'state' || w === 'log')
        continue;
      if (w === 'quick') quick = true;
      else if (w === 'out') applies = false;
      else if (w === 'in') continue;
      else if (w === 'on') {
        const neg = t[i + 1] === '!';
        const ifname = t[i + (neg ? 2 : 1)];
        // An interface group ("utun") matches every interface of the driver.
        const match = ifname === dev || (/^[a-z]+$/.test(ifname) && dev.replace(/\d+$/, '') === ifname);
        if (match === neg) applies = false;
        i += neg ? 2 : 1;
      } else if (w === 'inet' || w === 'inet6') continue;
      else if (w === 'proto') {
        if (t[i + 1] !== 'tcp') applies = false;
        i++;
      } else if (w === 'flags') i++;
      else conditional = true;
    }
    if (!applies) continue;
    if (conditional) {
      if (t[0] === 'block') maybe.push(line);
      continue;
    }
    decided = { result: t[0] === 'pass' ? 'accept' : 'drop', because: line, maybe };
    if (quick) break;
  }
  return decided;
}

const TITLE = 'Firewall: new connections on the VNet interface are let in';

/**
 * One check from the verdicts of each tool that filters (iptables and ip6tables, or nft, or pf): a
 * drop by any of them is a failure (VNet carries IPv4 and IPv6). A null verdict: no input filtering.
 */
export function firewallCheck(verdicts: Array<[tool: string, v: Verdict | null]>, dev: string): CheckResult {
  const evidence: string[] = [];
  let worst: 'accept' | 'unknown' | 'drop' = 'accept';
  for (const [tool, v] of verdicts) {
    if (v === null) {
      evidence.push(`${tool}: no input filtering`);
      continue;
    }
    evidence.push(
      `${tool}: ${v.because}`,
      ...v.maybe.map((m) => `${tool}: may drop (conditions not evaluated): ${m}`),
    );
    if (v.result === 'drop') worst = 'drop';
    else if ((v.result === 'unknown' || v.maybe.length > 0) && worst === 'accept') worst = 'unknown';
  }
  if (worst === 'drop') {
    const pf = verdicts.some(([t]) => t === 'pf');
    return check(
      'firewall',
      TITLE,
      'fail',
      evidence,
      pf
        ? `pf blocks inbound TCP on ${dev}; add "pass in quick on utun proto tcp" to your pf rules (or an anchor), or ask your administrator.`
        : `The firewall drops new TCP connections arriving on ${dev}: allow them, e.g. \`iptables -I INPUT -i kvn+ -p tcp -j ACCEPT\` and the same with ip6tables, or in nft \`iifname "kvn*" meta l4proto tcp accept\` in your input chain.`,
    );
  }
  if (worst === 'unknown') {
    return check(
      'firewall',
      TITLE,
      'warn',
      evidence,
      `Check that these rules let new TCP connections on ${dev} in.`,
    );
  }
  return check('firewall', TITLE, 'ok', evidence);
}
