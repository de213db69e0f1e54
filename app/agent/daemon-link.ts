// The agent's side of the daemon socket: connect (and reconnect, for as long as the agent runs),
// serve the daemon's requests, push the configuration, and keep VNet in the state the user wants.
// The daemon takes VNet down when we go away; when we come back, this brings it back up.
import type {
  AppSpec,
  BastionSpecInfo,
  SignParams,
  VNetConfig,
  VNetEvent,
  VNetStatus,
} from '../../ipc/messages';
import { connectDaemon, DaemonConnectError } from '../../ipc/client';
import type { RpcPeer } from '../../ipc/rpc';

export type LinkState = 'connecting' | 'connected' | 'unavailable';

export interface DaemonServices {
  /** The configuration to push, or null while the user's config is invalid. */
  vnetConfig(): VNetConfig | null;
  wantUp(): boolean;
  resolve(fqdn: string): Promise<AppSpec | null>;
  bastion(name: string): Promise<BastionSpecInfo | null>;
  sign(p: SignParams, signal: AbortSignal): Promise<{ signature: string }>;
  onEvent(ev: VNetEvent): void;
  onLink(state: LinkState, error: string | null, status: VNetStatus | null): void;
}

export interface DaemonLinkOptions {
  socketPath: string;
  version: string;
  services: DaemonServices;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Delay between connection attempts (default 1 s; 5 s after a refusal that needs the user). */
  retryMs?: number;
  pingIntervalMs?: number;
  pingDeadMs?: number;
  /** The daemon's uid (root); for tests only. */
  daemonUid?: number;
}

export class DaemonLink {
  private peer: RpcPeer | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private pushing: Promise<void> = Promise.resolve();
  private lastError: string | null = null;

  constructor(private readonly opts: DaemonLinkOptions) {}

  start(): void {
    void this.connect();
  }

  get connected(): boolean {
    return this.peer !== null && !this.peer.closed;
  }

  /** The live connection (for status reads), or null. */
  rpc(): RpcPeer | null {
    return this.connected ? this.peer : null;
  }

  /**
   * Sends the current configuration and brings VNet up or down as wanted. Serialised: the daemon
   * sees configurations in the order they were made.
   */
  push(): Promise<void> {
    const run = this.pushing.then(() => this.pushNow());
    this.pushing = run.catch(() => undefined);
    return run;
  }

  /** Takes VNet down (if connected) and closes the link for good. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const peer = this.peer;
    if (peer && !peer.closed) {
      await peer.request('vnet/down', {}, { timeoutMs: 5000 }).catch(() => undefined);
      peer.close('agent stopping');
    }
  }

  private async pushNow(): Promise<void> {
    const peer = this.rpc();
    if (!peer) return;
    const cfg = this.opts.services.vnetConfig();
    try {
      if (cfg) await peer.request('vnet/configure', cfg, { timeoutMs: 30_000 });
      const want = cfg !== null && this.opts.services.wantUp();
      const status = await peer.request(want ? 'vnet/up' : 'vnet/down', {}, { timeoutMs: 30_000 });
      this.opts.services.onLink('connected', null, status);
    } catch (err) {
      this.opts.log('error', `VNet: ${(err as Error).message}`);
      const status = await peer.request('vnet/status', {}).catch(() => null);
      this.opts.services.onLink('connected', (err as Error).message, status);
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let peer: RpcPeer;
    let daemonPid: number;
    try {
      const c = await connectDaemon({
        socketPath: this.opts.socketPath,
        role: 'agent',
        version: this.opts.version,
        daemonUid: this.opts.daemonUid,
        log: this.opts.log,
      });
      peer = c.peer;
      daemonPid = c.daemon.pid;
    } catch (err) {
      const msg = (err as Error).message;
      const needsUser =
        err instanceof DaemonConnectError && ['version', 'already-connected', 'not-root'].includes(err.code);
      if (msg !== this.lastError) this.opts.log(needsUser ? 'error' : 'warn', `daemon: ${msg}`);
      this.lastError = msg;
      this.opts.services.onLink(needsUser ? 'unavailable' : 'connecting', msg, null);
      this.retry(needsUser ? 5 * (this.opts.retryMs ?? 1000) : (this.opts.retryMs ?? 1000));
      return;
    }
    if (this.stopped) {
      peer.close('agent stopping');
      return;
    }
    this.lastError = null;
    this.peer = peer;
    const s = this.opts.services;
    peer.handle('app/resolve', async (p) => ({ app: await s.resolve(p.fqdn) }));
    peer.handle('bastion/get', async (p) => ({ bastion: await s.bastion(p.name) }));
    peer.handle('key/sign', (p, signal) => s.sign(p, signal));
    peer.onNotification('event', (ev) => s.onEvent(ev));
    peer.on('close', (reason) => {
      if (this.peer === peer) this.peer = null;
      if (this.stopped) return;
      this.opts.log('warn', `daemon connection lost: ${reason}; reconnecting`);
      s.onLink('connecting', `connection lost: ${reason}`, null);
      this.retry(this.opts.retryMs ?? 1000);
    });
    peer.startLiveness(this.opts.pingIntervalMs, this.opts.pingDeadMs);
    this.opts.log('info', `connected to the daemon (pid ${daemonPid})`);
    s.onLink('connected', null, null);
    await this.push();
  }

  private retry(ms: number): void {
    if (this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, ms);
  }
}
