// The connecting side (the agent, or the keyvnet command): connect to the daemon's socket, make sure
// the process behind it is root, and say hello. A version mismatch or a second agent is a clear
// error at once, never a hang: every step has a deadline.
import { connect, type Socket } from 'node:net';
import { ErrorCodes, PROTOCOL_VERSION, type HelloResult } from './messages';
import { socketPeer } from './peer';
import { RpcError, RpcPeer, type RpcLog } from './rpc';

export interface ConnectOptions {
  socketPath: string;
  role: 'agent' | 'cli';
  version: string;
  /** The daemon must run as this uid (root); tests may not change it. */
  daemonUid?: number;
  connectTimeoutMs?: number;
  log?: RpcLog;
}

/** Why connecting failed, in words for the user, plus a code for the caller's decision. */
export class DaemonConnectError extends Error {
  constructor(
    message: string,
    readonly code: 'not-running' | 'not-root' | 'version' | 'already-connected' | 'refused' | 'timeout',
  ) {
    super(message);
    this.name = 'DaemonConnectError';
  }
}

export async function connectDaemon(opts: ConnectOptions): Promise<{ peer: RpcPeer; daemon: HelloResult }> {
  const timeoutMs = opts.connectTimeoutMs ?? 5000;
  const socket = await openSocket(opts.socketPath, timeoutMs);
  const who = socketPeer(socket);
  const wantUid = opts.daemonUid ?? 0;
  if (who.uid !== wantUid) {
    socket.destroy();
    throw new DaemonConnectError(
      `${opts.socketPath} is served by uid ${who.uid} (pid ${who.pid}), not by the KeyVNet daemon (uid ${wantUid}): refusing to talk to it`,
      'not-root',
    );
  }
  const peer = new RpcPeer(socket, { peerName: `daemon (pid ${who.pid})`, log: opts.log });
  try {
    const daemon = await peer.request(
      'hello',
      { protocol: PROTOCOL_VERSION, version: opts.version, role: opts.role, pid: process.pid },
      { timeoutMs },
    );
    return { peer, daemon };
  } catch (err) {
    peer.close('hello failed');
    if (err instanceof RpcError) {
      if (err.code === ErrorCodes.VersionMismatch) throw new DaemonConnectError(err.message, 'version');
      if (err.code === ErrorCodes.AgentAlreadyConnected)
        throw new DaemonConnectError(err.message, 'already-connected');
      if (err.reason === 'timeout')
        throw new DaemonConnectError(`the daemon did not answer: ${err.message}`, 'timeout');
    }
    throw new DaemonConnectError(`the daemon refused us: ${(err as Error).message}`, 'refused');
  }
}

function openSocket(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new DaemonConnectError(`connecting to ${path} timed out`, 'timeout'));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? `the KeyVNet daemon is not running (no socket at ${path})`
          : err.code === 'EACCES'
            ? `no permission to connect to ${path}`
            : `cannot connect to ${path}: ${err.message}`;
      reject(new DaemonConnectError(why, 'not-running'));
    });
  });
}
