// Small pure address helpers for the OS planners: the tun's own address in a range, IPv4 netmasks.
// (Only what command lines need; the engine's address plan lives in systemext/vnet. Text <-> bytes
// conversions are the packet code's, in systemext/net/addr.)
import { isIPv4, isIPv6 } from 'node:net';
import { bytesToIp, intToIpv4, ipToBytes, ipv4ToInt } from '../net/addr';

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
    return { family: 4, network: intToIpv4((ipv4ToInt(addr) & v4Mask(prefix)) >>> 0), prefix };
  }
  if (isIPv6(addr)) {
    if (prefix > 128) throw new Error(`IPv6 prefix must be 0..128: ${text}`);
    const bytes = ipToBytes(addr);
    for (let i = 0; i < 16; i++) {
      const bits = Math.max(0, Math.min(8, prefix - i * 8));
      bytes[i] &= (0xff << (8 - bits)) & 0xff;
    }
    return { family: 6, network: bytesToIp(bytes), prefix };
  }
  throw new Error(`not an IP address in ${JSON.stringify(text)}`);
}

/** The first host of a range (network + 1): the address the tun itself gets, e.g. 100.64.0.1. */
export function firstHost(c: Cidr): string {
  if (c.family === 4) return intToIpv4((ipv4ToInt(c.network) + 1) >>> 0);
  const bytes = ipToBytes(c.network);
  for (let i = 15; i >= 0 && ++bytes[i] === 256; i--) bytes[i] = 0;
  return bytesToIp(bytes);
}

/** Dotted netmask for an IPv4 prefix (macOS ifconfig wants it), e.g. 10 → 255.192.0.0. */
export function v4Netmask(prefix: number): string {
  return intToIpv4(v4Mask(prefix));
}

function v4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
