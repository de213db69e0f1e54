// Which slow-path packets the reader thread keeps when the ring to the main thread runs short:
// a new connection's SYN and DNS (UDP or TCP to port 53) are worth more than the rest (e.g. a UDP
// flood), which may only fill part of the ring. Pure and allocation-free: it runs per packet in
// the reader thread.

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
const DNS_PORT = 53;
const IPV6_HEADER = 40;

/** True for a bare TCP SYN and for TCP/UDP to port 53. */
export function isPriority(p: Uint8Array): boolean {
  if (p.length < 20) return false;
  const version = p[0] >> 4;
  let proto: number;
  let l4: number;
  if (version === 4) {
    proto = p[9];
    l4 = (p[0] & 0x0f) << 2;
    if (((p[6] << 8) | p[7]) & 0x1fff) return false; // a non-first fragment has no ports
  } else if (version === 6) {
    proto = p[6];
    l4 = IPV6_HEADER;
  } else {
    return false;
  }
  if (proto !== PROTO_TCP && proto !== PROTO_UDP) return false;
  if (p.length < l4 + (proto === PROTO_TCP ? 14 : 4)) return false;
  const dport = (p[l4 + 2] << 8) | p[l4 + 3];
  if (dport === DNS_PORT) return true;
  return proto === PROTO_TCP && (p[l4 + 13] & (TCP_SYN | TCP_ACK)) === TCP_SYN;
}

/**
 * The reader's budget for the other slow-path packets (UDP to an app, ICMP, stray TCP): a token
 * bucket, so a flood of them costs the flood and not the main thread's time (which SYNs and DNS
 * need). Their legitimate uses (ICMP errors at most 1000/s, pings, RSTs for stale segments) stay
 * well under it.
 */
export class SlowPathBudget {
  private tokens: number;
  private last = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(nowMs: number): boolean {
    if (nowMs !== this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.perSecond) / 1000);
      this.last = nowMs;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
