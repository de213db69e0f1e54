// Small pure address helpers for the OS planners: the tun's own address in a range, IPv4 netmasks.
// (Only what command lines need; the engine's address plan lives in systemext/vnet.)
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** Network address, normalised (host bits cleared), in canonical text form. */
  network: string;
  prefix: number;
}

/** Parses `a.b.c.d/n` or `x:y::/n`; throws a clear error otherwise. Host bits are cleared. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) throw new Error(`not a CIDR range (address/prefix): ${JSON.stringify(text)}`);
  const [, addr, p] = m;
  const prefix = Number(p);
  if (isIPv4(addr)) {
    if (prefix > 32) throw new Error(`IPv4 prefix must be 0..32: ${text}`);
    return { family: 4, network: v4ToText(v4ToInt(addr) & v4Mask(prefix)), prefix };
  }
  if (isIPv6(addr)) {
    if (prefix > 128) throw new Error(`IPv6 prefix must be 0..128: ${text}`);
    const g = v6ToGroups(addr);
    return { family: 6, network: v6ToText(maskGroups(g, prefix)), prefix };
  }
  throw new Error(`not an IP address in ${JSON.stringify(text)}`);
}

/** The first host of a range (network + 1): the address the tun itself gets, e.g. 100.64.0.1. */
export function firstHost(c: Cidr): string {
  if (c.family === 4) return v4ToText((v4ToInt(c.network) + 1) >>> 0);
  const g = v6ToGroups(c.network);
  g[7] = (g[7] + 1) & 0xffff;
  return v6ToText(g);
}

/** Dotted netmask for an IPv4 prefix (macOS ifconfig wants it), e.g. 10 → 255.192.0.0. */
export function v4Netmask(prefix: number): string {
  return v4ToText(v4Mask(prefix));
}

function v4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function v4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}

function v4ToText(n: number): string {
  return [24, 16, 8, 0].map((s) => ((n >>> 0) >>> s) & 0xff).join('.');
}

/** Expands an IPv6 address (no embedded IPv4, no zone) to 8 groups. */
function v6ToGroups(a: string): number[] {
  if (a.includes('.') || a.includes('%')) throw new Error(`unsupported IPv6 form: ${a}`);
  const [head, tail] = a.includes('::') ? a.split('::') : [a, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === null ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16));
}

function maskGroups(g: number[], prefix: number): number[] {
  return g.map((v, i) => {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    return bits === 0 ? 0 : v & ((0xffff << (16 - bits)) & 0xffff);
  });
}

/** RFC 5952 text: lower case, longest run (>1) of zero groups compressed. */
function v6ToText(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((v) => v.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
