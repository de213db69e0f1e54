// The TCP connection to a bastion, under the set-up's AbortSignal.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { abortError, sshError } from './errors';

export type BastionConnector = (host: string, port: number, signal: AbortSignal) => Promise<Duplex>;

export const connectTcp: BastionConnector = (host, port, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal, `connecting to ${host}:${port}`));
    const sock = connect({ host, port });
    const done = (err: Error | null): void => {
      signal.removeEventListener('abort', onAbort);
      sock.off('error', onError);
      if (err) {
        sock.destroy();
        reject(err);
      } else {
        sock.setNoDelay(true);
        resolve(sock);
      }
    };
    const onAbort = (): void => done(abortError(signal, `connecting to ${host}:${port}`));
    const onError = (e: NodeJS.ErrnoException): void =>
      done(sshError('UNREACHABLE', `cannot reach ${host}:${port}: ${e.code ?? e.message}`));
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('error', onError);
    sock.once('connect', () => done(null));
  });
