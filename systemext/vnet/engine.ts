// The VNet packet engine: reads IP packets from the tun, answers DNS and ICMP itself, and
// carries TCP through the kernel's own TCP stack ("system stack"):
//
//   client tun4:cport -> VIP:vport          (SYN read from the tun)
//   ...dial the app first; when connected, rewrite and write back into the tun:
//   fake:natPort -> tun4:listenerPort       (the kernel delivers it to our net.Server)
//   replies tun4:listenerPort -> fake:natPort are rewritten to VIP:vport -> tun4:cport.
//
// Roles: this file reads the tun and dispatches; ./fast-path rewrites established flows (in the
// tun worker when the device offers the hook, else here); ./flows runs the TCP flows and their NAT
// entries; ./dns-service answers DNS; ./replies builds RSTs and ICMP answers.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { bindFdToDevice, bindServerToDevice } from '../../native-bindings';
import {
  parseIp,
  parseTcp,
  parseUdp,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  type IpInfo,
} from '../net/packet';
import { DnsResponder } from '../dns/responder';
import { UpstreamForwarder, type Forwarder } from '../dns/forwarder';
import type { Upstream } from '../dns/system-config-parse';
import { systemUpstreams } from '../dns/upstreams';
import { TunClosedError, type TunDevice } from '../tun/device';
import type { AddressPlan } from './addresses';
import type { Dialer } from './dialer';
import { DnsService } from './dns-service';
import { createFastPath, DROP, REPLY, type FastPath } from './fast-path';
import { DNS_APP, Flows, type FlowErrorCode, type OpenFlow, type RefusalCode } from './flows';
import { natInitForPlan, NatTable, ST_CLOSING, ST_DIALING, ST_OPEN, type NatInit } from './nat-table';
import { PerKeyRateLimit, TokenBucket } from './rate-limit';
import { Relay, type RelayEndpointFactory } from './relay';
import { echoReply, portUnreachable } from './replies';
import { CachingResolver, type AppResolver } from './resolver';

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
  /**
   * The system-stack listener: bound on tun4/tun6 (port 0 = any) and to the tun device itself
   * (SO_BINDTODEVICE / IP_BOUND_IF), so only rewritten SYNs reach it; unless bind is false (tests).
   */
  listener?: { port?: number; bind?: boolean };
  /**
   * How long a closed flow's fake address:port stays out of reuse, translating late segments
   * (default 60 s: at least the OS's TIME_WAIT, Linux 60 s, macOS 30 s).
   */
  timeWaitMs?: number;
  /** Open flows with no packet for this long are dropped (default 2 h, like TCP keepalive). */
  idleMs?: number;
  /** Deadline of the app lookup + dial, and then of the kernel's handshake (default 15 s each). */
  dialTimeoutMs?: number;
  /** Deadline of one app lookup by the resolver, for DNS answers too (default 10 s). */
  resolveTimeoutMs?: number;
  /** Dials (lookup + connect) in flight at once, overall (default 512) and per app (default 256: a
   *  burst of parallel first connections all wait for one bastion session and its touch). */
  maxDials?: number;
  maxDialsPerApp?: number;
  /** DNS queries being answered at once, UDP and TCP together (default 1024). */
  maxDnsInflight?: number;
  /** 'dns-miss' fires at most once per name per this interval (default 60 s). */
  dnsMissIntervalMs?: number;
  /**
   * Dial and relay plain-TCP apps in a worker thread with a listener of its own, so bulk bytes never
   * share the main thread with SYNs and DNS (default: true when the listener is bound).
   */
  relay?: boolean;
  /** Tests: the relay worker's stand-in (default: the real worker thread). */
  relayEndpoint?: RelayEndpointFactory;
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
  /** Queries refused because maxDnsInflight were being answered. */
  dnsRefused: number;
  /** SYNs refused ('refused' events). */
  refused: number;
  /** ICMP errors not sent because of the rate limit (e.g. port unreachable for a UDP flood). */
  icmpLimited: number;
  /** Rewritten SYNs the relay worker wrote into the tun itself (the others: this thread). */
  relaySyns: number;
}

export type { FlowErrorCode, OpenFlow, RefusalCode } from './flows';

/** The 'error' event's code: a flow's, or the engine's own trouble. */
export type VNetErrorCode =
  FlowErrorCode | 'tun-read' | 'tun-closed' | 'tun-write' | 'listener' | 'dns' | 'internal';

/** Events (all with plain-object payloads): */
export interface VNetEvents {
  /** `id` names the connection (also in its 'closed'); `via` is the app's bastion or 'direct'. */
  connection: { fqdn: string; port: number; id: number; via: string };
  closed: { fqdn: string; port: number; bytesFromClient: number; bytesToClient: number; id: number };
  /** A SYN answered with RST: `code` is machine-readable, `reason` a sentence. */
  refused: { fqdn: string; port: number; reason: string; code: RefusalCode };
  error: { fqdn?: string; port?: number; message: string; code: VNetErrorCode };
  /** A DNS query (A/AAAA/ANY) named something in a VNet zone that is no app; once per name per interval. */
  'dns-miss': { fqdn: string };
}

const DNS_MISS_KEYS = 4096;
const ICMP_ERRORS_PER_SECOND = 1000;
const ICMP_ERROR_BURST = 50;
const MISS_TYPES = new Set(['A', 'AAAA', 'ANY']);

export class VNetEngine extends EventEmitter {
  readonly plan: AddressPlan;
  readonly nat: NatTable;
  readonly natInit: NatInit;
  readonly stats: VNetStats = {
    packets: 0,
    fastPath: 0,
    slowPath: 0,
    malformed: 0,
    dropped: 0,
    dnsRefused: 0,
    refused: 0,
    icmpLimited: 0,
    relaySyns: 0,
  };
  readonly dns: DnsResponder;
  private readonly dnsService: DnsService;
  private readonly resolver: CachingResolver;
  private readonly fast: FastPath;
  private readonly flows: Flows;
  private readonly clock: () => number;
  private readonly epoch: number;
  private readonly ipv6: boolean;
  private readonly misses: PerKeyRateLimit;
  private readonly icmpErrors: TokenBucket;
  private tun: TunDevice | null = null;
  private servers: Server[] = [];
  private relay: Relay | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private stopped = false;
  private readLoop: Promise<void> = Promise.resolve();

  constructor(private readonly opts: VNetOptions) {
    super();
    this.plan = opts.plan;
    this.clock = opts.clock ?? Date.now;
    this.epoch = this.clock();
    this.ipv6 = opts.ipv6 ?? true;
    this.resolver = new CachingResolver(opts.resolver, 5000, this.clock, opts.resolveTimeoutMs ?? 10_000);
    const plan = opts.plan;
    const capacity = Math.min(opts.natCapacity ?? 65536, plan.fakeCount * (65536 - 1024));
    this.natInit = natInitForPlan(plan, capacity);
    this.nat = new NatTable(this.natInit);
    this.nat.setNow(0);
    this.fast = createFastPath(this.natInit);
    this.icmpErrors = new TokenBucket(ICMP_ERRORS_PER_SECOND, ICMP_ERROR_BURST, this.clock);
    this.misses = new PerKeyRateLimit(opts.dnsMissIntervalMs ?? 60_000, DNS_MISS_KEYS, this.clock);
    this.dns = new DnsResponder({
      resolver: this.resolver,
      addresses: (fqdn) => plan.assign(fqdn),
      ipv6: this.ipv6,
      forwarder: this.makeForwarder(),
      onMiss: (fqdn, qtype) => {
        if (MISS_TYPES.has(qtype) && this.misses.allow(fqdn)) this.emit('dns-miss', { fqdn });
      },
    });
    this.dnsService = new DnsService(this.dns, opts.maxDnsInflight ?? 1024, {
      write: (p) => this.write(p),
      error: (message) => this.emitError(message, 'dns'),
      refused: () => this.stats.dnsRefused++,
    });
    this.flows = new Flows(
      plan,
      this.nat,
      this.fast,
      this.resolver,
      opts.dialer,
      {
        dialTimeoutMs: opts.dialTimeoutMs ?? 15_000,
        holdMs: opts.timeWaitMs ?? 60_000,
        maxDials: opts.maxDials ?? 512,
        maxDialsPerApp: opts.maxDialsPerApp ?? 256,
      },
      {
        write: (p) => this.write(p),
        now: () => this.now(),
        refused: (fqdn, port, code, reason) => {
          this.stats.refused++;
          this.emit('refused', { fqdn, port, reason, code });
        },
        error: (fqdn, port, code, message) => this.emitError(message, code, fqdn, port),
        connection: (fqdn, port, id, via) => this.emit('connection', { fqdn, port, id, via }),
        relaySyn: () => this.stats.relaySyns++,
        closed: (fqdn, port, bytesFromClient, bytesToClient, id) =>
          this.emit('closed', { fqdn, port, bytesFromClient, bytesToClient, id }),
        dnsSession: () => this.dnsService.tcpSession(),
        relayDied: (why) =>
          this.emitError(`${why}; plain-TCP apps are relayed on the main thread from now on`, 'internal'),
      },
    );
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
      p4 = await this.listen(this.plan.tun4, l.port ?? 0, tun.name, 4);
      if (this.ipv6) {
        p6 = await this.listen(this.plan.tun6, l.port ?? 0, tun.name, 6).catch((err: Error) => {
          this.emitError(`IPv6 listener unavailable, IPv4 only: ${err.message}`, 'listener');
          return 0;
        });
      }
    } else if (!p4) {
      throw new Error('listener.port is required when listener.bind is false');
    }
    this.nat.setListenerPorts(p4, p6);
    if (this.opts.relay ?? l.bind !== false) await this.startRelay(tun.name, l.bind !== false, p6 !== 0);
    const every = this.opts.sweepIntervalMs ?? 1000;
    if (every > 0) {
      this.sweeper = setInterval(() => this.sweep(), every);
      this.sweeper.unref();
    }
    this.readLoop = this.run(tun);
  }

  /** The relay worker and its listeners; without them flows are piped on this thread. */
  private async startRelay(device: string, bind: boolean, v6: boolean): Promise<void> {
    const relay = new Relay(
      this.natInit,
      this.nat.capacity,
      this.opts.relayEndpoint,
      this.tun?.sharedWriter?.(),
    );
    try {
      const ports = await relay.listen({
        tun4: this.plan.tun4,
        tun6: v6 ? this.plan.tun6 : null,
        bindToDevice: bind ? (fd, family) => bindFdToDevice(fd, device, family) : null,
      });
      this.nat.setRelayPorts(ports.v4, ports.v6);
      this.flows.useRelay(relay);
      this.relay = relay;
    } catch (err) {
      this.emitError(
        `relay worker unavailable, relaying on the main thread: ${(err as Error).message}`,
        'listener',
      );
      await relay.stop();
    }
  }

  /** Listener ports (v4, v6) as the NAT rewrites to them. */
  get listenerPorts(): { v4: number; v6: number } {
    return this.nat.listenerPorts;
  }

  /**
   * The user's apps changed: forget cached lookups so the new configuration applies to the next
   * DNS query and connection at once. Flows already open keep running.
   */
  appsChanged(): void {
    this.resolver.clear();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.flows.stop();
    await this.relay?.stop();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await this.tun?.close();
    await this.readLoop;
  }

  /** Expiry pass: set-up deadlines, idle flows, and the end of held NAT entries. */
  sweep(): void {
    const now = this.now();
    this.nat.setNow(now);
    this.flows.expire(now);
    const { idle } = this.nat.sweep(now, this.opts.idleMs ?? 7_200_000);
    for (const e of idle) this.flows.release(e);
  }

  /** The open connections with their bytes so far and their ends (the status's live view). */
  openConnections(): OpenFlow[] {
    return this.flows.openFlows();
  }

  /** Flows and dials currently held (for tests and stats). */
  get load(): { flows: number; dials: number; dnsQueries: number } {
    return { flows: this.flows.size, dials: this.flows.dials, dnsQueries: this.dnsService.queriesInFlight };
  }

  private now(): number {
    return this.clock() - this.epoch;
  }

  private async run(tun: TunDevice): Promise<void> {
    const out: Buffer[] = [];
    while (!this.stopped) {
      let pkts: Buffer[];
      try {
        pkts = await tun.read();
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof TunClosedError)
          this.emitError(`tun ${tun.name} was closed under the engine`, 'tun-closed');
        else this.emitError(`tun read failed: ${(err as Error).message}`, 'tun-read');
        break;
      }
      // An empty batch is no signal (closing is explicit): just read again.
      this.nat.setNow(this.now());
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
      if (v === REPLY) {
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
      this.emitError(`packet handling failed: ${(err as Error).message}`, 'internal');
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
      case PROTO_TCP: {
        const tcp = parseTcp(p, ip);
        if (typeof tcp === 'string') {
          this.stats.malformed++;
          return;
        }
        return this.flows.onTcp(p, ip, tcp, fqdn);
      }
      case PROTO_ICMP:
      case PROTO_ICMPV6: {
        if (fqdn === undefined) return;
        const reply = echoReply(p, ip);
        if (reply) this.write(reply);
        return;
      }
    }
  }

  private onUdp(p: Buffer, ip: IpInfo, fqdn: string | undefined): void {
    const udp = parseUdp(p, ip);
    if (typeof udp === 'string') {
      this.stats.malformed++;
      return;
    }
    if (fqdn === DNS_APP && udp.dport === 53) return this.dnsService.onUdp(p, ip, udp, this.tun?.mtu ?? 1500);
    if (fqdn === undefined) return;
    if (this.icmpErrors.take()) this.write(portUnreachable(p, ip));
    else this.stats.icmpLimited++;
  }

  /**
   * A connection the kernel delivered to the listener; `remoteAddress:remotePort` is the fake
   * source, which names the NAT entry. Public for tests that have no kernel.
   */
  handleAccepted(sock: Duplex, remoteAddress: string, remotePort: number): void {
    this.flows.accepted(sock, remoteAddress, remotePort);
  }

  private write(pkts: Buffer | Buffer[]): void {
    try {
      this.tun?.write(pkts);
    } catch (err) {
      if (!this.stopped) this.emitError(`tun write failed: ${(err as Error).message}`, 'tun-write');
    }
  }

  private emitError(message: string, code: VNetErrorCode, fqdn?: string, port?: number): void {
    // 'error' without a listener would throw: only emit when someone listens.
    if (this.listenerCount('error') > 0) this.emit('error', { fqdn, port, message, code });
  }

  private listen(host: string, port: number, device: string, family: 4 | 6): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
        this.handleAccepted(sock, sock.remoteAddress ?? '', sock.remotePort ?? 0);
      });
      srv.once('error', reject);
      srv.listen({ host, port, backlog: 1024 }, () => {
        srv.off('error', reject);
        try {
          // Only connections that came in through the tun, i.e. rewritten SYNs: a local process
          // reaching tun4:port over loopback (even from a fake source, with IP_FREEBIND) is refused.
          bindServerToDevice(srv, device, family);
        } catch (err) {
          srv.close();
          reject(new Error(`cannot bind the listener to ${device}: ${(err as Error).message}`));
          return;
        }
        srv.on('error', (err) => this.emitError(`listener ${host}: ${err.message}`, 'listener'));
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
