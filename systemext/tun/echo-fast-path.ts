// An echo responder as a fast path (see ./fast-path): answers ICMPv4/ICMPv6 echo requests, and UDP
// datagrams to chosen ports, for any destination address routed into the tun, rewriting the packet
// in place. Used by the demo, the netns integration test and the echo benchmark.
//
// Swapping source and destination (addresses, and ports for UDP) leaves the IPv4 header checksum and
// the UDP / ICMPv6 checksums unchanged (one's-complement sums do not depend on order, RFC 1071), so
// only the ICMP type change needs an incremental checksum update (RFC 1624, eqn. 3).
import { DROP, PASS, REPLY, type FastPathFn } from './fast-path';

export interface EchoInit {
  /** Answer ICMP/ICMPv6 echo requests (default true). */
  icmp?: boolean;
  /** UDP destination ports to echo back. */
  udpPorts?: number[];
}

const PROTO_ICMP = 1;
const PROTO_UDP = 17;
const PROTO_ICMPV6 = 58;

/** RFC 1624: the checksum after the 16-bit word `from` became `to`. */
export function checksumAdjust(checksum: number, from: number, to: number): number {
  let sum = (~checksum & 0xffff) + (~from & 0xffff) + to;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function swap(pkt: Buffer, a: number, b: number, len: number): void {
  for (let i = 0; i < len; i++) {
    const t = pkt[a + i];
    pkt[a + i] = pkt[b + i];
    pkt[b + i] = t;
  }
}

/** Turns an echo request at `off` into a reply (`requestType` → `replyType`), fixing the checksum. */
function icmpReply(pkt: Buffer, off: number, requestType: number, replyType: number): boolean {
  if (pkt.length < off + 8 || pkt[off] !== requestType || pkt[off + 1] !== 0) return false;
  const word = pkt.readUInt16BE(off);
  pkt[off] = replyType;
  pkt.writeUInt16BE(checksumAdjust(pkt.readUInt16BE(off + 2), word, pkt.readUInt16BE(off)), off + 2);
  return true;
}

function udpEcho(pkt: Buffer, off: number, ports: Set<number>): boolean {
  if (pkt.length < off + 8 || !ports.has(pkt.readUInt16BE(off + 2))) return false;
  swap(pkt, off, off + 2, 2);
  return true;
}

/** The per-packet echo function; exported for tests and for in-memory use. */
export function echo(pkt: Buffer, init: EchoInit = {}, ports = new Set(init.udpPorts ?? [])): 0 | 1 | 2 {
  const icmp = init.icmp ?? true;
  if (pkt.length < 1) return DROP;
  const version = pkt[0] >> 4;
  if (version === 4) {
    const ihl = (pkt[0] & 0x0f) * 4;
    if (ihl < 20 || pkt.length < ihl) return PASS;
    if ((pkt.readUInt16BE(6) & 0x3fff) !== 0) return PASS; // fragments go to the slow path
    const proto = pkt[9];
    if (icmp && proto === PROTO_ICMP) {
      if (!icmpReply(pkt, ihl, 8, 0)) return PASS;
    } else if (proto === PROTO_UDP) {
      if (!udpEcho(pkt, ihl, ports)) return PASS;
    } else return PASS;
    swap(pkt, 12, 16, 4);
    return REPLY;
  }
  if (version === 6) {
    if (pkt.length < 40) return PASS;
    const next = pkt[6]; // extension headers are left to the slow path
    if (icmp && next === PROTO_ICMPV6) {
      if (!icmpReply(pkt, 40, 128, 129)) return PASS;
    } else if (next === PROTO_UDP) {
      if (!udpEcho(pkt, 40, ports)) return PASS;
    } else return PASS;
    swap(pkt, 8, 24, 16);
    return REPLY;
  }
  return PASS;
}

export function createFastPath(init: unknown): FastPathFn {
  const cfg = (init ?? {}) as EchoInit;
  const ports = new Set(cfg.udpPorts ?? []);
  return (pkt) => echo(pkt, cfg, ports);
}
