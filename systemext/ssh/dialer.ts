// The SSH dialer: each VNet connection to an app behind a bastion becomes a direct-tcpip channel
// on an SSH session to that bastion. Policy 'session' shares one session (one touch) among all
// connections until it drops or reaches its maximum age; 'connection' opens a session per
// connection. A bastion may be reached through another one (jump), recursively.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { AppInfo } from '../vnet/resolver';
import type { Dialer } from '../vnet/dialer';
import { abortError, isDialError, sshError } from './errors';
import { BastionSession, type SessionHandle } from './session';
import { WorkerSession } from './worker/worker-session';
import { SharedAttempt } from './shared-attempt';
import { connectTcp, type BastionConnector } from './tcp-connect';
import type {
  AgentBridge,
  BastionPolicy,
  BastionState,
  BastionStateName,
  SshDialerOptions,
  SshLog,
} from './types';

const MAX_JUMPS = 8;

/** A session handed to one user: a channel on it, or the inner session of a jump. */
interface Lease {
  session: SessionHandle;
  release(): void;
}

/** Everything the dialer knows about one bastion. */
class Slot {
  live: SessionHandle | null = null;
  pending: SharedAttempt<SessionHandle> | null = null;
  readonly sessions = new Set<SessionHandle>();
  readonly attempts = new Set<SharedAttempt<SessionHandle>>();
  policy: BastionPolicy = 'session';
  state: BastionStateName = 'idle';
  since = Date.now();
  reason: string | undefined;
  touches = 0;
  constructor(readonly name: string) {}
}

/** Events: 'state' (BastionState) on every change; 'error' ({ bastion, code, message }) if listened to. */
export class SshDialer extends EventEmitter implements Dialer {
  private readonly slots = new Map<string, Slot>();
  private readonly opts: Required<Omit<SshDialerOptions, 'log' | 'connect' | 'now'>>;
  private readonly customConnect: boolean;
  private readonly now: () => number;
  private readonly openedAt = new WeakMap<SessionHandle, number>();
  private readonly connect: BastionConnector;
  private readonly log: SshLog;
  private inFlight = 0;
  private sessionCount = 0;
  /** Sessions being set up, counted against maxSessions too. */
  private opening = 0;
  private closing = false;

  constructor(
    private readonly bridge: AgentBridge,
    opts: SshDialerOptions = {},
  ) {
    super();
    this.opts = {
      setupTimeoutMs: opts.setupTimeoutMs ?? 60_000,
      channelTimeoutMs: opts.channelTimeoutMs ?? 10_000,
      maxSessions: opts.maxSessions ?? 64,
      maxChannelsPerSession: opts.maxChannelsPerSession ?? 1024,
      maxDialsInFlight: opts.maxDialsInFlight ?? 256,
      thread: opts.thread ?? 'main',
    };
    this.customConnect = opts.connect !== undefined;
    this.log = opts.log ?? (() => undefined);
    this.connect = opts.connect ?? connectTcp;
    this.now = opts.now ?? Date.now;
  }

  async dial(app: AppInfo, port: number, signal: AbortSignal): Promise<Duplex> {
    const name = app.via;
    const host = app.target.host;
    const dport = app.target.port ?? port;
    try {
      if (this.closing) throw sshError('CANCELLED', 'the SSH transport is shutting down');
      if (!name || name === 'direct') throw sshError('NO_BASTION', `${app.fqdn} has no bastion`);
      if (this.inFlight >= this.opts.maxDialsInFlight) {
        throw sshError('BUSY', `too many connections being set up (${this.opts.maxDialsInFlight})`);
      }
      this.inFlight++;
      try {
        for (let attempt = 1; ; attempt++) {
          const lease = await this.acquire(name, signal, []);
          try {
            const ch = await lease.session.openChannel(host, dport, this.opts.channelTimeoutMs, signal);
            ch.once('close', () => lease.release());
            return ch;
          } catch (err) {
            lease.release();
            // A shared session that had silently died (bastion restarted, network changed):
            // nothing reached the app yet, so try once more on a new session.
            const lost = isDialError(err) && err.code === 'UNREACHABLE' && lease.session.closed;
            if (!lost || attempt > 1 || signal.aborted) throw err;
            this.log('info', `${lease.session.where}: session lost while opening a channel; reconnecting`);
          }
        }
      } finally {
        this.inFlight--;
      }
    } catch (err) {
      const e = isDialError(err) ? err : sshError('UNREACHABLE', String((err as Error)?.message ?? err));
      if (name && e.code !== 'CANCELLED' && this.listenerCount('error') > 0) {
        this.emit('error', { bastion: name, code: e.code, message: e.message });
      }
      throw e;
    }
  }

  /** What the menu shows: one entry per bastion used so far. */
  states(): BastionState[] {
    return [...this.slots.values()].map((s) => this.stateOf(s));
  }

  /** Closes the bastion's sessions and abandons its set-ups (their dials fail with CANCELLED). */
  disconnect(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    for (const a of slot.attempts) a.abort(sshError('CANCELLED', `disconnected from bastion ${name}`));
    slot.live = null;
    for (const s of slot.sessions) s.close();
  }

  /** Disconnects everything and waits (bounded) until the sessions are closed. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.slots.values()].flatMap((s) => [...s.sessions]);
    for (const name of this.slots.keys()) this.disconnect(name);
    await Promise.all(
      all.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.closed) return resolve();
            const t = setTimeout(resolve, 3000);
            s.once('close', () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
  }

  private slot(name: string): Slot {
    let s = this.slots.get(name);
    if (!s) {
      s = new Slot(name);
      this.slots.set(name, s);
    }
    return s;
  }

  /** A session for `name`: the live shared one, the one being set up, or a new one. */
  private async acquire(name: string, signal: AbortSignal, chain: string[]): Promise<Lease> {
    if (chain.includes(name)) {
      throw sshError('NO_BASTION', `bastion jump loop: ${[...chain, name].join(' → ')}`);
    }
    if (chain.length >= MAX_JUMPS) {
      throw sshError('NO_BASTION', `too many bastion jumps: ${[...chain, name].join(' → ')}`);
    }
    const slot = this.slot(name);
    const what = `connecting to bastion ${name}`;
    for (;;) {
      const live = slot.live;
      if (live) {
        if (live.closed) {
          slot.live = null;
        } else if (this.expired(live)) {
          slot.live = null; // new connections get a new session; this one ends with its last channel
          this.drain(live);
        } else if (live.channels >= this.opts.maxChannelsPerSession) {
          throw sshError('BUSY', `too many connections through bastion ${name} (${live.channels})`);
        } else {
          return { session: live, release: () => undefined };
        }
      }
      if (slot.policy === 'connection' && !slot.pending) {
        const s = await this.attempt(slot, chain).join(signal, what);
        return this.privateLease(s);
      }
      slot.pending ??= this.attempt(slot, chain);
      const s = await slot.pending.join(signal, what);
      if (s.spec.policy === 'session') return { session: s, release: () => undefined };
      // A 'connection' session found by a shared first attempt goes to one waiter; the others
      // loop and open their own (the policy is now known).
      if (!claimed.has(s)) {
        claimed.add(s);
        return this.privateLease(s);
      }
    }
  }

  private privateLease(s: SessionHandle): Lease {
    let released = false;
    return {
      session: s,
      release: () => {
        if (released) return;
        released = true;
        s.close();
      },
    };
  }

  private expired(s: SessionHandle): boolean {
    const max = s.spec.maxSessionAgeSec;
    return max > 0 && this.now() - (this.openedAt.get(s) ?? 0) >= max * 1000;
  }

  private drain(s: SessionHandle): void {
    if (s.channels === 0) return s.close();
    const check = (): void => {
      if (s.channels === 0) {
        s.off('channel-closed', check);
        s.close();
      }
    };
    s.on('channel-closed', check);
  }

  /** Starts a session set-up under the set-up deadline. */
  private attempt(slot: Slot, chain: string[]): SharedAttempt<SessionHandle> {
    const run = async (signal: AbortSignal): Promise<SessionHandle> => {
      try {
        const s = await this.openSession(slot, signal, chain);
        if (s.spec.policy === 'session' && !this.closing) slot.live = s;
        return s;
      } finally {
        slot.attempts.delete(att);
        if (slot.pending === att) slot.pending = null;
      }
    };
    const att: SharedAttempt<SessionHandle> = new SharedAttempt(
      run,
      this.opts.setupTimeoutMs,
      () =>
        sshError(
          'SETUP_TIMEOUT',
          `connecting to bastion ${slot.name} took longer than ${this.opts.setupTimeoutMs} ms (touch, PIN or network)`,
        ),
      (s) => {
        if (s.spec.policy === 'connection') s.close(); // nobody waits for it; a shared one stays
      },
    );
    slot.attempts.add(att);
    return att;
  }

  private async openSession(slot: Slot, signal: AbortSignal, chain: string[]): Promise<SessionHandle> {
    const name = slot.name;
    this.setState(slot, 'connecting');
    let outer: Lease | undefined;
    let sock: Duplex | undefined;
    let opening = false;
    try {
      const spec = await untilAborted(
        this.bridge.bastion(name, signal),
        signal,
        `asking for bastion ${name}`,
      );
      if (!spec) throw sshError('NO_BASTION', `no bastion named "${name}" in the configuration`);
      slot.policy = spec.policy;
      if (this.sessionCount + this.opening >= this.opts.maxSessions) {
        throw sshError('BUSY', `too many SSH sessions open (${this.opts.maxSessions})`);
      }
      this.opening++;
      opening = true;
      const onSign = (): void => {
        slot.touches++;
        this.emitState(slot);
      };
      let s: SessionHandle;
      if (spec.jump) {
        outer = await this.acquire(spec.jump, signal, [...chain, name]);
        sock = await outer.session.openChannel(spec.host, spec.port, this.opts.channelTimeoutMs, signal);
      } else if (this.opts.thread === 'main' || this.customConnect) {
        sock = await this.connect(spec.host, spec.port, signal).catch((e: unknown) => {
          throw isDialError(e) ? e : sshError('UNREACHABLE', `cannot reach ${spec.host}:${spec.port}: ${e}`);
        });
      }
      const common = { spec, bridge: this.bridge, signal, onSign, log: this.log };
      if (this.opts.thread === 'worker') {
        const transport = sock ? { sock } : { tcp: { host: spec.host, port: spec.port } };
        s = await WorkerSession.open({ ...common, transport });
      } else {
        s = await BastionSession.open({ ...common, sock: sock! });
      }
      this.opening--;
      opening = false;
      this.track(slot, s, outer, sock);
      return s;
    } catch (err) {
      if (opening) this.opening--;
      sock?.destroy();
      outer?.release();
      const e = isDialError(err) ? err : sshError('UNREACHABLE', (err as Error).message);
      this.log('warn', e.message);
      // A set-up the user cancelled (or that was abandoned) is no fault of the bastion: back to idle.
      const idle = e.code === 'CANCELLED';
      this.setState(slot, slot.sessions.size ? 'connected' : idle ? 'idle' : 'error', e.message);
      throw e;
    }
  }

  private track(slot: Slot, s: SessionHandle, outer: Lease | undefined, sock: Duplex | undefined): void {
    slot.sessions.add(s);
    this.openedAt.set(s, this.now());
    this.sessionCount++;
    this.log('info', `${s.where}: session open (${slot.sessions.size} now)`);
    this.setState(slot, 'connected');
    s.once('close', () => {
      slot.sessions.delete(s);
      this.sessionCount--;
      if (slot.live === s) slot.live = null;
      sock?.destroy();
      outer?.release();
      this.log('info', `${s.where}: session closed`);
      if (slot.sessions.size === 0 && slot.state === 'connected') this.setState(slot, 'idle');
      else this.emitState(slot);
    });
  }

  private setState(slot: Slot, state: BastionStateName, reason?: string): void {
    slot.state = state;
    slot.since = Date.now();
    slot.reason = reason;
    this.emitState(slot);
  }

  private emitState(slot: Slot): void {
    this.emit('state', this.stateOf(slot));
  }

  private stateOf(slot: Slot): BastionState {
    return {
      name: slot.name,
      state: slot.state,
      since: slot.since,
      ...(slot.reason ? { reason: slot.reason } : {}),
      policy: slot.policy,
      touches: slot.touches,
      sessions: slot.sessions.size,
    };
  }
}

/** 'connection' sessions already handed to a dial (a shared first attempt resolves several). */
const claimed = new WeakSet<SessionHandle>();

/** `p`, or the signal's DialError if it aborts first (a bridge that ignores the signal). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(
          isDialError(e) ? e : sshError('NO_BASTION', `asking for bastion: ${(e as Error)?.message ?? e}`),
        );
      },
    );
  });
}
