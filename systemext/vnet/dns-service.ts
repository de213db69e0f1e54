// The VNet's DNS server as the engine runs it: UDP queries read from the tun and TCP sessions
// handed over by the system stack, both answered by the DnsResponder. Bounded: at most
// `maxInflight` queries at once over both transports (over that, UDP queries are dropped, which
// clients retry, and TCP ones get SERVFAIL, because a TCP client would only wait).
import { buildUdp } from '../net/build';
import type { IpInfo, UdpInfo } from '../net/packet';
import { DnsResponder, headerOnly, RCODE } from '../dns/responder';
import { createDnsTcpSession } from '../dns/tcp-session';
import type { Duplex } from 'node:stream';

const DNS_PORT = 53;
const UDP4_OVERHEAD = 28;
const UDP6_OVERHEAD = 48;

export interface DnsServiceHooks {
  write(p: Buffer): void;
  error(message: string): void;
  /** Counts a query refused for the in-flight bound. */
  refused(): void;
}

export class DnsService {
  private inflight = 0;

  constructor(
    readonly responder: DnsResponder,
    private readonly maxInflight: number,
    private readonly hooks: DnsServiceHooks,
  ) {}

  get queriesInFlight(): number {
    return this.inflight;
  }

  /** A UDP datagram to the DNS address: answered from the address and port it was sent to. */
  onUdp(p: Buffer, ip: IpInfo, udp: UdpInfo, mtu: number): void {
    if (this.inflight >= this.maxInflight) {
      this.hooks.refused();
      return;
    }
    const query = Buffer.from(p.subarray(udp.dataOff, udp.dataEnd));
    const replyTo = {
      src: Buffer.from(p.subarray(ip.dstOff, ip.dstOff + ip.addrLen)),
      dst: Buffer.from(p.subarray(ip.srcOff, ip.srcOff + ip.addrLen)),
      sport: DNS_PORT,
      dport: udp.sport,
    };
    const maxUdp = mtu - (ip.version === 4 ? UDP4_OVERHEAD : UDP6_OVERHEAD);
    void this.run(query, 'udp', maxUdp).then((answer) => {
      if (answer) this.hooks.write(buildUdp({ ...replyTo, payload: answer }));
    });
  }

  /** A stream carrying DNS over TCP for one client connection. */
  tcpSession(): Duplex {
    return createDnsTcpSession((q) => {
      if (this.inflight >= this.maxInflight) {
        this.hooks.refused();
        const rd = q.length >= 12 ? q[2] & 0x01 : 0;
        return Promise.resolve(q.length >= 12 ? servfail(q, rd) : null);
      }
      return this.run(q, 'tcp');
    });
  }

  private async run(q: Buffer, transport: 'udp' | 'tcp', maxUdp?: number): Promise<Buffer | null> {
    this.inflight++;
    try {
      return await this.responder.handle(q, transport, maxUdp);
    } catch (err) {
      this.hooks.error(`DNS: ${(err as Error).message}`);
      return null;
    } finally {
      this.inflight--;
    }
  }
}

function servfail(q: Buffer, rd: number): Buffer {
  return headerOnly(q.readUInt16BE(0), (q[2] >> 3) & 0x0f, rd ? 1 << 8 : 0, RCODE.SERVFAIL);
}
