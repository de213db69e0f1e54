// The VNet address plan: which virtual IP each app name gets, plus the fixed addresses of the
// tun device, the DNS server and the block of fake NAT sources. Pure: persistence is injected.
//
// IPv4: a CIDR (/8../24, default 100.64.0.0/10, the RFC 6598 shared space). Offset 1 = tun,
// 2 = DNS, the top block = fake NAT sources (top /24 for ranges up to /16, else the top 16
// addresses), the broadcast address unused; apps get the rest.
// IPv6: a ULA /48 (RFC 4193: fd + 40 random bits) extended by zeros to a /96; tun ::1, DNS ::2,
// and every v4 address maps to prefix + its 32 bits, so v4 and v6 share one plan.
import { createHash, randomBytes } from 'node:crypto';
import { bytesToIp, intToIpv4, ipToBytes, ipv4ToInt } from '../net/addr';

export const DEFAULT_IPV4_RANGE = '100.64.0.0/10';

/** What is persisted across restarts (the daemon keeps it as a small JSON file). */
export interface AddressState {
  version: 1;
  ipv4Range: string;
  /** The ULA /48, e.g. 'fd12:3456:789a::/48'. */
  ipv6Prefix: string;
  /** Lower-case FQDN (no trailing dot) -> IPv4 address. */
  apps: Record<string, string>;
}

export function normalizeName(fqdn: string): string {
  return fqdn.toLowerCase().replace(/\.$/, '');
}

export function parseIpv4Cidr(cidr: string): { base: number; prefixLen: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) throw new Error(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  const prefixLen = Number(m[2]);
  if (prefixLen < 8 || prefixLen > 24) throw new Error(`VNet IPv4 range must be /8../24, got /${prefixLen}`);
  const addr = ipv4ToInt(m[1]);
  const mask = (0xffffffff << (32 - prefixLen)) >>> 0;
  if ((addr & mask) >>> 0 !== addr) throw new Error(`${cidr} has host bits set`);
  return { base: addr, prefixLen };
}

export function newUlaPrefix(): string {
  const b = Buffer.concat([Buffer.from([0xfd]), randomBytes(5), Buffer.alloc(10)]);
  return `${bytesToIp(b)}/48`;
}

export class AddressPlan {
  readonly ipv4Range: string;
  readonly ipv6Prefix: string;
  /** Base, size (addresses) of the IPv4 range. */
  readonly base: number;
  readonly size: number;
  readonly prefixLen: number;
  /** First offset of the fake NAT block and how many fake addresses there are. */
  readonly fakeStart: number;
  readonly fakeCount: number;
  /** The 12 leading bytes of every VNet IPv6 address. */
  readonly v6Prefix96: Buffer;
  private readonly byName = new Map<string, number>();
  private readonly byAddr = new Map<number, string>();

  /** `onChange` is told after every new assignment (to persist the state). */
  constructor(
    state: Partial<AddressState> & { ipv4Range?: string },
    private readonly onChange: (s: AddressState) => void = () => {},
  ) {
    this.ipv4Range = state.ipv4Range ?? DEFAULT_IPV4_RANGE;
    const { base, prefixLen } = parseIpv4Cidr(this.ipv4Range);
    this.base = base;
    this.prefixLen = prefixLen;
    this.size = 2 ** (32 - prefixLen);
    const block = prefixLen <= 16 ? 256 : 16;
    this.fakeStart = this.size - block;
    this.fakeCount = block - 1; // the range's broadcast address is left out
    this.ipv6Prefix = state.ipv6Prefix ?? newUlaPrefix();
    const p = ipToBytes(this.ipv6Prefix.split('/')[0]);
    if (p[0] !== 0xfd) throw new Error(`${this.ipv6Prefix} is not a ULA (fd00::/8) prefix`);
    this.v6Prefix96 = Buffer.concat([p.subarray(0, 6), Buffer.alloc(6)]);
    for (const [name, ip] of Object.entries(state.apps ?? {})) {
      const off = this.offsetOf(ipv4ToInt(ip));
      // Assignments outside the app space (the range changed, the file was edited) are dropped.
      if (off === null || !this.isAppOffset(off) || this.byAddr.has(off)) continue;
      this.byName.set(normalizeName(name), off);
      this.byAddr.set(off, normalizeName(name));
    }
  }

  get tun4(): string {
    return intToIpv4(this.base + 1);
  }
  get dns4(): string {
    return intToIpv4(this.base + 2);
  }
  get tun6(): string {
    return this.v6Low(1);
  }
  get dns6(): string {
    return this.v6Low(2);
  }
  /** The IPv6 range the OS routes into the tun. */
  get ipv6Range(): string {
    return `${bytesToIp(Buffer.concat([this.v6Prefix96, Buffer.alloc(4)]))}/96`;
  }

  /** The IPv4 address of fake NAT source number i (0 <= i < fakeCount). */
  fake4(i: number): string {
    return intToIpv4(this.base + this.fakeStart + i);
  }
  fake6(i: number): string {
    return this.v6Of(this.fakeStart + i);
  }

  /** The app's IPv4 address, assigning one (stable across restarts) on first use. */
  assign(fqdn: string): { v4: string; v6: string } {
    const name = normalizeName(fqdn);
    let off = this.byName.get(name);
    if (off === undefined) {
      off = this.pick(name);
      this.byName.set(name, off);
      this.byAddr.set(off, name);
      this.onChange(this.state());
    }
    return { v4: intToIpv4(this.base + off), v6: this.v6Of(off) };
  }

  /** The app name owning a virtual IP (4 or 16 bytes at buf[off]), if any. */
  nameOf(buf: Uint8Array, off = 0, len: 4 | 16 = 4): string | undefined {
    const o = this.offsetOfBytes(buf, off, len);
    return o === null ? undefined : this.byAddr.get(o);
  }

  /** Range offset of an address (bytes), or null when it is outside the VNet ranges. */
  offsetOfBytes(buf: Uint8Array, off: number, len: 4 | 16): number | null {
    if (len === 16) {
      for (let i = 0; i < 12; i++) if (buf[off + i] !== this.v6Prefix96[i]) return null;
      off += 12;
    }
    const n = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
    // In IPv6, tun and DNS are prefix::1 and prefix::2; everything else carries its v4 address.
    if (len === 16 && (n === 1 || n === 2)) return n;
    return this.offsetOf(n);
  }

  state(): AddressState {
    const apps: Record<string, string> = {};
    for (const [name, off] of [...this.byName].sort((a, b) => a[1] - b[1]))
      apps[name] = intToIpv4(this.base + off);
    return { version: 1, ipv4Range: this.ipv4Range, ipv6Prefix: this.ipv6Prefix, apps };
  }

  private offsetOf(n: number): number | null {
    const off = n - this.base;
    return off >= 0 && off < this.size ? off : null;
  }

  private isAppOffset(off: number): boolean {
    return off >= 3 && off < this.fakeStart;
  }

  /** Hash of the name into the app space, then linear probing: deterministic for a given history. */
  private pick(name: string): number {
    const span = this.fakeStart - 3;
    if (this.byAddr.size >= span) throw new Error(`VNet range ${this.ipv4Range} has no free address left`);
    const h = createHash('sha256').update(name).digest().readUInt32BE(0);
    let off = 3 + (h % span);
    while (this.byAddr.has(off)) off = off + 1 >= this.fakeStart ? 3 : off + 1;
    return off;
  }

  private v6Of(off: number): string {
    return this.v6Low((this.base + off) >>> 0);
  }

  private v6Low(low32: number): string {
    const b = Buffer.concat([this.v6Prefix96, Buffer.alloc(4)]);
    b.writeUInt32BE(low32, 12);
    return bytesToIp(b);
  }
}
