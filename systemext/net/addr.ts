// IP address text <-> bytes. Node has no inet_pton, and the packet code works on bytes.
import { isIPv4, isIPv6 } from 'node:net';

/** Parses an IPv4 or IPv6 literal into 4 or 16 bytes; throws on anything else. */
export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map((x) => Number(x)));
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
  let text = ip.split('%')[0];
  const out = Buffer.alloc(16);
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = ipToBytes(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  headGroups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  tailGroups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 16 - (tailGroups.length - i) * 2));
  return out;
}

/** Formats 4 or 16 bytes (at buf[off]) as an address literal (IPv6 in RFC 5952 form). */
export function bytesToIp(buf: Uint8Array, off = 0, len: 4 | 16 = buf.length - off === 4 ? 4 : 16): string {
  if (len === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((buf[off + i] << 8) | buf[off + i + 1]);
  // Longest run (>= 2) of zero groups collapses to '::'.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** IPv4 dotted quad <-> unsigned 32-bit integer. */
export function ipv4ToInt(ip: string): number {
  return ipToBytes(ip).readUInt32BE(0);
}
export function intToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
