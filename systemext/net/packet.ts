// Parsing of IPv4/IPv6 + TCP/UDP/ICMP headers, by offsets into the packet (no copies).
// Layouts: IPv4 RFC 791 §3.1, IPv6 RFC 8200 §3-4, TCP RFC 9293 §3.1, UDP RFC 768,
// ICMP RFC 792, ICMPv6 RFC 4443.

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Where the parts of an IP packet are. Offsets are into the packet buffer. */
export interface IpInfo {
  version: 4 | 6;
  /** Upper-layer protocol (after IPv6 extension headers). */
  protocol: number;
  srcOff: number;
  dstOff: number;
  addrLen: 4 | 16;
  /** Start of the upper-layer header. */
  l4Off: number;
  /** End of the IP packet (total length; trailing link padding excluded). */
  end: number;
  /** A fragment (IPv4 MF/offset, or an IPv6 Fragment header): the engine does not reassemble. */
  fragment: boolean;
}

/** IPv6 extension headers we step over (Hop-by-Hop, Routing, Destination Options). */
const IPV6_SKIPPABLE = new Set([0, 43, 60]);
const IPV6_FRAGMENT = 44;

/** Parses the IP header; returns a reason string when the packet is malformed. */
export function parseIp(pkt: Uint8Array, len = pkt.length): IpInfo | string {
  if (len < 1) return 'empty packet';
  const version = pkt[0] >> 4;
  if (version === 4) {
    if (len < 20) return 'IPv4 header truncated';
    const ihl = (pkt[0] & 0x0f) * 4;
    if (ihl < 20) return 'IPv4 IHL < 5';
    const total = (pkt[2] << 8) | pkt[3];
    if (total < ihl) return 'IPv4 total length < header length';
    if (total > len) return 'IPv4 total length beyond packet';
    const fragField = (pkt[6] << 8) | pkt[7];
    return {
      version: 4,
      protocol: pkt[9],
      srcOff: 12,
      dstOff: 16,
      addrLen: 4,
      l4Off: ihl,
      end: total,
      fragment: (fragField & 0x3fff) !== 0, // MF bit or a non-zero offset
    };
  }
  if (version === 6) {
    if (len < 40) return 'IPv6 header truncated';
    const payloadLen = (pkt[4] << 8) | pkt[5];
    const end = 40 + payloadLen;
    if (end > len) return 'IPv6 payload length beyond packet';
    let next = pkt[6];
    let off = 40;
    let fragment = false;
    // Bounded walk over extension headers (each at least 8 bytes).
    for (let n = 0; n < 8 && (IPV6_SKIPPABLE.has(next) || next === IPV6_FRAGMENT); n++) {
      if (off + 8 > end) return 'IPv6 extension header truncated';
      if (next === IPV6_FRAGMENT) {
        fragment = true;
        next = pkt[off];
        off += 8;
      } else {
        const hlen = (pkt[off + 1] + 1) * 8;
        next = pkt[off];
        off += hlen;
      }
    }
    if (off > end) return 'IPv6 extension header beyond packet';
    if (IPV6_SKIPPABLE.has(next) || next === IPV6_FRAGMENT) return 'too many IPv6 extension headers';
    return { version: 6, protocol: next, srcOff: 8, dstOff: 24, addrLen: 16, l4Off: off, end, fragment };
  }
  return `unknown IP version ${version}`;
}

export interface TcpInfo {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** Offset of the TCP payload in the packet. */
  dataOff: number;
}

export function parseTcp(pkt: Uint8Array, ip: IpInfo): TcpInfo | string {
  const o = ip.l4Off;
  if (ip.end - o < 20) return 'TCP header truncated';
  const hlen = (pkt[o + 12] >> 4) * 4;
  if (hlen < 20 || o + hlen > ip.end) return 'bad TCP data offset';
  return {
    sport: (pkt[o] << 8) | pkt[o + 1],
    dport: (pkt[o + 2] << 8) | pkt[o + 3],
    seq: ((pkt[o + 4] << 24) | (pkt[o + 5] << 16) | (pkt[o + 6] << 8) | pkt[o + 7]) >>> 0,
    ack: ((pkt[o + 8] << 24) | (pkt[o + 9] << 16) | (pkt[o + 10] << 8) | pkt[o + 11]) >>> 0,
    flags: pkt[o + 13],
    dataOff: o + hlen,
  };
}

export interface UdpInfo {
  sport: number;
  dport: number;
  dataOff: number;
  dataEnd: number;
}

export function parseUdp(pkt: Uint8Array, ip: IpInfo): UdpInfo | string {
  const o = ip.l4Off;
  if (ip.end - o < 8) return 'UDP header truncated';
  const ulen = (pkt[o + 4] << 8) | pkt[o + 5];
  if (ulen < 8 || o + ulen > ip.end) return 'bad UDP length';
  return {
    sport: (pkt[o] << 8) | pkt[o + 1],
    dport: (pkt[o + 2] << 8) | pkt[o + 3],
    dataOff: o + 8,
    dataEnd: o + ulen,
  };
}

/** Payload length of a TCP segment, counting SYN and FIN as one sequence number each. */
export function tcpSeqLength(ip: IpInfo, tcp: TcpInfo): number {
  return ip.end - tcp.dataOff + (tcp.flags & TCP_SYN ? 1 : 0) + (tcp.flags & TCP_FIN ? 1 : 0);
}
