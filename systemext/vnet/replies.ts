// Packets the engine answers with itself: TCP resets, ICMP port unreachable and echo replies.
// Pure builders over a parsed packet.
import { buildIcmp, buildTcp } from '../net/build';
import {
  PROTO_ICMP,
  PROTO_ICMPV6,
  TCP_ACK,
  TCP_RST,
  tcpSeqLength,
  type IpInfo,
  type TcpInfo,
} from '../net/packet';

const ICMP4_UNREACH = 3;
const ICMP4_PORT_UNREACH = 3;
const ICMP6_UNREACH = 1;
const ICMP6_PORT_UNREACH = 4;
const ICMP4_ECHO = 8;
const ICMP4_ECHO_REPLY = 0;
const ICMP6_ECHO = 128;
const ICMP6_ECHO_REPLY = 129;
/** RFC 4443 §2.4: an ICMPv6 error must fit the minimum MTU (1280) with its IPv6 and ICMPv6 headers. */
const ICMP6_QUOTE_MAX = 1280 - 48;
/** Type, code, checksum, then 4 bytes that depend on the type: the echo's identifier and sequence. */
const ICMP_HEADER = 8;

function swapped(p: Buffer, ip: IpInfo): { src: Buffer; dst: Buffer } {
  return {
    src: p.subarray(ip.dstOff, ip.dstOff + ip.addrLen),
    dst: p.subarray(ip.srcOff, ip.srcOff + ip.addrLen),
  };
}

/** RST(+ACK) answering a segment (RFC 9293 §3.10.7.1: seq from its ACK, else 0 with ACK). */
export function rstFor(p: Buffer, ip: IpInfo, tcp: TcpInfo): Buffer {
  const { src, dst } = swapped(p, ip);
  if (tcp.flags & TCP_ACK) {
    return buildTcp({
      src,
      dst,
      sport: tcp.dport,
      dport: tcp.sport,
      seq: tcp.ack,
      flags: TCP_RST,
      window: 0,
    });
  }
  const ack = (tcp.seq + tcpSeqLength(ip, tcp)) >>> 0;
  return buildTcp({
    src,
    dst,
    sport: tcp.dport,
    dport: tcp.sport,
    seq: 0,
    ack,
    flags: TCP_RST | TCP_ACK,
    window: 0,
  });
}

/** ICMP port unreachable quoting the packet (RFC 792: header + 8 bytes; RFC 4443: up to 1280). */
export function portUnreachable(p: Buffer, ip: IpInfo): Buffer {
  const { src, dst } = swapped(p, ip);
  if (ip.version === 4)
    return buildIcmp(
      src,
      dst,
      ICMP4_UNREACH,
      ICMP4_PORT_UNREACH,
      0,
      p.subarray(0, Math.min(ip.end, ip.l4Off + 8)),
    );
  return buildIcmp(
    src,
    dst,
    ICMP6_UNREACH,
    ICMP6_PORT_UNREACH,
    0,
    p.subarray(0, Math.min(ip.end, ICMP6_QUOTE_MAX)),
  );
}

/** The echo reply to an ICMP/ICMPv6 echo request, or null when `p` is none. */
export function echoReply(p: Buffer, ip: IpInfo): Buffer | null {
  if (ip.end - ip.l4Off < ICMP_HEADER) return null;
  const type = p[ip.l4Off];
  const isEcho =
    ip.version === 4
      ? type === ICMP4_ECHO && ip.protocol === PROTO_ICMP
      : type === ICMP6_ECHO && ip.protocol === PROTO_ICMPV6;
  if (!isEcho) return null;
  const { src, dst } = swapped(p, ip);
  const rest = p.readUInt32BE(ip.l4Off + 4); // identifier and sequence number, echoed
  const reply = ip.version === 4 ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPLY;
  return buildIcmp(src, dst, reply, 0, rest, p.subarray(ip.l4Off + ICMP_HEADER, ip.end));
}
