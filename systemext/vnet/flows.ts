// The TCP "system stack" of the engine: a client's SYN to a virtual IP is resolved and dialed
// first; once the upstream is connected the SYN is rewritten (fake:natPort -> tun:listener) and
// written back into the tun, the kernel hands the connection to our listener, and the accepted
// socket is piped to the upstream. This file owns the flows (sockets, deadlines, dial limits) and
// drives the NAT entries' lifecycle (./nat-table).
//
// Plain-TCP apps (the dialer offers a relayTarget) are dialed and relayed by the relay worker
// (./relay): the SYN is then rewritten to the worker's listener, by the worker itself as soon as
// its connect succeeds (./syn-offer: if this thread drops the flow meanwhile, exactly one side wins),
// and the bytes never touch this thread. Others (SSH channels) are dialed here and piped by
// accepted() below.
//
// Every flow has a deadline while it is not yet piped (resolve + dial, then the kernel's
// handshake); the engine's sweep enforces them with its clock, so a hanging agent or dialer holds
// nothing for ever. Dials in flight are bounded overall and per app.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { bytesToIp, ipToBytes } from '../net/addr';
import { TCP_ACK, TCP_RST, TCP_SYN, type IpInfo, type TcpInfo } from '../net/packet';
import type { AddressPlan } from './addresses';
import type { Dialer } from './dialer';
import { REPLY, type FastPath } from './fast-path';
import { F_FIN_CLIENT, F_RST, NatTable, ST_CLOSING, ST_DIALING, ST_OPEN } from './nat-table';
import type { Relay, RelayHooks } from './relay';
import { rstFor } from './replies';
import { portAllowed, type AppResolver } from './resolver';

/** Why a SYN was refused (the 'refused' event's `code`). */
export type RefusalCode = 'not-an-app' | 'port-not-allowed' | 'nat-full' | 'dial-limit' | 'app-dial-limit';
/** What went wrong with a flow (the 'error' event's `code`). */
export type FlowErrorCode =
  'resolve-failed' | 'resolve-timeout' | 'dial-failed' | 'dial-timeout' | 'handshake-timeout' | 'flow-error';

/** The name of flows to the VNet's own DNS address (DNS over TCP, answered in process). */
export const DNS_APP = '(vnet dns)';

export interface FlowLimits {
  /** Resolve + dial deadline, and the kernel handshake's deadline after it (ms). */
  dialTimeoutMs: number;
  /** Held out of reuse after close (>= the OS's TIME_WAIT), ms. */
  holdMs: number;
  maxDials: number;
  maxDialsPerApp: number;
}

export interface FlowHooks {
  write(p: Buffer): void;
  now(): number;
  refused(fqdn: string, port: number, code: RefusalCode, reason: string): void;
  error(fqdn: string, port: number, code: FlowErrorCode, message: string): void;
  /** `id` names the connection in its closed() too; `via` is the app's bastion or 'direct'. */
  connection(fqdn: string, port: number, id: number, via: string): void;
  closed(fqdn: string, port: number, bytesFromClient: number, bytesToClient: number, id: number): void;
  dnsSession(): Duplex;
  /** The relay worker wrote a flow's SYN (counted). */
  relaySyn?(): void;
  /** The relay worker died (its flows were reported one by one). */
  relayDied?(why: string): void;
}

type Phase = 'resolving' | 'dialing' | 'handshake' | 'piped';

/** An open connection as the status lists it: its bytes so far, and both ends as the client sees them. */
/** An open connection as the status window and `keyvnet connections` show it. */
export interface OpenFlow {
  id: number;
  fqdn: string;
  port: number;
  /** The app's bastion or 'direct'. */
  via: string;
  bytesFromClient: number;
  bytesToClient: number;
  /** The client's own address and port (its socket's local end). */
  client: { address: string; port: number };
  /** The app's virtual address and the port dialled (the client socket's remote end). */
  app: { address: string; port: number };
}

interface Flow {
  /** Names the connection in events (never reused while the engine runs). */
  id: number;
  /** The app's bastion or 'direct', once resolved. */
  via: string;
  entry: number;
  /** The entry's version when the flow took it: a retired and reused entry is not ours any more. */
  ver: number;
  fqdn: string;
  port: number;
  phase: Phase;
  /** Engine clock (ms) by which the current phase must end; 0 when piped. */
  deadline: number;
  /** Counted against the dial limits until the dial settles. */
  dialCounted: boolean;
  syn: Buffer;
  ip: IpInfo;
  tcp: TcpInfo;
  abort: AbortController;
  upstream?: Duplex;
  client?: Duplex;
  /** Dialed and piped by the relay worker (no sockets here). */
  relayed: boolean;
  /** Its SYN is offered to the relay worker (./syn-offer) and the dial has not been seen to settle. */
  offered: boolean;
  /** Bytes so far of a flow piped here (live: the status window shows them; the worker's count in
   *  Relay.bytes for a relayed flow). */
  fromClient: number;
  toClient: number;
}

/** An open connection and its bytes so far. */
export class Flows implements RelayHooks {
  private readonly flows = new Map<number, Flow>();
  /** Flows handed to the relay worker, by id, until it reports them closed or we abort them. */
  private readonly relayed = new Map<number, Flow>();
  private relay: Relay | null = null;
  private dialsInFlight = 0;
  private nextFlowId = 0;
  private readonly dialsPerApp = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly plan: AddressPlan,
    private readonly nat: NatTable,
    private readonly fast: FastPath,
    private readonly resolver: AppResolver,
    private readonly dialer: Dialer,
    private readonly limits: FlowLimits,
    private readonly hooks: FlowHooks,
  ) {}

  get size(): number {
    return this.flows.size;
  }

  /** From now on plain-TCP apps are dialed and relayed by `relay`'s worker. */
  useRelay(relay: Relay): void {
    this.relay = relay;
    relay.attach(this);
  }

  /** Open (piped) connections with their live byte counts. */
  get dials(): number {
    return this.dialsInFlight;
  }

  /** A TCP segment the fast path did not take. */
  onTcp(p: Buffer, ip: IpInfo, tcp: TcpInfo, fqdn: string | undefined): void {
    const { srcOff, dstOff, addrLen } = ip;
    const entry = this.nat.lookup(p, srcOff, dstOff, addrLen, tcp.sport, tcp.dport);
    if (tcp.flags & TCP_RST) {
      // The client gave up (e.g. while we were dialing): forget the flow. RSTs are never answered.
      if (entry >= 0 && this.nat.state(entry) === ST_DIALING) this.release(entry);
      return;
    }
    const bareSyn = (tcp.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (entry >= 0) {
      const st = this.nat.state(entry);
      const ended = st === ST_CLOSING || (st === ST_OPEN && this.nat.flags(entry) & (F_FIN_CLIENT | F_RST));
      if (!(bareSyn && ended)) return; // dialing, or a race with the fast path: TCP retransmits
      // The client reuses the 4-tuple for a new connection: the old flow goes, its fake
      // address:port stays held, and the new SYN gets an entry of its own.
      this.drop(entry);
      this.nat.retire(entry, this.hooks.now(), this.limits.holdMs);
    }
    if (!bareSyn || fqdn === undefined || (ip.version === 6 && this.nat.listenerPorts.v6 === 0)) {
      this.hooks.write(rstFor(p, ip, tcp));
      return;
    }
    if (fqdn === DNS_APP && tcp.dport !== 53) {
      this.hooks.write(rstFor(p, ip, tcp));
      return;
    }
    const isDial = fqdn !== DNS_APP;
    if (isDial) {
      const why = this.dialLimit(fqdn);
      if (why) {
        this.hooks.write(rstFor(p, ip, tcp));
        this.hooks.refused(fqdn, tcp.dport, why.code, why.reason);
        return;
      }
    }
    const e = this.nat.allocate(p, srcOff, dstOff, addrLen as 4 | 16, tcp.sport, tcp.dport);
    if (e < 0) {
      this.hooks.write(rstFor(p, ip, tcp));
      this.hooks.refused(fqdn, tcp.dport, 'nat-full', 'too many connections (NAT table full)');
      return;
    }
    const flow: Flow = {
      id: ++this.nextFlowId,
      via: 'direct',
      entry: e,
      ver: this.nat.version(e),
      fqdn,
      port: tcp.dport,
      phase: 'resolving',
      deadline: this.hooks.now() + this.limits.dialTimeoutMs,
      dialCounted: isDial,
      syn: Buffer.from(p.subarray(0, ip.end)),
      ip,
      tcp,
      abort: new AbortController(),
      relayed: false,
      offered: false,
      fromClient: 0,
      toClient: 0,
    };
    if (isDial) this.countDial(fqdn, +1);
    this.flows.set(e, flow);
    void this.dial(flow);
  }

  private dialLimit(fqdn: string): { code: RefusalCode; reason: string } | null {
    if (this.dialsInFlight >= this.limits.maxDials)
      return { code: 'dial-limit', reason: `too many connections being set up (${this.limits.maxDials})` };
    if ((this.dialsPerApp.get(fqdn) ?? 0) >= this.limits.maxDialsPerApp)
      return {
        code: 'app-dial-limit',
        reason: `too many connections to ${fqdn} being set up (${this.limits.maxDialsPerApp})`,
      };
    return null;
  }

  private countDial(fqdn: string, d: 1 | -1): void {
    this.dialsInFlight += d;
    const n = (this.dialsPerApp.get(fqdn) ?? 0) + d;
    if (n > 0) this.dialsPerApp.set(fqdn, n);
    else this.dialsPerApp.delete(fqdn);
  }

  private settleDial(flow: Flow): void {
    if (!flow.dialCounted) return;
    flow.dialCounted = false;
    this.countDial(flow.fqdn, -1);
  }

  private alive(flow: Flow): boolean {
    return this.flows.get(flow.entry) === flow && !this.stopped;
  }

  /** Dial before accept: the SYN goes to the kernel only once the upstream is connected. */
  private async dial(flow: Flow): Promise<void> {
    let upstream: Duplex | null = null;
    /** The relay worker opened the entry and wrote the SYN. */
    let opened = false;
    try {
      if (flow.fqdn === DNS_APP) {
        upstream = this.hooks.dnsSession();
      } else {
        let app;
        try {
          app = await this.resolver.resolve(flow.fqdn);
        } catch (err) {
          const code =
            (err as { code?: string }).code === 'resolve-timeout' ? 'resolve-timeout' : 'resolve-failed';
          return this.fail(flow, code, (err as Error).message);
        }
        if (!this.alive(flow)) return;
        if (!app || !portAllowed(app, flow.port)) {
          this.hooks.write(rstFor(flow.syn, flow.ip, flow.tcp));
          this.release(flow.entry);
          if (!app) this.hooks.refused(flow.fqdn, flow.port, 'not-an-app', 'not an app');
          else
            this.hooks.refused(
              flow.fqdn,
              flow.port,
              'port-not-allowed',
              `port ${flow.port} is not allowed for ${app.fqdn}`,
            );
          return;
        }
        flow.phase = 'dialing';
        flow.via = app.via;
        const relayPort = this.relayPort(flow);
        const target = relayPort ? this.dialer.relayTarget?.(app, flow.port) : null;
        try {
          if (target) {
            flow.relayed = true;
            this.relayed.set(flow.id, flow);
            this.nat.setListenerPort(flow.entry, relayPort);
            // The worker writes the SYN on connect when it can (one thread hop less per connection).
            flow.offered = this.relay!.writesSyn;
            opened = await this.relay!.dial(
              flow.id,
              flow.entry,
              flow.ip.version === 4 ? 4 : 6,
              target.host,
              target.port,
              target.timeoutMs,
              flow.abort.signal,
              flow.offered ? flow.syn : undefined,
            );
          } else {
            upstream = await this.dialer.dial(app, flow.port, flow.abort.signal);
          }
        } catch (err) {
          this.relayed.delete(flow.id);
          return this.fail(flow, 'dial-failed', (err as Error).message);
        }
      }
    } finally {
      this.settleDial(flow);
    }
    if (!this.alive(flow)) {
      upstream?.destroy(); // expired or reset meanwhile
      if (flow.relayed) this.forgetRelayed(flow);
      return;
    }
    if (upstream) {
      flow.upstream = upstream;
      upstream.on('error', () => {}); // reported when the flow closes
    }
    flow.offered = false;
    flow.phase = 'handshake';
    flow.deadline = this.hooks.now() + this.limits.dialTimeoutMs;
    if (!opened) {
      this.nat.touch(flow.entry);
      this.nat.setState(flow.entry, ST_OPEN);
      const syn = Buffer.from(flow.syn);
      if (this.fast(syn) !== REPLY) {
        return this.fail(flow, 'flow-error', 'NAT rewrite of the SYN failed');
      }
      this.hooks.write(syn);
    } else this.hooks.relaySyn?.();
    this.hooks.connection(flow.fqdn, flow.port, flow.id, flow.via);
  }

  /** The relay worker's listener port for this flow's family, or 0 (no worker: pipe here). */
  private relayPort(flow: Flow): number {
    if (!this.relay?.usable) return 0;
    const p = this.nat.relayPorts;
    return flow.ip.version === 4 ? p.v4 : p.v6;
  }

  private forgetRelayed(flow: Flow): void {
    if (this.relayed.delete(flow.id)) this.relay?.abort(flow.id);
  }

  /**
   * Whether the flow is piped. A relayed flow becomes so when the worker accepts its connection,
   * which it marks in shared memory rather than by a message (one wake-up less per connection):
   * read here when it matters.
   */
  private piped(flow: Flow): boolean {
    if (flow.phase === 'handshake' && flow.relayed && this.relay?.accepted(flow.entry, flow.id)) {
      flow.phase = 'piped';
      flow.deadline = 0;
    }
    return flow.phase === 'piped';
  }

  /** RelayHooks: both sockets of a relayed flow are gone. */
  relayClosed(id: number, fromClient: number, toClient: number, error?: string): void {
    const flow = this.relayed.get(id);
    if (!flow) return;
    this.relayed.delete(id);
    this.finish(flow, fromClient, toClient, error);
  }

  /** RelayHooks: the worker died; the flows it carried are lost (dials in flight fail on their own). */
  relayDied(why: string): void {
    for (const flow of [...this.relayed.values()]) {
      if (flow.phase === 'dialing') continue; // its dial promise rejects and fail() reports it
      this.relayed.delete(flow.id);
      if (this.piped(flow)) {
        const b = this.relay?.bytesOf(flow.entry) ?? { fromClient: 0, toClient: 0 };
        this.finish(flow, b.fromClient, b.toClient, why);
      } else this.fail(flow, 'flow-error', why);
    }
    this.hooks.relayDied?.(why);
  }

  /** A piped flow ended: free its entry (held for TIME_WAIT) and report. */
  private finish(flow: Flow, fromClient: number, toClient: number, error?: string): void {
    if (this.flows.get(flow.entry) === flow) this.flows.delete(flow.entry);
    // Free on socket close, not on sniffed flags: the entry is held for TIME_WAIT from now on.
    if (this.nat.version(flow.entry) === flow.ver)
      this.nat.close(flow.entry, this.hooks.now(), this.limits.holdMs);
    this.hooks.closed(flow.fqdn, flow.port, fromClient, toClient, flow.id);
    if (error) this.hooks.error(flow.fqdn, flow.port, 'flow-error', error);
  }

  /** A flow that could not be set up: reset the client, free what it held, report. */
  private fail(flow: Flow, code: FlowErrorCode, message: string): void {
    if (!this.alive(flow)) return;
    this.hooks.write(rstFor(flow.syn, flow.ip, flow.tcp));
    this.release(flow.entry);
    this.hooks.error(flow.fqdn, flow.port, code, message);
  }

  /** Enforces the set-up deadlines (engine clock). */
  expire(now: number): void {
    for (const flow of [...this.flows.values()]) {
      if (this.piped(flow) || now < flow.deadline) continue;
      const what =
        flow.phase === 'resolving'
          ? (['resolve-timeout', 'the app lookup'] as const)
          : flow.phase === 'dialing'
            ? (['dial-timeout', 'the dial'] as const)
            : (['handshake-timeout', "the kernel's handshake with the listener"] as const);
      this.fail(flow, what[0], `${what[1]} did not finish within ${this.limits.dialTimeoutMs} ms`);
    }
  }

  /**
   * A connection the kernel delivered to the listener; `remoteAddress:remotePort` is the fake
   * source, which names the NAT entry.
   */
  accepted(sock: Duplex, remoteAddress: string, remotePort: number): void {
    let entry = -1;
    try {
      const v4 = !remoteAddress.includes(':') || remoteAddress.startsWith('::ffff:');
      const off = this.plan.offsetOfBytes(ipToBytes(remoteAddress.replace(/^::ffff:/, '')), 0, v4 ? 4 : 16);
      if (off !== null) entry = this.nat.entryOfFake(off - this.plan.fakeStart, remotePort);
    } catch {
      entry = -1;
    }
    const flow = entry >= 0 ? this.flows.get(entry) : undefined;
    if (!flow || !flow.upstream || flow.client) {
      sock.destroy(); // not one of ours (e.g. a local process connecting to the listener)
      return;
    }
    flow.client = sock;
    flow.phase = 'piped';
    flow.deadline = 0;
    const up = flow.upstream;
    sock.on('data', (d: Buffer) => (flow.fromClient += d.length));
    up.on('data', (d: Buffer) => (flow.toClient += d.length));
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
      this.finish(flow, flow.fromClient, flow.toClient, failure?.message);
    };
    sock.on('close', onClose);
    up.on('close', onClose);
  }

  /** The connections handed to their clients and still open (never on the packet path: on request). */
  openFlows(): OpenFlow[] {
    const out: OpenFlow[] = [];
    for (const f of this.flows.values()) {
      if (!this.piped(f) || f.fqdn === DNS_APP) continue;
      const len = f.ip.addrLen as 4 | 16;
      // A relayed flow's counts live in the worker's shared counters: read without a message.
      const b = f.relayed && this.relay ? this.relay.bytesOf(f.entry) : null;
      out.push({
        id: f.id,
        fqdn: f.fqdn,
        port: f.port,
        via: f.via,
        bytesFromClient: b ? b.fromClient : f.fromClient,
        bytesToClient: b ? b.toClient : f.toClient,
        client: { address: bytesToIp(f.syn, f.ip.srcOff, len), port: f.tcp.sport },
        app: { address: bytesToIp(f.syn, f.ip.dstOff, len), port: f.tcp.dport },
      });
    }
    return out;
  }

  /** Ends a flow's sockets and lets go of its entry (freed if it never reached the kernel, else held). */
  release(e: number): void {
    const flow = this.flows.get(e);
    this.drop(e);
    if (!flow || this.nat.version(e) === flow.ver) this.nat.close(e, this.hooks.now(), this.limits.holdMs);
  }

  /** Ends a flow's sockets (its NAT entry is the caller's business). */
  drop(e: number): void {
    const flow = this.flows.get(e);
    if (!flow) return;
    this.flows.delete(e);
    this.settleDial(flow);
    if (flow.offered) {
      flow.offered = false;
      // Dropped while its dial may be completing: if the worker took the offer first, the SYN is in
      // (or on its way to) the kernel, so the entry is OPEN and will be held, not freed at once.
      this.relay!.withdraw(this.nat, e, flow.id);
    }
    if (flow.relayed && this.relayed.delete(flow.id) && flow.phase !== 'dialing') {
      // Past its dial (a dial in flight is aborted through its signal, below): the worker drops
      // the flow and says nothing more about it, so its end is reported from here.
      this.relay?.abort(flow.id);
      if (this.piped(flow)) {
        const b = this.relay!.bytesOf(e);
        this.hooks.closed(flow.fqdn, flow.port, b.fromClient, b.toClient, flow.id);
      }
    }
    flow.abort.abort();
    flow.upstream?.destroy();
    flow.client?.destroy();
  }

  stop(): void {
    this.stopped = true;
    for (const e of [...this.flows.keys()]) this.drop(e);
  }
}
