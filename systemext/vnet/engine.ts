// The VNet packet engine: reads IP packets from the tun, answers DNS and ICMP itself, and
// carries TCP through the kernel's own TCP stack ("system stack"):
//
//   client tun4:cport -> VIP:vport          (SYN read from the tun)
//   ...dial the app first; when connected, rewrite and write back into the tun:
//   fake:natPort -> tun4:listenerPort       (the kernel delivers it to our net.Server)
//   replies tun4:listenerPort -> fake:natPort are rewritten to VIP:vport -> tun4:cport.
//
// The accepted socket finds its flow through the shared NAT table (its remote address IS the
// entry). Established flows are rewritten by the fast path (fast-path.ts), in the tun worker
// when the device offers the hook and here otherwise; everything else is the slow path below.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ipToBytes } from '../net/addr';
import { buildIcmp, buildTcp, buildUdp } from '../net/build';
import {
  parseIp,
  parseTcp,
  parseUdp,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  tcpSeqLength,
  type IpInfo,
  type TcpInfo,
} from '../net/packet';
import { DnsResponder } from '../dns/responder';
import { UpstreamForwarder, type Forwarder } from '../dns/forwarder';
import { createDnsTcpSession } from '../dns/tcp-session';
import type { Upstream } from '../dns/system-config-parse';
import { systemUpstreams } from '../dns/upstreams';
import type { TunDevice } from '../tun/device';
import type { AddressPlan } from './addresses';
import type { Dialer } from './dialer';
import { createFastPath, DROP, WRITTEN, type FastPath } from './fast-path';
import { natInitForPlan, NatTable, ST_CLOSING, ST_DIALING, ST_OPEN, type NatInit } from './nat-table';
import { CachingResolver, portAllowed, type AppInfo, type AppResolver } from './resolver';

export interface VNetOptions {
  plan: AddressPlan;
  resolver: AppResolver;
  dialer: Dialer;
  /** Upstream DNS servers; default: the system's (minus ourselves), re-read every minute. */
  upstreams?: Upstream[] | (() => Promise<Upstream[]>);
  forwardTimeoutMs?: number;
  /** Answer AAAA and accept IPv6 (default true). */
  ipv6?: boolean;
  /** Max simultaneous TCP flows (default 65536). */
  natCapacity?: number;
  /** The system-stack listener: bound on tun4/tun6 (port 0 = any) unless bind is false (tests). */
  listener?: { port?: number; bind?: boolean };
  /** Kept after both FINs or an RST, so late segments still translate (default 10 s). */
  timeWaitMs?: number;
  /** Open flows with no packet for this long are dropped (default 2 h, like TCP keepalive). */
  idleMs?: number;
  /** Dial deadline, and how long a dialed flow waits for the kernel's handshake (default 15 s). */
  dialTimeoutMs?: number;
  /** Expiry sweep period; 0 = never automatically (tests call sweep()). Default 1000. */
  sweepIntervalMs?: number;
  clock?: () => number;
}

export interface VNetStats {
  packets: number;
  fastPath: number;
  slowPath: number;
  malformed: number;
  dropped: number;
}

/** Events (all with plain-object payloads): */
export interface VNetEvents {
  connection: { fqdn: string; port: number };
  closed: { fqdn: string; port: number; bytesFromClient: number; bytesToClient: number };
  refused: { fqdn: string; port: number; reason: string };
  error: { fqdn?: string; port?: number; message: string };
}

interface Flow {
  fqdn: string;
  port: number;
  abort: AbortController;
  upstream?: Duplex;
  client?: Duplex;
  timer?: NodeJS.Timeout;
}

const DNS_APP = '(vnet dns)';
const MAX_DNS_INFLIGHT = 1024;

export class VNetEngine extends EventEmitter {
  readonly plan: AddressPlan;
  readonly nat: NatTable;
  readonly natInit: NatInit;
  readonly stats: VNetStats = { packets: 0, fastPath: 0, slowPath: 0, malformed: 0, dropped: 0 };
  readonly dns: DnsResponder;
  private readonly resolver: CachingResolver;
  private readonly fast: FastPath;
  private readonly flows = new Map<number, Flow>();
  private readonly clock: () => number;
  private readonly epoch: number;
  private readonly ipv6: boolean;
  private tun: TunDevice | null = null;
  private servers: Server[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  private stopped = false;
  private readLoop: Promise<void> = Promise.resolve();
  private dnsInflight = 0;

  constructor(private readonly opts: VNetOptions) {
    super();
    this.plan = opts.plan;
    this.clock = opts.clock ?? Date.now;
    this.epoch = this.clock();
    this.ipv6 = opts.ipv6 ?? true;
    this.resolver = new CachingResolver(opts.resolver, 5000, this.clock);
    const plan = opts.plan;
    const capacity = Math.min(opts.natCapacity ?? 65536, plan.fakeCount * (65536 - 1024));
    this.natInit = natInitForPlan(plan, capacity);
    this.nat = new NatTable(this.natInit);
    this.nat.setNow(0);
    this.fast = createFastPath(this.natInit);
    this.dns = new DnsResponder({
      resolver: this.resolver,
      addresses: (fqdn) => plan.assign(fqdn),
      ipv6: this.ipv6,
      forwarder: this.makeForwarder(),
    });
  }

  /** What the tun worker's fast-path hook needs: `openTun({..., fastPath: engine.fastPathHook})`. */
  get fastPathHook(): { module: string; init: NatInit } {
    return { module: fastPathModulePath(), init: this.natInit };
  }

  /** Starts the listener(s) and the read loop on `tun` (whose addresses the OS already has). */
  async start(tun: TunDevice): Promise<void> {
    this.tun = tun;
    const l = this.opts.listener ?? {};
    let p4 = l.port ?? 0;
    let p6 = this.ipv6 ? (l.port ?? 0) : 0;
    if (l.bind !== false) {
      p4 = await this.listen(this.plan.tun4, l.port ?? 0);
      if (this.ipv6) {
        p6 = await this.listen(this.plan.tun6, l.port ?? 0).catch((err: Error) => {
          this.emitError(`IPv6 listener unavailable, IPv4 only: ${err.message}`);
          return 0;
        });
      }
    } else if (!p4) {
      throw new Error('listener.port is required when listener.bind is false');
    }
    this.nat.setListenerPorts(p4, p6);
    const every = this.opts.sweepIntervalMs ?? 1000;
    if (every > 0) {
      this.sweeper = setInterval(() => this.sweep(), every);
      this.sweeper.unref();
    }
    this.readLoop = this.run(tun);
  }

  /** Listener ports (v4, v6) as the NAT rewrites to them. */
  get listenerPorts(): { v4: number; v6: number } {
    return { v4: this.nat.words[1], v6: this.nat.words[2] };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const [entry] of this.flows) this.dropFlow(entry);
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await this.tun?.close();
    await this.readLoop;
  }

  /** Expiry pass: frees NAT entries after TIME_WAIT or idleness. */
  sweep(): void {
    const now = this.clock() - this.epoch;
    for (const { entry } of this.nat.sweep(
      now,
      this.opts.timeWaitMs ?? 10_000,
      this.opts.idleMs ?? 7_200_000,
    )) {
      this.dropFlow(entry);
    }
  }

  private async run(tun: TunDevice): Promise<void> {
    const out: Buffer[] = [];
    while (!this.stopped) {
      let pkts: Buffer[];
      try {
        pkts = await tun.read();
      } catch (err) {
        this.emitError(`tun read failed: ${(err as Error).message}`);
        break;
      }
      if (pkts.length === 0) break;
      this.nat.setNow(this.clock() - this.epoch);
      for (const p of pkts) this.onPacket(p, out);
      if (out.length) {
        this.write(out);
        out.length = 0;
      }
    }
  }

  /** One packet from the kernel. Never throws: a peer must not be able to crash the daemon. */
  onPacket(p: Buffer, out: Buffer[]): void {
    this.stats.packets++;
    try {
      const v = this.fast(p);
      if (v === WRITTEN) {
        this.stats.fastPath++;
        out.push(p);
        return;
      }
      if (v === DROP) {
        this.stats.dropped++;
        return;
      }
      this.stats.slowPath++;
      this.slow(p);
    } catch (err) {
      this.stats.malformed++;
      this.emitError(`packet handling failed: ${(err as Error).message}`);
    }
  }

  private slow(p: Buffer): void {
    const ip = parseIp(p);
    if (typeof ip === 'string' || ip.fragment) {
      this.stats.malformed++;
      return;
    }
    if (ip.version === 6 && !this.ipv6) return;
    const off = this.plan.offsetOfBytes(p, ip.dstOff, ip.addrLen);
    if (off === null) return; // not for the VNet (multicast, stray): ignore
    const fqdn = off === 2 ? DNS_APP : this.plan.nameOf(p, ip.dstOff, ip.addrLen);
    switch (ip.protocol) {
      case PROTO_UDP:
        return this.onUdp(p, ip, fqdn);
      case PROTO_TCP:
        return this.onTcp(p, ip, fqdn);
      case PROTO_ICMP:
      case PROTO_ICMPV6:
        return this.onIcmp(p, ip, fqdn);
    }
  }

  private onUdp(p: Buffer, ip: IpInfo, fqdn: string | undefined): void {
    const udp = parseUdp(p, ip);
    if (typeof udp === 'string') {
      this.stats.malformed++;
      return;
    }
    const src = p.subarray(ip.srcOff, ip.srcOff + ip.addrLen);
    const dst = p.subarray(ip.dstOff, ip.dstOff + ip.addrLen);
    if (fqdn === DNS_APP && udp.dport === 53) {
      // Bounded: a query flood must not open unbounded upstream sockets; clients retry.
      if (this.dnsInflight >= MAX_DNS_INFLIGHT) {
        this.stats.dropped++;
        return;
      }
      this.dnsInflight++;
      const query = Buffer.from(p.subarray(udp.dataOff, udp.dataEnd));
      const replyTo = { src: Buffer.from(dst), dst: Buffer.from(src), sport: 53, dport: udp.sport };
      const maxUdp = (this.tun?.mtu ?? 1500) - (ip.version === 4 ? 28 : 48);
      this.dns
        .handle(query, 'udp', maxUdp)
        .then((answer) => {
          if (answer) this.write(buildUdp({ ...replyTo, payload: answer }));
        })
        .catch((err: Error) => this.emitError(`DNS: ${err.message}`))
        .finally(() => this.dnsInflight--);
      return;
    }
    if (fqdn !== undefined) this.write(this.unreachable(p, ip));
  }

  /** ICMP port unreachable quoting the packet (RFC 792: header + 8 bytes; RFC 4443: up to 1280). */
  private unreachable(p: Buffer, ip: IpInfo): Buffer {
    const src = p.subarray(ip.dstOff, ip.dstOff + ip.addrLen);
    const dst = p.subarray(ip.srcOff, ip.srcOff + ip.addrLen);
    if (ip.version === 4) return buildIcmp(src, dst, 3, 3, 0, p.subarray(0, Math.min(ip.end, ip.l4Off + 8)));
    return buildIcmp(src, dst, 1, 4, 0, p.subarray(0, Math.min(ip.end, 1280 - 48)));
  }

  private onIcmp(p: Buffer, ip: IpInfo, fqdn: string | undefined): void {
    if (fqdn === undefined || ip.end - ip.l4Off < 8) return;
    const type = p[ip.l4Off];
    const isEcho =
      ip.version === 4
        ? type === 8 && ip.protocol === PROTO_ICMP
        : type === 128 && ip.protocol === PROTO_ICMPV6;
    if (!isEcho) return;
    const src = p.subarray(ip.dstOff, ip.dstOff + ip.addrLen);
    const dst = p.subarray(ip.srcOff, ip.srcOff + ip.addrLen);
    const rest = p.readUInt32BE(ip.l4Off + 4); // identifier and sequence number, echoed
    this.write(buildIcmp(src, dst, ip.version === 4 ? 0 : 129, 0, rest, p.subarray(ip.l4Off + 8, ip.end)));
  }

  private onTcp(p: Buffer, ip: IpInfo, fqdn: string | undefined): void {
    const tcp = parseTcp(p, ip);
    if (typeof tcp === 'string') {
      this.stats.malformed++;
      return;
    }
    const { srcOff, dstOff, addrLen } = ip;
    const entry = this.nat.lookup(p, srcOff, dstOff, addrLen, tcp.sport, tcp.dport);
    if (tcp.flags & TCP_RST) {
      // The client gave up (e.g. while we were dialing): forget the flow. RSTs are never answered.
      if (entry >= 0 && this.nat.state(entry) === ST_DIALING) this.releaseFlow(entry);
      return;
    }
    const bareSyn = (tcp.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (entry >= 0) {
      const st = this.nat.state(entry);
      if (st === ST_CLOSING && bareSyn) {
        this.releaseFlow(entry); // the client reuses the 4-tuple for a new connection
      } else {
        return; // dialing, or a race with the fast path: the kernel retransmits if needed
      }
    }
    if (!bareSyn || fqdn === undefined || (ip.version === 6 && this.listenerPorts.v6 === 0)) {
      this.write(this.rst(p, ip, tcp));
      return;
    }
    if (fqdn === DNS_APP && tcp.dport !== 53) {
      this.write(this.rst(p, ip, tcp));
      return;
    }
    const e = this.nat.allocate(p, srcOff, dstOff, addrLen as 4 | 16, tcp.sport, tcp.dport);
    if (e < 0) {
      this.write(this.rst(p, ip, tcp));
      this.emit('refused', { fqdn, port: tcp.dport, reason: 'too many connections (NAT table full)' });
      return;
    }
    const flow: Flow = { fqdn, port: tcp.dport, abort: new AbortController() };
    this.flows.set(e, flow);
    void this.dialFlow(e, flow, Buffer.from(p.subarray(0, ip.end)), ip, tcp);
  }

  /** Dial before accept: the SYN goes to the kernel only once the upstream is connected. */
  private async dialFlow(e: number, flow: Flow, syn: Buffer, ip: IpInfo, tcp: TcpInfo): Promise<void> {
    const alive = (): boolean => this.flows.get(e) === flow && !this.stopped;
    const timer = setTimeout(() => flow.abort.abort(), this.opts.dialTimeoutMs ?? 15_000);
    try {
      let upstream: Duplex;
      if (flow.fqdn === DNS_APP) {
        upstream = createDnsTcpSession((q) => this.dns.handle(q, 'tcp'));
      } else {
        const app = await this.resolver.resolve(flow.fqdn);
        if (!alive()) return;
        const why = this.refusal(app, flow.port);
        if (why || !app) {
          this.write(this.rst(syn, ip, tcp));
          this.releaseFlow(e);
          this.emit('refused', { fqdn: flow.fqdn, port: flow.port, reason: why ?? 'not an app' });
          return;
        }
        upstream = await this.opts.dialer.dial(app, flow.port, flow.abort.signal);
      }
      if (!alive()) {
        upstream.destroy();
        return;
      }
      flow.upstream = upstream;
      upstream.on('error', () => {}); // reported when the flow closes
      this.nat.touch(e);
      this.nat.setState(e, ST_OPEN);
      if (this.fast(syn) !== WRITTEN) throw new Error('NAT rewrite of the SYN failed');
      this.write(syn);
      this.emit('connection', { fqdn: flow.fqdn, port: flow.port });
      // The kernel must complete the handshake with our listener soon, or the flow is dropped.
      flow.timer = setTimeout(() => {
        if (this.flows.get(e) === flow && !flow.client) this.releaseFlow(e);
      }, this.opts.dialTimeoutMs ?? 15_000);
      flow.timer.unref();
    } catch (err) {
      if (!alive()) return;
      this.write(this.rst(syn, ip, tcp));
      this.releaseFlow(e);
      this.emitError((err as Error).message, flow.fqdn, flow.port);
    } finally {
      clearTimeout(timer);
    }
  }

  private refusal(app: AppInfo | null, port: number): string | null {
    if (!app) return 'not an app';
    if (!portAllowed(app, port)) return `port ${port} is not allowed for ${app.fqdn}`;
    return null;
  }

  /**
   * A connection the kernel delivered to the listener; `remoteAddress:remotePort` is the fake
   * source, which names the NAT entry. Public for tests that have no kernel.
   */
  handleAccepted(sock: Duplex, remoteAddress: string, remotePort: number): void {
    let entry = -1;
    try {
      const off = this.plan.offsetOfBytes(
        ipToBytes(remoteAddress.replace(/^::ffff:/, '')),
        0,
        remoteAddress.includes(':') && !remoteAddress.startsWith('::ffff:') ? 16 : 4,
      );
      if (off !== null) entry = this.nat.entryOfFake(off - this.plan.fakeStart, remotePort);
    } catch {
      entry = -1;
    }
    const flow = entry >= 0 ? this.flows.get(entry) : undefined;
    if (!flow || !flow.upstream || flow.client) {
      sock.destroy(); // not one of ours (e.g. a local process connecting to the listener)
      return;
    }
    clearTimeout(flow.timer);
    flow.client = sock;
    const up = flow.upstream;
    let fromClient = 0;
    let toClient = 0;
    sock.on('data', (d: Buffer) => (fromClient += d.length));
    up.on('data', (d: Buffer) => (toClient += d.length));
    let failure: Error | undefined;
    sock.on('error', (err) => {
      failure ??= err;
      up.destroy();
    });
    up.on('error', (err) => {
      failure ??= err;
      // An upstream failure resets the client, like a real peer would.
      const s = sock as Partial<Socket>;
      if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
      else sock.destroy();
    });
    sock.pipe(up);
    up.pipe(sock);
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 1) {
        // One side is fully gone: give the other a moment to flush, then make sure it goes.
        setTimeout(() => (sock.destroyed ? up.destroy() : sock.end()), 0).unref();
        return;
      }
      if (this.flows.get(entry) === flow) this.flows.delete(entry);
      this.emit('closed', {
        fqdn: flow.fqdn,
        port: flow.port,
        bytesFromClient: fromClient,
        bytesToClient: toClient,
      });
      if (failure) this.emitError(failure.message, flow.fqdn, flow.port);
    };
    sock.on('close', onClose);
    up.on('close', onClose);
  }

  /** Frees a flow's NAT entry and sockets. */
  private releaseFlow(e: number): void {
    this.dropFlow(e);
    this.nat.free(e);
  }

  /** Ends a flow's sockets (its NAT entry stays unless freed by the caller/sweep). */
  private dropFlow(e: number): void {
    const flow = this.flows.get(e);
    if (!flow) return;
    this.flows.delete(e);
    clearTimeout(flow.timer);
    flow.abort.abort();
    flow.upstream?.destroy();
    flow.client?.destroy();
  }

  /** RST(+ACK) answering a segment (RFC 9293 §3.10.7.1: seq from its ACK, else 0 with ACK). */
  private rst(p: Buffer, ip: IpInfo, tcp: TcpInfo): Buffer {
    const src = p.subarray(ip.dstOff, ip.dstOff + ip.addrLen);
    const dst = p.subarray(ip.srcOff, ip.srcOff + ip.addrLen);
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

  private write(pkts: Buffer | Buffer[]): void {
    try {
      this.tun?.write(pkts);
    } catch (err) {
      if (!this.stopped) this.emitError(`tun write failed: ${(err as Error).message}`);
    }
  }

  private emitError(message: string, fqdn?: string, port?: number): void {
    // 'error' without a listener would throw: only emit when someone listens.
    if (this.listenerCount('error') > 0) this.emit('error', { fqdn, port, message });
  }

  private listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
        this.handleAccepted(sock, sock.remoteAddress ?? '', sock.remotePort ?? 0);
      });
      srv.once('error', reject);
      srv.listen({ host, port, backlog: 1024 }, () => {
        srv.off('error', reject);
        srv.on('error', (err) => this.emitError(`listener ${host}: ${err.message}`));
        this.servers.push(srv);
        const a = srv.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      });
    });
  }

  private makeForwarder(): Forwarder {
    const u = this.opts.upstreams;
    const own = [this.plan.dns4, this.plan.dns6, this.plan.tun4, this.plan.tun6];
    let cache: { at: number; list: Upstream[] } | null = null;
    const get = async (): Promise<Upstream[]> => {
      if (Array.isArray(u)) return u;
      if (typeof u === 'function') return u();
      if (!cache || this.clock() - cache.at > 60_000)
        cache = { at: this.clock(), list: await systemUpstreams(own) };
      return cache.list;
    };
    return new UpstreamForwarder(get, this.opts.forwardTimeoutMs ?? 5000);
  }
}

export { ST_CLOSING, ST_DIALING, ST_OPEN };

// Bundled by webpack, `require.resolve` yields a module id, not a file: the fast path is then emitted
// as fast-path.js next to the bundle (webpack.config.js). Under tsx it is this directory's fast-path.ts.
declare const __webpack_require__: unknown;
function fastPathModulePath(): string {
  return typeof __webpack_require__ === 'function'
    ? join(__dirname, 'fast-path.js')
    : require.resolve('./fast-path');
}
