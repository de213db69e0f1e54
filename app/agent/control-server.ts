// The agent's control socket: `keyvnet key …` sends its security-key operations here when an agent
// runs, so the agent, which owns the key, runs them with its own prompter (the GUI's touch window and
// PIN dialog, or the headless terminal) and the command prints the progress it is told. `keyvnet diag`
// asks here for the key check (key/list) and, with --auth, for its sign-ins' login signatures
// (key/sign-userauth), which the sign service checks exactly as it checks the daemon's key/sign.
//
// - Per-user socket (app/ssh/socket-path.ts defaultControlSocketPath), 0600 in a private 0700
//   directory; only our own uid is served, read from the kernel (peer credentials) before a byte is
//   read: anyone else is closed at once and logged.
// - JSON-RPC as on the daemon socket (ipc/rpc.ts: frame bound, requests in flight, validation); the
//   messages are ipc/control-messages.ts. `hello` (role 'cli') first, within HELLO_TIMEOUT_MS.
// - No PIN crosses the socket: the agent asks for it. One operation at a time; a second waits (and
//   is told so). Each has a deadline, and ends when its command cancels it or disconnects. A command
//   that asks nothing for IDLE_TIMEOUT_MS is closed.
import type { Server, Socket } from 'node:net';
import { dirname } from 'node:path';
import { ErrorCodes, PROTOCOL_VERSION } from '../../ipc/messages';
import type { Peer } from '../../ipc/peer';
import { closeListener, listenForPeers } from '../../ipc/peer-listener';
import { RpcError, RpcPeer, rpcFailure } from '../../ipc/rpc';
import type { Purpose } from '../fido/api';
import { SerialChain } from '../fido/serial';
import { writePrivateKeyFile } from '../ssh/keyfile';
import { ensurePrivateDirectory, removeStaleSocket } from '../ssh/agent';
import {
  asKeyOpError,
  changePin,
  enrollKey,
  KeyOpError,
  listKeyRows,
  residentKeys,
  setPin,
  type KeyAccess,
  type KeyOpContext,
} from './key-operations';
import type { PromptNote, WatchedPrompter } from './prompt-watch';
import type { SignService } from './sign-service';

export const HELLO_TIMEOUT_MS = 5000;
/** A whole operation: queueing, two PIN entries and a touch (the key's own timeout is 120 s). */
export const OP_DEADLINE_MS = 5 * 60_000;
const MAX_CONNECTIONS = 8;
/** A command that said hello and asks nothing for this long is closed (it holds one of the 8). */
export const IDLE_TIMEOUT_MS = 60_000;
/** Control requests are small; a key list or resident keys are the largest answers (we send those). */
const MAX_FRAME_BYTES = 64 * 1024;

export interface ControlServerOptions {
  keys: KeyAccess;
  prompts: WatchedPrompter;
  version: string;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Signs the logins of `keyvnet diag --auth` (the daemon's own checks); absent: refused. */
  logins?: Pick<SignService, 'signLogin'>;
  /** Seams for tests: the peer's credentials, the uid served (default: ours), the deadline. */
  peerOf?: (socket: Socket) => Peer;
  allowUid?: number;
  opDeadlineMs?: number;
  idleTimeoutMs?: number;
}

interface Client {
  rpc: RpcPeer;
  peer: Peer;
  hello: boolean;
  /** Aborts when the command disconnects: its operation ends and its prompts close. */
  gone: AbortController;
  /** Operations of this client in progress (queued or running), and the idle timer while none. */
  busy: number;
  idle: NodeJS.Timeout | null;
}

export class ControlServer {
  private server: Server | null = null;
  private path = '';
  private readonly clients = new Set<Client>();
  /** One operation at a time (one prompt at a time); `running` says whether a newcomer must wait. */
  private readonly serial = new SerialChain();
  private running = 0;

  constructor(private readonly opts: ControlServerOptions) {}

  async listen(path: string): Promise<void> {
    ensurePrivateDirectory(dirname(path));
    await removeStaleSocket(path);
    const uid = this.opts.allowUid ?? process.getuid?.() ?? 0;
    this.server = await listenForPeers(path, {
      name: 'control socket',
      mode: 0o600,
      maxConnections: MAX_CONNECTIONS,
      allowed: (peerUid) => peerUid === uid,
      serving: `uid ${uid}`,
      log: this.opts.log,
      peerOf: this.opts.peerOf,
      onPeer: (socket, peer) => this.accept(socket, peer),
    });
    this.path = path;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.rpc.close('the agent is stopping');
    const server = this.server;
    this.server = null;
    if (server || this.path) await closeListener(server, this.path);
  }

  /** An allowed peer (../../ipc/peer-listener checked its uid), still paused. */
  private accept(socket: Socket, peer: Peer): void {
    const rpc = new RpcPeer(socket, {
      peerName: `keyvnet (pid ${peer.pid})`,
      maxFrameBytes: MAX_FRAME_BYTES,
      maxInFlight: 4,
      log: this.opts.log,
    });
    const client: Client = { rpc, peer, hello: false, gone: new AbortController(), busy: 0, idle: null };
    this.clients.add(client);
    const helloTimer = setTimeout(() => {
      if (!client.hello) rpc.close(`no hello within ${HELLO_TIMEOUT_MS} ms`);
    }, HELLO_TIMEOUT_MS);
    rpc.on('close', (reason) => {
      clearTimeout(helloTimer);
      if (client.idle) clearTimeout(client.idle);
      this.clients.delete(client);
      client.gone.abort(new RpcError('the command went away', ErrorCodes.Cancelled, 'cancelled'));
      if (!client.hello)
        this.opts.log('warn', `control socket: pid ${peer.pid} closed before hello: ${reason}`);
    });
    this.serve(client);
    socket.resume();
  }

  private serve(client: Client): void {
    const { rpc } = client;
    rpc.handle('hello', async (p) => {
      if (client.hello) throw new RpcError('hello was already said', ErrorCodes.NotAllowed, 'hello-twice');
      if (p.protocol !== PROTOCOL_VERSION) {
        setTimeout(() => rpc.close('version mismatch'), 200).unref();
        throw new RpcError(
          `KeyVNet versions do not match: the agent ${this.opts.version} speaks protocol ${PROTOCOL_VERSION}, this keyvnet ${p.version} speaks ${p.protocol}`,
          ErrorCodes.VersionMismatch,
          'version',
        );
      }
      if (p.role !== 'cli')
        throw new RpcError('the control socket serves keyvnet commands only', ErrorCodes.NotAllowed, 'role');
      client.hello = true;
      this.armIdle(client);
      return { protocol: PROTOCOL_VERSION, version: this.opts.version, pid: process.pid };
    });
    const keys = this.opts.keys;
    rpc.handle('key/list', (_p, signal) =>
      this.run(client, 'key/list', signal, async () => ({ keys: await listKeyRows(keys) })),
    );
    rpc.handle('key/enroll', (p, signal) =>
      this.run(client, 'key/enroll', signal, async (op) => {
        const key = await enrollKey(keys, p, op);
        return { privateKeyFile: writePrivateKeyFile(key) };
      }),
    );
    rpc.handle('key/set-pin', (p, signal) =>
      this.run(client, 'key/set-pin', signal, async (op) => ({ keyLabel: await setPin(keys, p.device, op) })),
    );
    rpc.handle('key/change-pin', (p, signal) =>
      this.run(client, 'key/change-pin', signal, async (op) => ({
        keyLabel: await changePin(keys, p.device, op),
      })),
    );
    rpc.handle('key/resident', (p, signal) =>
      this.run(client, 'key/resident', signal, async (op) => ({
        keys: (await residentKeys(keys, p.device, op)).map((r) => ({
          privateKeyFile: writePrivateKeyFile(r.key),
          user: r.user,
          fileName: r.fileName,
        })),
      })),
    );
    rpc.handle('key/sign-userauth', (p, signal) =>
      this.run(client, 'key/sign-userauth', signal, async (op) => {
        const logins = this.opts.logins;
        if (!logins) throw rpcFailure('this agent signs no logins for keyvnet commands', 'unsupported');
        const req = { bastion: p.bastion, publicKey: p.publicKey, data: Buffer.from(p.data, 'base64') };
        // The purpose is this operation's, so its touch and PIN prompts reach the command as progress.
        const signal = op.signal ?? AbortSignal.timeout(OP_DEADLINE_MS);
        const sig = await logins.signLogin(req, signal, (login) => op.purpose(login.what, login));
        return { signature: sig.toString('base64') };
      }),
    );
  }

  /**
   * Runs one operation for `client`: after hello, after the operation ahead of it, with a signal that
   * ends it on cancel, disconnect or the deadline, and progress notes for what the agent asks.
   */
  private async run<T>(
    client: Client,
    method: string,
    rpcSignal: AbortSignal,
    fn: (op: KeyOpContext) => Promise<T>,
  ): Promise<T> {
    if (!client.hello) throw new RpcError(`${method} before hello`, ErrorCodes.NotAllowed, 'no-hello');
    const { rpc, peer } = client;
    const deadline = this.opts.opDeadlineMs ?? OP_DEADLINE_MS;
    const signal = AbortSignal.any([rpcSignal, client.gone.signal, AbortSignal.timeout(deadline)]);
    const note = (message: string): void => rpc.notify('progress', { message: message.slice(0, 2048) });
    if (this.running > 0) note('The KeyVNet agent is busy with another request; waiting for it…');
    this.running++;
    client.busy++;
    this.armIdle(client);
    try {
      return await this.serial.run(async () => {
        if (signal.aborted)
          throw rpcFailure('cancelled before it started', 'cancelled', ErrorCodes.Cancelled);
        this.opts.log('info', `control: ${method} for keyvnet pid ${peer.pid}`);
        // Prompts of this operation are the ones carrying the purposes it made.
        const mine = new WeakSet<Purpose>();
        const onPrompt = (n: PromptNote): void => {
          if (!mine.has(n.purpose)) return;
          if (n.kind === 'touch' || n.kind === 'insert') note(`The KeyVNet agent asks: ${n.title}`);
          else if (n.kind === 'pin') note(`The KeyVNet agent asks: ${n.title} (at the agent's prompt)`);
        };
        this.opts.prompts.on('prompt', onPrompt);
        try {
          return await fn({
            signal,
            note,
            askPin: (req) => this.opts.prompts.askPin(req),
            purpose: (what, extra) => {
              const p: Purpose = {
                ...extra,
                what,
                requester: 'app',
                process: { pid: peer.pid, name: 'keyvnet' },
              };
              mine.add(p);
              return p;
            },
          });
        } catch (err) {
          throw this.failure(err, signal, deadline);
        } finally {
          this.opts.prompts.off('prompt', onPrompt);
        }
      });
    } finally {
      this.running--;
      client.busy--;
      this.armIdle(client);
    }
  }

  /** Starts the idle timer of a client with nothing in progress (stops it otherwise). */
  private armIdle(client: Client): void {
    if (client.idle) clearTimeout(client.idle);
    client.idle = null;
    if (client.busy > 0 || client.rpc.closed) return;
    const ms = this.opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    client.idle = setTimeout(() => client.rpc.close(`idle for ${ms} ms`), ms);
  }

  /** What the command is told: a reason it turns into an exit code. */
  private failure(err: unknown, signal: AbortSignal, deadline: number): RpcError {
    if (signal.aborted && signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError')
      return rpcFailure(`the operation did not finish within ${Math.round(deadline / 1000)} s`, 'timeout');
    const e = asKeyOpError(err);
    if (e instanceof KeyOpError)
      return rpcFailure(
        [e.message, ...e.details].join('\n'),
        e.reason,
        e.reason === 'cancelled' ? ErrorCodes.Cancelled : ErrorCodes.Failed,
      );
    if (e instanceof RpcError) return e;
    return rpcFailure(e.message, 'failed');
  }
}
