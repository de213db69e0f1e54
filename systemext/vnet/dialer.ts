// How the engine reaches an app: the Dialer interface and the plain-TCP DirectDialer.
// The SSH dialer (through the bastion) implements the same interface elsewhere.
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AppInfo } from './resolver';

export interface Dialer {
  /**
   * Opens a byte stream to `app` on `port` (the port the client used; the dialer applies
   * app.target.port if fixed). Rejects on refusal, failure, timeout or abort.
   */
  dial(app: AppInfo, port: number, signal: AbortSignal): Promise<Duplex>;
  /**
   * When reaching `app` is a plain TCP connect, where to: the engine's relay worker then dials it
   * itself and moves the bytes off the main thread. Absent or null: the engine calls dial().
   */
  relayTarget?(app: AppInfo, port: number): RelayTarget | null;
}

/** A plain TCP destination the relay worker can dial (connect timeout included). */
export interface RelayTarget {
  host: string;
  port: number;
  timeoutMs: number;
}

export class DialError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'DialError';
  }
}

/** Plain TCP to target.host:(target.port ?? port), with a connect timeout. */
export class DirectDialer implements Dialer {
  constructor(private readonly connectTimeoutMs = 10_000) {}

  relayTarget(app: AppInfo, port: number): RelayTarget {
    return { host: app.target.host, port: app.target.port ?? port, timeoutMs: this.connectTimeoutMs };
  }

  dial(app: AppInfo, port: number, signal: AbortSignal): Promise<Duplex> {
    const host = app.target.host;
    const dport = app.target.port ?? port;
    return new Promise<Duplex>((resolve, reject) => {
      if (signal.aborted) return reject(new DialError(`dial ${host}:${dport} aborted`, 'ABORTED'));
      const sock: Socket = connect({ host, port: dport });
      const timer = setTimeout(
        () => fail(new DialError(`connect to ${host}:${dport} timed out`, 'ETIMEDOUT')),
        this.connectTimeoutMs,
      );
      const onAbort = (): void => fail(new DialError(`dial ${host}:${dport} aborted`, 'ABORTED'));
      signal.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        sock.off('error', onError);
      };
      const fail = (err: Error): void => {
        cleanup();
        sock.destroy();
        reject(err);
      };
      const onError = (err: NodeJS.ErrnoException): void =>
        fail(new DialError(`connect to ${host}:${dport}: ${err.message}`, err.code ?? 'ERROR'));
      sock.once('error', onError);
      sock.once('connect', () => {
        cleanup();
        sock.setNoDelay(true);
        resolve(sock);
      });
    });
  }
}
