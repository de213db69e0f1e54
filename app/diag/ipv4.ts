// IPv4 ranges as integer intervals: overlap tests and a free range to suggest. Pure.
import { isIPv4 } from 'node:net';

export interface Range4 {
  /** "a.b.c.d/n", normalised (host bits cleared). */
  cidr: string;
  start: number;
  /** Inclusive. */
  end: number;
  prefix: number;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** "a.b.c.d/n" or a bare address (/32); null when it is not IPv4. */
export function range4(text: string): Range4 | null {
  const [addr, p] = text.split('/');
  const prefix = p === undefined ? 32 : Number(p);
  if (!isIPv4(addr) || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return null;
  const size = 2 ** (32 - prefix);
  const start = Math.floor(toInt(addr) / size) * size;
  return { cidr: `${toIp(start)}/${prefix}`, start, end: start + size - 1, prefix };
}

export function overlaps(a: Range4, b: Range4): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** Ranges to offer instead, in order of preference: CGNAT /16s first (what VNet is meant to use), then others. */
function* candidates(prefix: number): Generator<Range4> {
  const step = 2 ** (32 - prefix);
  const blocks: Array<[string, string]> = [
    ['100.64.0.0', '100.127.255.255'],
    ['198.18.0.0', '198.19.255.255'],
    ['10.128.0.0', '10.255.255.255'],
    ['172.16.0.0', '172.31.255.255'],
  ];
  for (const [from, to] of blocks) {
    for (let s = toInt(from); s + step - 1 <= toInt(to); s += step) yield range4(`${toIp(s)}/${prefix}`)!;
  }
}

/**
 * A range that overlaps none of `used`, as large as `want` but no larger than a /16 (room for 65k
 * apps), or null when every candidate is taken.
 */
export function suggestFreeRange(want: Range4, used: Range4[]): string | null {
  const prefix = Math.max(want.prefix, 16);
  for (const c of candidates(prefix)) if (!used.some((u) => overlaps(u, c))) return c.cidr;
  return null;
}
