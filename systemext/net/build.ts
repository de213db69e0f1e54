// Builders for whole IP packets with correct checksums. Used by the engine's slow path (RSTs,
// ICMP, DNS replies) and by tests playing the kernel. They allocate; the fast path never calls them.
import { fold, internetChecksum, onesSum, pseudoHeaderSum } from './checksum';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from './packet';

/** Wraps an upper-layer segment (its checksum field zeroed) in an IP header and fills the checksums. */
export function buildIp(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  l4: Uint8Array,
  ttl = 64,
): Buffer {
  if (src.length !== dst.length) throw new Error('source and destination address families differ');
  const v4 = src.length === 4;
  const hlen = v4 ? 20 : 40;
  const pkt = Buffer.alloc(hlen + l4.length);
  if (v4) {
    pkt[0] = 0x45;
    pkt.writeUInt16BE(pkt.length, 2);
    pkt[6] = 0x40; // Don't Fragment
    pkt[8] = ttl;
    pkt[9] = protocol;
    pkt.set(src, 12);
    pkt.set(dst, 16);
    pkt.writeUInt16BE(internetChecksum(pkt, 0, 20), 10);
  } else {
    pkt[0] = 0x60;
    pkt.writeUInt16BE(l4.length, 4);
    pkt[6] = protocol;
    pkt[7] = ttl;
    pkt.set(src, 8);
    pkt.set(dst, 24);
  }
  pkt.set(l4, hlen);
  fillL4Checksum(pkt, v4 ? 4 : 6, protocol, hlen);
  return pkt;
}

/** Offset of the checksum field within each upper-layer header. */
function checksumFieldOffset(protocol: number): number {
  switch (protocol) {
    case PROTO_TCP:
      return 16;
    case PROTO_UDP:
      return 6;
    case PROTO_ICMP:
    case PROTO_ICMPV6:
      return 2;
    default:
      return -1;
  }
}

/** Recomputes the upper-layer checksum of a whole packet from scratch. */
export function fillL4Checksum(pkt: Buffer, version: 4 | 6, protocol: number, l4Off: number): void {
  const field = checksumFieldOffset(protocol);
  if (field < 0) return;
  pkt.writeUInt16BE(0, l4Off + field);
  const addrLen = version === 4 ? 4 : 16;
  const srcOff = version === 4 ? 12 : 8;
  // ICMPv4 is the one without a pseudo-header (RFC 792).
  const initial =
    protocol === PROTO_ICMP
      ? 0
      : pseudoHeaderSum(pkt, srcOff, srcOff + addrLen, addrLen, protocol, pkt.length - l4Off);
  let sum = internetChecksum(pkt, l4Off, pkt.length, initial);
  if (protocol === PROTO_UDP && sum === 0) sum = 0xffff; // RFC 768: 0 means "no checksum"
  pkt.writeUInt16BE(sum, l4Off + field);
}

export interface TcpSpec {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags: number;
  window?: number;
  /** Raw TCP options, padded here to a multiple of 4. */
  options?: Uint8Array;
  payload?: Uint8Array;
}

export function buildTcp(s: TcpSpec): Buffer {
  const optLen = s.options ? (s.options.length + 3) & ~3 : 0;
  const payload = s.payload ?? Buffer.alloc(0);
  const seg = Buffer.alloc(20 + optLen + payload.length);
  seg.writeUInt16BE(s.sport, 0);
  seg.writeUInt16BE(s.dport, 2);
  seg.writeUInt32BE((s.seq ?? 0) >>> 0, 4);
  seg.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  seg[12] = ((20 + optLen) / 4) << 4;
  seg[13] = s.flags;
  seg.writeUInt16BE(s.window ?? 65535, 14);
  if (s.options) seg.set(s.options, 20);
  seg.set(payload, 20 + optLen);
  return buildIp(s.src, s.dst, PROTO_TCP, seg);
}

export interface UdpSpec {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  payload: Uint8Array;
}

export function buildUdp(s: UdpSpec): Buffer {
  const seg = Buffer.alloc(8 + s.payload.length);
  seg.writeUInt16BE(s.sport, 0);
  seg.writeUInt16BE(s.dport, 2);
  seg.writeUInt16BE(seg.length, 4);
  seg.set(s.payload, 8);
  return buildIp(s.src, s.dst, PROTO_UDP, seg);
}

/** An ICMP or ICMPv6 message (protocol picked by address family): type, code, 4-byte rest, body. */
export function buildIcmp(
  src: Uint8Array,
  dst: Uint8Array,
  type: number,
  code: number,
  rest: number,
  body: Uint8Array,
): Buffer {
  const msg = Buffer.alloc(8 + body.length);
  msg[0] = type;
  msg[1] = code;
  msg.writeUInt32BE(rest >>> 0, 4);
  msg.set(body, 8);
  return buildIp(src, dst, src.length === 4 ? PROTO_ICMP : PROTO_ICMPV6, msg);
}

/** True when a packet's IP (v4) and TCP/UDP/ICMP checksums verify by full recomputation. */
export function checksumsValid(pkt: Buffer): boolean {
  const version = pkt[0] >> 4;
  let l4Off: number;
  let protocol: number;
  if (version === 4) {
    l4Off = (pkt[0] & 0x0f) * 4;
    protocol = pkt[9];
    if (internetChecksum(pkt, 0, l4Off) !== 0) return false;
  } else {
    l4Off = 40;
    protocol = pkt[6];
  }
  const field = checksumFieldOffset(protocol);
  if (field < 0) return true;
  const addrLen = version === 4 ? 4 : 16;
  const srcOff = version === 4 ? 12 : 8;
  const initial =
    protocol === PROTO_ICMP
      ? 0
      : pseudoHeaderSum(pkt, srcOff, srcOff + addrLen, addrLen, protocol, pkt.length - l4Off);
  return fold(onesSum(pkt, l4Off, pkt.length, initial)) === 0xffff;
}
