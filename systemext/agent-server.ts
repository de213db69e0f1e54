// The daemon's socket: who may connect, the hello, and which requests each peer may make.
//
// - The peer's uid comes from the kernel before a byte is read: only the allowed user (and root) get
//   a protocol connection; anyone else is closed at once, and logged.
// - The first request must be `hello` within HELLO_TIMEOUT_MS, with our protocol version.
// - One agent at a time (role 'agent'): it serves the daemon's requests (names, bastions,
//   signatures) and drives VNet. A second agent gets a clear error naming the first one's pid;
//   `keyvnet` commands connect with role 'cli' beside it (read status, up/down).
// - The agent is pinged every second; when it stops answering or disconnects, VNet goes down
//   (routes, addresses and resolver configuration removed) within a few seconds.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { ErrorCodes, PROTOCOL_VERSION, type RequestMethod } from '../ipc/messages';
import type { Peer } from '../ipc/peer';
import { closeListener, listenForPeers } from '../ipc/peer-listener';
import { RpcError, RpcPeer } from '../ipc/rpc';
import { daemonSocketPath } from '../ipc/socket-path';
import type { DaemonSettings } from './daemon-config';
import type { VNetController } from './vnet-controller';
import type { DaemonLog } from './vnet-instance';

export const HELLO_TIMEOUT_MS = 5000;
const MAX_CONNECTIONS = 16;

export interface AgentServerOptions {
  version: string;
  log: DaemonLog;
  /** Liveness: ping interval and how long an unanswered ping may take (defaults 1 s and 3 s). */
  pingIntervalMs?: number;
  pingDeadMs?: number;
  /** Seam for tests: the peer's credentials (default: the kernel's, through the native bindings). */
  peerOf?: (socket: Socket) => Peer;
  /** Bastion disconnect (from the SSH dialer, when there is one). */
  disconnectBastion?: (name: string) => void;
}

interface Client {
  rpc: RpcPeer;
  peer: Peer;
  role: 'agent' | 'cli' | null;
}

export class AgentServer {
  private server: Server | null = null;
  private readonly clients = new Set<Client>();
  private agentClient: Client | null = null;

  constructor(
    private readonly settings: DaemonSettings,
    private readonly controller: VNetController,
    private readonly opts: AgentServerOptions,
  ) {
    controller.on('event', (ev) => this.agentClient?.rpc.notify('event', ev));
  }

  /** The connected agent, for the requests the daemon makes (resolve, bastion, sign). */
  agent(): RpcPeer | null {
    return this.agentClient?.rpc ?? null;
  }

  get socketPath(): string {
    return daemonSocketPath(this.settings.socketDir);
  }

  async listen(): Promise<void> {
    const dir = this.settings.socketDir;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    const path = this.socketPath;
    try {
      if (lstatSync(path).isSocket())
        unlinkSync(path); // a previous daemon's; ours is the only root writer
      else throw new Error(`${path} exists and is not a socket: refusing to replace it`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Anyone may connect (0666 lets the user's agent in); the kernel's uid decides who is served.
    this.server = await listenForPeers(path, {
      name: 'daemon socket',
      mode: 0o666,
      maxConnections: MAX_CONNECTIONS,
      allowed: (uid) => uid === this.settings.allowUid || uid === 0,
      serving: `uid ${this.settings.allowUid}`,
      log: this.opts.log,
      peerOf: this.opts.peerOf,
      onPeer: (socket, peer) => this.accept(socket, peer),
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.rpc.close('daemon stopping');
    const server = this.server;
    this.server = null;
    await closeListener(server, this.socketPath);
  }

  /** An allowed peer (./ipc/peer-listener checked its uid), still paused. */
  private accept(socket: Socket, peer: Peer): void {
    const rpc = new RpcPeer(socket, { peerName: `pid ${peer.pid}`, log: this.opts.log });
    const client: Client = { rpc, peer, role: null };
    this.clients.add(client);
    const helloTimer = setTimeout(() => {
      if (!client.role) rpc.close(`no hello within ${HELLO_TIMEOUT_MS} ms`);
    }, HELLO_TIMEOUT_MS);
    rpc.on('close', (reason) => {
      clearTimeout(helloTimer);
      this.clients.delete(client);
      if (this.agentClient === client) {
        this.agentClient = null;
        this.opts.log('warn', `agent (pid ${peer.pid}) gone: ${reason}`);
        void this.controller
          .down(`the agent disconnected (${reason})`)
          .catch((err: Error) => this.opts.log('error', `VNet down after the agent left: ${err.message}`));
      } else if (client.role) {
        this.opts.log('info', `${client.role} pid ${peer.pid} disconnected: ${reason}`);
      } else {
        this.opts.log('warn', `pid ${peer.pid} closed before hello: ${reason}`);
      }
    });
    this.serve(client);
    socket.resume();
  }

  /** Closes after the error answer had time to go out (vscode-jsonrpc writes it asynchronously). */
  private closeSoon(rpc: RpcPeer, reason: string): void {
    setTimeout(() => rpc.close(reason), 200).unref();
  }

  private serve(client: Client): void {
    const { rpc, peer } = client;
    rpc.handle('hello', async (p) => {
      if (client.role) throw new RpcError('hello was already said', ErrorCodes.NotAllowed, 'hello-twice');
      if (p.protocol !== PROTOCOL_VERSION) {
        const msg = `KeyVNet versions do not match: the daemon ${this.opts.version} speaks protocol ${PROTOCOL_VERSION}, this ${p.role} ${p.version} speaks ${p.protocol}. Install the same version of both.`;
        this.closeSoon(rpc, 'version mismatch');
        throw new RpcError(msg, ErrorCodes.VersionMismatch, 'version');
      }
      if (p.role === 'agent') {
        const other = this.agentClient;
        if (other) {
          this.closeSoon(rpc, 'a second agent');
          throw new RpcError(
            `another KeyVNet agent is already connected (pid ${other.peer.pid}); quit it first`,
            ErrorCodes.AgentAlreadyConnected,
            'already-connected',
          );
        }
        this.agentClient = client;
        rpc.startLiveness(this.opts.pingIntervalMs, this.opts.pingDeadMs);
      }
      client.role = p.role;
      this.opts.log('info', `${p.role} ${p.version} connected (pid ${peer.pid}, uid ${peer.uid})`);
      return { protocol: PROTOCOL_VERSION, version: this.opts.version, pid: process.pid };
    });
    const allowed = (method: RequestMethod, roles: Array<'agent' | 'cli'>): void => {
      if (!client.role) throw new RpcError(`${method} before hello`, ErrorCodes.NotAllowed, 'no-hello');
      if (!roles.includes(client.role))
        throw new RpcError(`${method} is for the agent only`, ErrorCodes.NotAllowed, 'role');
    };
    rpc.handle('vnet/configure', async (cfg) => {
      allowed('vnet/configure', ['agent']);
      return this.controller.configure(cfg);
    });
    rpc.handle('vnet/up', async () => {
      allowed('vnet/up', ['agent', 'cli']);
      if (!this.agentClient)
        throw new RpcError('no KeyVNet agent is running: start it first', ErrorCodes.Failed, 'no-agent');
      return this.controller.up();
    });
    rpc.handle('vnet/down', async () => {
      allowed('vnet/down', ['agent', 'cli']);
      return this.controller.down(client.role === 'cli' ? 'turned off from the command line' : null);
    });
    rpc.handle('vnet/status', async () => {
      allowed('vnet/status', ['agent', 'cli']);
      return this.controller.status();
    });
    rpc.handle('vnet/connections', async () => {
      allowed('vnet/connections', ['agent', 'cli']);
      return { connections: await this.controller.connections() };
    });
    rpc.handle('bastion/disconnect', async (p) => {
      allowed('bastion/disconnect', ['agent', 'cli']);
      this.opts.disconnectBastion?.(p.name);
      return {};
    });
  }
}
