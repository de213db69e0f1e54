// The daemon's one VNet: what the agent asked for (its pushed configuration, up or down) and what is
// running (a RunningVNet from vnet-instance.ts). Operations are serialised, so an `up` racing a
// `down` or a new configuration always ends in the state asked for last. Engine events become
// VNetEvents for the agent.
import { EventEmitter } from 'node:events';
import type { ConnectionInfo, VNetConfig, VNetEvent, VNetStatus, BastionStateInfo } from '../ipc/messages';
import { defaultMtu, type DaemonSettings } from './daemon-config';
import { socketOwnerFinder, type SocketOwnerFinder, type TcpEnds } from './procinfo/socket-owner';
import { startVNetInstance, type DaemonDeps, type DaemonLog, type RunningVNet } from './vnet-instance';
import type { AppResolver, Dialer } from './vnet';

export interface ControllerDeps {
  resolver: AppResolver;
  dialer: Dialer;
  log: DaemonLog;
  /** Bastion sessions for the status (from the SSH dialer, when there is one). */
  bastions?: () => BastionStateInfo[];
  /** Called when VNet goes down: bastion sessions carry the user's login and go with it. */
  onDown?: () => void;
  /** Which process holds a connection's client socket (default: this platform's /proc or lsof). */
  socketOwners?: SocketOwnerFinder;
  /** Seams for tests: the instance starter and its dependencies (in-memory tun, recording OS). */
  start?: typeof startVNetInstance;
  instanceDeps?: Partial<DaemonDeps>;
}

/** At most this many live connections are listed (the NAT table bounds the real number anyway). */
const MAX_LISTED_CONNECTIONS = 4096;

export class VNetController extends EventEmitter<{ event: [VNetEvent] }> {
  private config: VNetConfig | null = null;
  private vnet: RunningVNet | null = null;
  private state: VNetStatus['state'] = 'down';
  private error: string | null = null;
  private since = Date.now();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly conns = new Map<number, ConnectionInfo>();
  /** Connections whose client process was looked up (once each; forgotten with the connection). */
  private readonly ownerLooked = new Set<number>();
  private readonly socketOwners: SocketOwnerFinder;

  constructor(
    private readonly settings: DaemonSettings,
    private readonly deps: ControllerDeps,
  ) {
    super();
    this.socketOwners = deps.socketOwners ?? socketOwnerFinder();
  }

  /** The zones of the current configuration (the resolver's view, also while down). */
  zones(): string[] {
    return this.config?.zones ?? [];
  }

  /** Takes the agent's configuration; restarts a running VNet only when what the OS sees changed. */
  configure(cfg: VNetConfig): Promise<{ restarted: boolean }> {
    return this.serial(async () => {
      const old = this.config;
      this.config = cfg;
      if (!this.vnet) return { restarted: false };
      if (old && sameOsConfig(old, cfg)) {
        // Same range, MTU and zones: apps changed at most. Running connections keep going; new
        // lookups ask the agent again.
        this.vnet.engine.appsChanged();
        this.publish();
        return { restarted: false };
      }
      this.deps.log('info', 'configuration changed what the OS sees: restarting VNet');
      await this.stopInstance();
      await this.startInstance();
      return { restarted: true };
    });
  }

  up(): Promise<VNetStatus> {
    return this.serial(async () => {
      if (!this.vnet) await this.startInstance();
      return this.status();
    });
  }

  /** Takes VNet down: routes, addresses and resolver configuration are removed. */
  down(reason: string | null = null): Promise<VNetStatus> {
    return this.serial(async () => {
      if (this.vnet) {
        this.deps.log('info', `VNet down${reason ? `: ${reason}` : ''}`);
        await this.stopInstance();
      }
      this.deps.onDown?.();
      this.setState('down', reason);
      return this.status();
    });
  }

  status(): VNetStatus {
    const info = this.vnet?.info;
    return {
      state: this.state,
      error: this.error,
      since: this.since,
      tun: info?.tun ?? null,
      mtu: info?.mtu ?? null,
      ipv4Range: info?.ipv4Range ?? null,
      ipv6Range: info?.ipv6Range ?? null,
      dns: info?.dns ?? [],
      resolver: info?.resolver ?? null,
      zones: this.zones(),
      apps: this.vnet && this.config ? this.vnet.addresses(this.config.apps) : {},
      connections: this.conns.size,
      bastions: this.deps.bastions?.() ?? [],
    };
  }

  /** A bastion session changed (from the SSH dialer): the agent hears of it. */
  bastionChanged(bastion: BastionStateInfo): void {
    const reason = bastion.reason?.slice(0, 2048);
    this.send({
      type: 'bastion-state',
      bastion: { ...bastion, ...(reason !== undefined ? { reason } : {}) },
    });
  }

  /**
   * The open connections with their bytes so far (asked from the engine now) and, where the OS
   * tells, the client process: looked up here, once per connection, for the ones new since the
   * last list, so the packet path never pays for it.
   */
  async connections(): Promise<ConnectionInfo[]> {
    const open = this.vnet?.engine.openConnections?.() ?? [];
    const unknown: { id: number; ends: TcpEnds }[] = [];
    for (const f of open) {
      const c = this.conns.get(f.id);
      if (!c) continue;
      c.bytesUp = f.bytesFromClient;
      c.bytesDown = f.bytesToClient;
      if (this.ownerLooked.has(f.id)) continue;
      this.ownerLooked.add(f.id);
      unknown.push({ id: f.id, ends: { local: f.client, remote: f.app } });
    }
    if (unknown.length > 0) {
      const owners = await this.socketOwners(unknown.map((u) => u.ends)).catch((err: unknown) => {
        this.deps.log('warn', `client processes of connections not found: ${(err as Error).message}`);
        return unknown.map(() => null);
      });
      owners.forEach((o, i) => {
        const c = this.conns.get(unknown[i].id);
        if (c && o && Number.isInteger(o.pid) && o.pid > 0)
          c.process = { pid: o.pid, ...(o.name ? { name: o.name.slice(0, 256) } : {}) };
      });
    }
    return [...this.conns.values()].map((c) => ({ ...c }));
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async startInstance(): Promise<void> {
    const cfg = this.config;
    if (!cfg) throw new Error('no configuration from the agent yet: send vnet/configure first');
    this.setState('starting', null);
    try {
      const vnet = await (this.deps.start ?? startVNetInstance)(
        {
          range: cfg.range,
          ipv6: cfg.ipv6,
          mtu: cfg.mtu ?? defaultMtu(process.platform),
          zones: cfg.zones,
          appNames: cfg.apps,
          stateDir: this.settings.stateDir,
          tunName: this.settings.tunName,
        },
        {
          ...this.deps.instanceDeps,
          resolver: this.deps.resolver,
          dialer: this.deps.dialer,
          log: this.deps.log,
        },
      );
      this.vnet = vnet;
      this.watchEngine(vnet);
      this.setState('up', null);
    } catch (err) {
      this.setState('error', `VNet could not start: ${(err as Error).message}`);
      throw err;
    }
  }

  private async stopInstance(): Promise<void> {
    const vnet = this.vnet;
    if (!vnet) return;
    this.setState('stopping', null);
    this.vnet = null;
    await vnet.stop();
    for (const c of this.conns.values())
      this.send({
        type: 'connection-closed',
        id: c.id,
        fqdn: c.fqdn,
        port: c.port,
        bytesUp: c.bytesUp,
        bytesDown: c.bytesDown,
        at: Date.now(),
      });
    this.conns.clear();
    this.ownerLooked.clear();
  }

  private watchEngine(vnet: RunningVNet): void {
    const e = vnet.engine;
    const live = (): boolean => this.vnet === vnet;
    e.on('connection', (ev: { fqdn: string; port: number; id: number; via: string }) => {
      if (!live()) return;
      if (this.conns.size < MAX_LISTED_CONNECTIONS)
        this.conns.set(ev.id, {
          id: ev.id,
          fqdn: ev.fqdn,
          port: ev.port,
          openedAt: Date.now(),
          bytesUp: 0,
          bytesDown: 0,
          via: ev.via,
        });
      this.send({
        type: 'connection-opened',
        id: ev.id,
        fqdn: ev.fqdn,
        port: ev.port,
        via: ev.via,
        at: Date.now(),
      });
    });
    e.on(
      'closed',
      (ev: { fqdn: string; port: number; bytesFromClient: number; bytesToClient: number; id: number }) => {
        if (!live()) return;
        this.conns.delete(ev.id);
        this.ownerLooked.delete(ev.id);
        this.send({
          type: 'connection-closed',
          id: ev.id,
          fqdn: ev.fqdn,
          port: ev.port,
          bytesUp: ev.bytesFromClient,
          bytesDown: ev.bytesToClient,
          at: Date.now(),
        });
      },
    );
    e.on('refused', (ev: { fqdn: string; port: number; reason: string; code?: string }) => {
      if (live())
        this.send({
          type: 'refused',
          fqdn: ev.fqdn,
          port: ev.port,
          reason: ev.reason,
          code: ev.code ?? 'refused',
          at: Date.now(),
        });
    });
    e.on('dns-miss', (ev: { fqdn: string }) => {
      if (live()) this.send({ type: 'dns-miss', fqdn: ev.fqdn, at: Date.now() });
    });
    e.on('error', (ev: { fqdn?: string; port?: number; message: string; code?: string }) => {
      if (!live()) return;
      const fqdnOk = ev.fqdn !== undefined && ev.fqdn.length > 0 && ev.fqdn.length <= 253;
      this.send({
        type: 'error',
        message: ev.message.slice(0, 4096),
        ...(fqdnOk ? { fqdn: ev.fqdn } : {}),
        ...(ev.port ? { port: ev.port } : {}),
        ...(ev.code ? { code: ev.code.slice(0, 64) } : {}),
        at: Date.now(),
      });
    });
  }

  private setState(state: VNetStatus['state'], error: string | null): void {
    this.state = state;
    this.error = error;
    this.since = Date.now();
    this.publish();
  }

  private publish(): void {
    this.send({ type: 'vnet-state', status: this.status() });
  }

  private send(ev: VNetEvent): void {
    this.emit('event', ev);
  }
}

function sameOsConfig(a: VNetConfig, b: VNetConfig): boolean {
  const zones = (c: VNetConfig): string =>
    [...c.zones]
      .map((z) => z.toLowerCase())
      .sort()
      .join(',');
  return a.range === b.range && a.ipv6 === b.ipv6 && a.mtu === b.mtu && zones(a) === zones(b);
}
