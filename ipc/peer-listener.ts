// The Unix-socket listener both RPC servers use (the daemon socket, the agent's control socket): a
// connection arrives paused, its peer's uid comes from the kernel (./peer) before one byte is read,
// and anyone not allowed is closed at once and logged. The caller gets only allowed, still paused
// sockets and resumes them once its RPC handlers are in place.
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { socketPeer, type Peer } from './peer';

export interface PeerListenerOptions {
  /** Names the socket in log lines ("daemon socket", "control socket"). */
  name: string;
  /** The socket file's mode once bound. */
  mode: number;
  maxConnections: number;
  /** Whether a peer of this uid is served; `serving` says whom, for the refusal's log line. */
  allowed(uid: number): boolean;
  serving: string;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Tests inject the credentials; by default the kernel's. */
  peerOf?: (socket: Socket) => Peer;
  /** An allowed peer's socket, still paused. */
  onPeer(socket: Socket, peer: Peer): void;
}

/** Listens on `path` (which must not exist any more) and checks each peer before it is read. */
export async function listenForPeers(path: string, opts: PeerListenerOptions): Promise<Server> {
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    let peer: Peer;
    try {
      peer = (opts.peerOf ?? socketPeer)(socket);
    } catch (err) {
      opts.log(
        'warn',
        `${opts.name}: cannot read the peer's credentials (${(err as Error).message}): closed`,
      );
      socket.destroy();
      return;
    }
    if (!opts.allowed(peer.uid)) {
      opts.log(
        'warn',
        `${opts.name}: refused pid ${peer.pid} of uid ${peer.uid} (serving ${opts.serving} only)`,
      );
      socket.destroy();
      return;
    }
    opts.onPeer(socket, peer);
  });
  server.maxConnections = opts.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, opts.mode);
  server.on('error', (err) => opts.log('error', `${opts.name}: ${err.message}`));
  return server;
}

/** Stops listening and removes the socket file. */
export async function closeListener(server: Server | null, path: string): Promise<void> {
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
