// One authenticated SSH session to one bastion (an ssh2 Client), and the direct-tcpip channels
// opened on it. Set-up is bounded by the caller's AbortSignal (the dialer's deadline); each
// channel open by its own short deadline.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import { abortError, isDialError, sshError, transportError } from './errors';
import { checkHostKey, hostKeyAlgorithms, parseHostKeys, type HostKeyVerdict } from './host-keys';
import { BridgeAgent } from './sk-agent';
import type { AgentBridge, BastionSpec, SshLog } from './types';
import type { DialError } from '../vnet/dialer';

// Ciphers in our order of preference: AES-GCM is what both ends accelerate here (ssh2's native
// binding, OpenSSH's libcrypto); the rest are ssh2's other defaults.
const CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];
const KEEPALIVE_COUNT_MAX = 3;

export interface SessionOpenArgs {
  spec: BastionSpec;
  bridge: AgentBridge;
  /** Aborts the set-up; its reason (a DialError) is what the set-up rejects with. */
  signal: AbortSignal;
  /** The byte stream to the bastion: TCP, or a channel of the outer session for a jump. */
  sock: Duplex;
  /** Called when a signature (a touch) is asked of the agent. */
  onSign?: () => void;
  log?: SshLog;
}

/** What the dialer needs of a session, wherever its ssh2 Client runs (this thread or a worker). */
export interface SessionHandle extends EventEmitter {
  readonly spec: BastionSpec;
  readonly where: string;
  readonly closed: boolean;
  /** Channels open or opening. */
  readonly channels: number;
  openChannel(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Duplex>;
  close(): void;
}

/**
 * Events: 'close' () once, when the session ends for any reason; 'channel-closed' () whenever a
 * channel is released.
 */
export class BastionSession extends EventEmitter implements SessionHandle {
  /** Channels open or opening on this session. */
  channels = 0;
  private ended = false;

  private constructor(
    readonly spec: BastionSpec,
    private readonly client: Client,
  ) {
    super();
    this.setMaxListeners(0); // one 'close' listener per opening channel; channels are bounded
  }

  get where(): string {
    return describe(this.spec);
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Connects, checks the host key, authenticates with the sk key through the agent. */
  static open(args: SessionOpenArgs): Promise<BastionSession> {
    const { spec, bridge, signal } = args;
    const where = describe(spec);
    const log = args.log ?? (() => undefined);
    return new Promise<BastionSession>((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal, `connecting to ${where}`));
      const key = BridgeAgent.parseKey(spec.publicKey);
      if (key instanceof Error) {
        return reject(sshError('AUTH_DENIED', `the key for ${where} cannot be used: ${key.message}`));
      }
      const known = parseHostKeys(spec.hostKeys);
      for (const e of known.errors) log('warn', `${where}: ${e}`);
      const client = new Client();
      const session = new BastionSession(spec, client);
      const agent = new BridgeAgent(spec, key, bridge, signal, args.onSign);
      let verdict: HostKeyVerdict | null = null;
      let settled = false;

      const finish = (err: DialError | null): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err) {
          client.destroy();
          reject(err);
        } else {
          resolve(session);
        }
      };
      const onAbort = (): void => finish(abortError(signal, `connecting to ${where}`));
      signal.addEventListener('abort', onAbort, { once: true });

      client.on('ready', () => finish(null));
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (settled) {
          log('warn', `${where}: ${err.message}`);
          return;
        }
        if (verdict && !verdict.ok) return finish(sshError(verdict.code, verdict.message));
        if (agent.signError) {
          // The bridge may say precisely what happened (e.g. CANCELLED from the prompt).
          if (isDialError(agent.signError)) return finish(agent.signError);
          return finish(sshError('AUTH_DENIED', `signing in to ${where} failed: ${agent.signError.message}`));
        }
        if (err.level === 'client-authentication') {
          return finish(sshError('AUTH_DENIED', `${where} refused the key ${keyLabel(spec)}`));
        }
        finish(transportError(err, where));
      });
      client.on('close', () => {
        // A refused host key may close the connection before ssh2 reports its error.
        if (verdict && !verdict.ok) finish(sshError(verdict.code, verdict.message));
        finish(sshError('UNREACHABLE', `${where} closed the connection during set-up`));
        session.markClosed();
      });

      let authTried = false;
      client.connect({
        sock: args.sock,
        username: spec.user,
        // One method: our agent with the one sk key. Nothing else is tried.
        authHandler: (_methods, _partial, next) => {
          if (authTried) return next(false as never);
          authTried = true;
          next({ type: 'agent', username: spec.user, agent });
        },
        hostVerifier: (offered: Buffer) => {
          verdict = checkHostKey(known.keys, offered, where);
          return verdict.ok;
        },
        algorithms: {
          cipher: CIPHERS as never,
          ...(hostKeyAlgorithms(known.keys).length
            ? { serverHostKey: hostKeyAlgorithms(known.keys) as never }
            : {}),
        },
        keepaliveInterval: Math.max(0, spec.keepaliveSec) * 1000,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        readyTimeout: 0, // our own deadline (the signal) bounds the set-up, touch included
      });
    });
  }

  private markClosed(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('close');
  }

  /**
   * Opens a direct-tcpip channel to host:port, resolved by the bastion. A refusal carries the
   * server's reason; an answer that comes after the deadline or an abort is closed at once.
   */
  openChannel(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Duplex> {
    const target = `${host}:${port} through ${this.where}`;
    if (this.ended)
      return Promise.reject(sshError('UNREACHABLE', `the SSH session to ${this.where} has ended`));
    if (signal.aborted) return Promise.reject(abortError(signal, `opening ${target}`));
    this.channels++;
    return new Promise<Duplex>((resolve, reject) => {
      let settled = false;
      const cleanup = (): void => {
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.off('close', onClose);
      };
      const fail = (err: DialError): void => {
        if (settled) return;
        cleanup();
        this.releaseChannel();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(sshError('CHANNEL_TIMEOUT', `opening ${target} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = (): void => fail(abortError(signal, `opening ${target}`));
      const onClose = (): void =>
        fail(sshError('UNREACHABLE', `the SSH session to ${this.where} ended while opening ${host}:${port}`));
      signal.addEventListener('abort', onAbort, { once: true });
      this.once('close', onClose);
      try {
        this.client.forwardOut('127.0.0.1', 0, host, port, (err, ch?: ClientChannel) => {
          if (settled) {
            ch?.close(); // too late: the dial has already failed
            return;
          }
          if (err || !ch) {
            const reason = channelFailureReason(err as (Error & { reason?: number }) | undefined);
            return fail(sshError('CHANNEL_REFUSED', `${this.where} refused ${host}:${port}: ${reason}`));
          }
          cleanup();
          ch.once('close', () => this.releaseChannel());
          // ssh2 emits a channel's 'close' only after its 'end' has been read; a consumer that
          // destroys it unread (a reset connection) would leave it counted forever. Drain it.
          const destroy = ch.destroy.bind(ch);
          ch.destroy = (() => {
            ch.resume();
            return destroy();
          }) as typeof ch.destroy;
          resolve(ch);
        });
      } catch (err) {
        fail(transportError(err as Error, this.where));
      }
    });
  }

  private releaseChannel(): void {
    this.channels--;
    this.emit('channel-closed');
  }

  /** Ends the session (its channels close with it). */
  close(): void {
    this.client.end();
    // end() sends a disconnect; destroy if the peer does not close its side.
    setTimeout(() => this.client.destroy(), 2000).unref();
  }
}

// RFC 4254 5.1 reason codes, for servers that send no description.
const OPEN_FAILURE: Record<number, string> = {
  1: 'administratively prohibited',
  2: 'connect failed',
  3: 'unknown channel type',
  4: 'resource shortage',
};

function channelFailureReason(err: (Error & { reason?: number }) | undefined): string {
  const text = err?.message.replace(/^\(SSH\) Channel open failure:\s*/, '').trim();
  if (text) return text;
  return (err?.reason !== undefined && OPEN_FAILURE[err.reason]) || 'no reason given';
}

export function describe(spec: BastionSpec): string {
  return `bastion ${spec.name} (${spec.host}:${spec.port})`;
}

function keyLabel(spec: BastionSpec): string {
  const parts = spec.publicKey.trim().split(/\s+/);
  return `${parts[0]}${parts[2] ? ` (${parts.slice(2).join(' ')})` : ''} for user ${spec.user}`;
}
