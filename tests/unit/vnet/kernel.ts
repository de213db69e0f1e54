// Test helper: plays the kernel on the far end of an in-memory tun pair, with a queue of
// received packets and waiting by predicate (generous hang-guard timeouts, no timing asserts).
import * as dnsPacket from 'dns-packet';
import type { Duplex } from 'node:stream';
import type { TunDevice } from '../../../systemext/tun/device';
import type { Dialer } from '../../../systemext/vnet/dialer';
import type { AppInfo } from '../../../systemext/vnet/resolver';
import { bytesToIp, ipToBytes } from '../../../systemext/net/addr';
import { buildTcp, buildUdp } from '../../../systemext/net/build';
import { parseIp, parseTcp, parseUdp, TCP_SYN } from '../../../systemext/net/packet';

/** A client's SYN 100.64.0.1:cport -> 100.64.0.9:80, for NAT entries made without an engine. */
export function clientSyn(cport: number): Buffer {
  return buildTcp({
    src: ipToBytes('100.64.0.1'),
    dst: ipToBytes('100.64.0.9'),
    sport: cport,
    dport: 80,
    seq: 1,
    flags: TCP_SYN,
  });
}

/** Polls `pred` until it holds (hang guard: 5 s), then asserts it: for events on real sockets. */
export async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!pred()) throw new Error('condition not reached (hang guard)');
}

export class FakeKernel {
  private readonly queue: Buffer[] = [];
  /** Waiters of next(): several may wait at once (e.g. concurrent queries). */
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(readonly tun: TunDevice) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    for (;;) {
      const pkts = await this.tun.read().catch(() => null); // rejects once closed
      if (!pkts) break;
      this.queue.push(...pkts);
      this.wakeAll();
    }
    this.closed = true;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const w of [...this.wakers]) w();
  }

  send(p: Buffer | Buffer[]): void {
    this.tun.write(p);
  }

  /** The next received packet matching `pred` (others stay queued). */
  async next(pred: (p: Buffer) => boolean = () => true, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex(pred);
      if (i >= 0) return this.queue.splice(i, 1)[0];
      if (this.closed) throw new Error('tun closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no matching packet (hang guard)');
      await new Promise<void>((r) => {
        const wake = (): void => {
          clearTimeout(t);
          this.wakers.delete(wake);
          r();
        };
        const t = setTimeout(wake, left);
        this.wakers.add(wake);
      });
    }
  }

  /** Everything received so far (drains the queue). */
  drain(): Buffer[] {
    return this.queue.splice(0);
  }

  /** Sends a DNS query over UDP from `src` to `dnsAddr` and returns the decoded answer. */
  async query(
    src: string,
    dnsAddr: string,
    q: dnsPacket.Question,
    extra: Partial<dnsPacket.Packet> = {},
  ): Promise<{ raw: Buffer; msg: dnsPacket.Packet }> {
    const id = Math.floor(Math.random() * 65535);
    const payload = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [q],
      ...extra,
    });
    const { raw } = await this.queryRaw(src, dnsAddr, payload);
    return { raw, msg: dnsPacket.decode(raw) };
  }

  /** Sends raw DNS bytes over UDP and returns the raw answer payload. */
  async queryRaw(src: string, dnsAddr: string, payload: Buffer): Promise<{ raw: Buffer }> {
    const sport = 20000 + Math.floor(Math.random() * 20000);
    this.send(buildUdp({ src: ipToBytes(src), dst: ipToBytes(dnsAddr), sport, dport: 53, payload }));
    const pkt = await this.next((p) => {
      const ip = parseIp(p);
      if (typeof ip === 'string' || ip.protocol !== 17) return false;
      const u = parseUdp(p, ip);
      return typeof u !== 'string' && u.dport === sport && u.sport === 53;
    });
    const ip = parseIp(pkt);
    if (typeof ip === 'string') throw new Error(ip);
    const u = parseUdp(pkt, ip);
    if (typeof u === 'string') throw new Error(u);
    return { raw: pkt.subarray(u.dataOff, u.dataEnd) };
  }
}

/** The TCP fields of a packet the engine wrote (throws on anything that is not TCP). */
export function tcpOf(p: Buffer): {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  ack: number;
} {
  const ip = parseIp(p);
  if (typeof ip === 'string') throw new Error(ip);
  const t = parseTcp(p, ip);
  if (typeof t === 'string') throw new Error(t);
  return {
    src: bytesToIp(p, ip.srcOff, ip.addrLen),
    dst: bytesToIp(p, ip.dstOff, ip.addrLen),
    sport: t.sport,
    dport: t.dport,
    flags: t.flags,
    seq: t.seq,
    ack: t.ack,
  };
}

/** A dialer whose dials the test resolves by hand. */
export class ManualDialer implements Dialer {
  calls: Array<{
    app: AppInfo;
    port: number;
    signal: AbortSignal;
    resolve: (d: Duplex) => void;
    reject: (e: Error) => void;
  }> = [];
  private waiters: Array<() => void> = [];
  dial(app: AppInfo, port: number, signal: AbortSignal): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.calls.push({ app, port, signal, resolve, reject });
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  async nextCall(): Promise<ManualDialer['calls'][0]> {
    while (this.calls.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return this.calls.shift()!;
  }
}
