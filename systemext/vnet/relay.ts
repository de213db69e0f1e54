// The main thread's side of the relay worker (./relay-core runs in it): starts the thread, binds
// its listeners to the tun, asks it to dial, and turns its messages into calls on Flows. A test
// can pass an endpoint of its own to force any order of messages.
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { workerLoader } from '../tun/worker-tun';
import type { FramingKind } from '../tun/framing';
import { DialError } from './dialer';
import type { NatInit, NatView } from './nat-view';
import { relayShared, type FromRelay, type RelayWorkerData, type ToRelay } from './relay-protocol';
import { letGo, offer } from './syn-offer';

/** The thread (or a test's stand-in) as the main thread sees it. */
export interface RelayEndpoint {
  post(m: ToRelay): void;
  onMessage(cb: (m: FromRelay) => void): void;
  /** Called once if the thread ends other than by terminate(). */
  onExit(cb: (why: string) => void): void;
  terminate(): Promise<void>;
}

export type RelayEndpointFactory = (data: RelayWorkerData) => RelayEndpoint;

/** What the relay reports about flows it accepted (Flows implements it). */
export interface RelayHooks {
  relayClosed(id: number, fromClient: number, toClient: number, error?: string): void;
  /** The worker is gone: every flow it held is lost, and no more flows go to it. */
  relayDied(why: string): void;
}

export function workerEndpoint(data: RelayWorkerData): RelayEndpoint {
  const w = new Worker(relayWorkerEntry(), { workerData: data, ...workerLoader() });
  let terminating = false;
  let exitCb: (why: string) => void = () => {};
  let reported = false;
  const report = (why: string): void => {
    if (terminating || reported) return;
    reported = true;
    exitCb(why);
  };
  w.on('error', (err) => report(`relay worker failed: ${err.message}`));
  w.on('exit', (code) => report(`relay worker exited (${code})`));
  return {
    post: (m) => w.postMessage(m),
    onMessage: (cb) => w.on('message', cb),
    onExit: (cb) => (exitCb = cb),
    terminate: async () => {
      terminating = true;
      await w.terminate();
    },
  };
}

export interface RelayListenOptions {
  tun4: string;
  tun6: string | null;
  /** Binds a listening fd to the tun device (SO_BINDTODEVICE / IP_BOUND_IF); null = do not (tests). */
  bindToDevice: ((fd: number, family: 4 | 6) => void) | null;
}

export class Relay {
  readonly bytes: Float64Array;
  private readonly acceptedIds: Int32Array;
  private readonly offers: Int32Array;
  /** The worker writes its flows' SYNs itself (it has the tun's fd). */
  readonly writesSyn: boolean;
  private readonly ep: RelayEndpoint;
  private readonly dials = new Map<
    number,
    { resolve: (opened: boolean) => void; reject: (e: Error) => void }
  >();
  private readonly listens = new Map<
    4 | 6,
    { resolve: (r: { port: number; fd: number }) => void; reject: (e: Error) => void }
  >();
  private dead: string | null = null;
  private hooks: RelayHooks | null = null;

  constructor(
    nat: NatInit,
    capacity: number,
    factory: RelayEndpointFactory = workerEndpoint,
    /** The tun's fd for the worker's own SYN writes (TunDevice.sharedWriter); none = main writes them. */
    tun?: { fd: number; framing: FramingKind },
  ) {
    const data: RelayWorkerData = { nat, ...relayShared(capacity), ...(tun ? { tun } : {}) };
    this.bytes = new Float64Array(data.bytes);
    this.acceptedIds = new Int32Array(data.accepted);
    this.offers = new Int32Array(data.offers);
    this.writesSyn = tun !== undefined;
    this.ep = factory(data);
    this.ep.onMessage((m) => this.onMessage(m));
    this.ep.onExit((why) => this.onExit(why));
  }

  /** True while the worker runs: new flows may go to it. */
  get usable(): boolean {
    return this.dead === null;
  }

  attach(hooks: RelayHooks): void {
    this.hooks = hooks;
  }

  /** Opens the worker's listeners; returns their ports (v6 0 when there is none). */
  async listen(o: RelayListenOptions): Promise<{ v4: number; v6: number }> {
    const one = (host: string, family: 4 | 6): Promise<{ port: number; fd: number }> =>
      new Promise((resolve, reject) => {
        if (this.dead) return reject(new Error(this.dead));
        this.listens.set(family, { resolve, reject });
        this.ep.post({ t: 'listen', host, family });
      });
    const l4 = await one(o.tun4, 4);
    // Without IPv6 on the tun, IPv6 flows are piped on the main thread.
    const l6 = o.tun6 ? await one(o.tun6, 6).catch(() => null) : null;
    // Only rewritten SYNs, which arrive through the tun, may reach the worker's listeners. A failure
    // here throws: the caller stops the worker, and its listeners with it.
    if (o.bindToDevice) {
      o.bindToDevice(l4.fd, 4);
      if (l6) o.bindToDevice(l6.fd, 6);
    }
    return { v4: l4.port, v6: l6?.port ?? 0 };
  }

  /**
   * Asks the worker to connect to host:port for the flow on `entry`; resolves when connected, with
   * whether the worker opened the entry and wrote `syn` (offered when given: ./syn-offer; the
   * caller withdraws the offer if it drops the flow before this settles). Aborting (the flow went
   * away) tells the worker to drop it, whatever it is doing.
   */
  dial(
    id: number,
    entry: number,
    family: 4 | 6,
    host: string,
    port: number,
    timeoutMs: number,
    signal: AbortSignal,
    syn?: Buffer,
  ): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (this.dead) return reject(new DialError(this.dead, 'RELAY_DEAD'));
      if (signal.aborted) return reject(new DialError(`dial ${host}:${port} aborted`, 'ABORTED'));
      const onAbort = (): void => {
        this.abort(id);
        settle(new DialError(`dial ${host}:${port} aborted`, 'ABORTED'));
      };
      const settle = (err: Error | null, opened = false): void => {
        if (!this.dials.delete(id)) return;
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(opened);
      };
      this.dials.set(id, { resolve: (opened) => settle(null, opened), reject: (e) => settle(e) });
      signal.addEventListener('abort', onAbort, { once: true });
      const offered = syn !== undefined && this.writesSyn;
      if (offered) offer(this.offers, entry, id);
      this.ep.post({ t: 'dial', id, entry, family, host, port, timeoutMs, ...(offered ? { syn } : {}) });
    });
  }

  /**
   * Takes back the SYN offer of flow `id` on `entry` (the flow is being dropped while dialing).
   * If the worker took it first, the entry is OPEN afterwards: the SYN is in (or on its way to)
   * the kernel, so the caller's close() holds the entry instead of freeing it.
   */
  withdraw(nat: NatView, entry: number, id: number): void {
    letGo(this.offers, nat, entry, id);
  }

  /** The flow is gone on this side: the worker drops its dial or sockets and posts nothing more. */
  abort(id: number): void {
    if (!this.dead) this.ep.post({ t: 'abort', id });
  }

  /** Whether the worker accepted flow `id`'s connection (on its NAT entry `entry`). */
  accepted(entry: number, id: number): boolean {
    return Atomics.load(this.acceptedIds, entry) === (id | 0); // as stored in an Int32 slot
  }

  /** Live byte counts of the flow piped by the worker on `entry`. */
  bytesOf(entry: number): { fromClient: number; toClient: number } {
    return { fromClient: this.bytes[2 * entry], toClient: this.bytes[2 * entry + 1] };
  }

  async stop(): Promise<void> {
    this.onExit('the engine stopped', false);
    await this.ep.terminate();
  }

  private onMessage(m: FromRelay): void {
    switch (m.t) {
      case 'listening': {
        const l = this.listens.get(m.family);
        this.listens.delete(m.family);
        l?.resolve({ port: m.port, fd: m.fd });
        return;
      }
      case 'listen-failed': {
        const l = this.listens.get(m.family);
        this.listens.delete(m.family);
        l?.reject(new Error(m.message));
        return;
      }
      case 'dialed': {
        const d = this.dials.get(m.id);
        if (!d) return; // aborted meanwhile: the worker was told to drop it
        if (m.error) d.reject(new DialError(m.error, m.code ?? 'ERROR'));
        else d.resolve(m.opened === true);
        return;
      }
      case 'closed':
        return this.hooks?.relayClosed(m.id, m.fromClient, m.toClient, m.error);
    }
  }

  private onExit(why: string, report = true): void {
    if (this.dead) return;
    this.dead = why;
    for (const d of [...this.dials.values()]) d.reject(new DialError(why, 'RELAY_DEAD'));
    for (const l of [...this.listens.values()]) l.reject(new Error(why));
    this.listens.clear();
    if (report) this.hooks?.relayDied(why);
  }
}

/** The worker script next to this file: relay-worker.ts under tsx, relay-worker.js when bundled. */
function relayWorkerEntry(): string {
  return join(__dirname, `relay-worker${extname(__filename) || '.js'}`);
}
