// `keyvnet key …` and `keyvnet diag` through the running agent: connect to its control socket
// (app/agent/control-server.ts) when it answers, else null (the command then uses the key itself, with
// prompts on this terminal).
// The agent owns the key and prompts on its own screen; we print the progress notes it sends. The
// socket must be served by our own uid (kernel peer credentials), as the daemon's must be by root.
import { connect, type Socket } from 'node:net';
import {
  ErrorCodes,
  PROTOCOL_VERSION,
  type ParamsOf,
  type RequestMethod,
  type ResultOf,
} from '../../ipc/messages';
import { socketPeer } from '../../ipc/peer';
import { RpcError, RpcPeer } from '../../ipc/rpc';
import { OP_DEADLINE_MS } from '../agent/control-server';
import { defaultControlSocketPath } from '../ssh/socket-path';
import type { CliContext, GlobalOptions } from './context';
import { CliError, Exit } from './exit-codes';

const CONNECT_TIMEOUT_MS = 3000;

/** `--agent-socket`, else $KEYVNET_AGENT_SOCKET, else the platform's default. */
export function controlSocketOf(ctx: CliContext, g: GlobalOptions): string {
  return g.agentSocket ?? ctx.env.KEYVNET_AGENT_SOCKET ?? defaultControlSocketPath(ctx.platform, ctx.env);
}

/** The agent's control connection, or null when no agent answers there (or with --no-agent). */
export async function connectAgent(ctx: CliContext, g: GlobalOptions): Promise<RpcPeer | null> {
  return (await openAgent(ctx, g))?.peer ?? null;
}

/** A control connection said hello to, with the agent's pid (from the kernel) and the socket's path. */
export interface AgentConnection {
  peer: RpcPeer;
  pid: number;
  path: string;
}

/** As connectAgent, with who answered. */
export async function openAgent(ctx: CliContext, g: GlobalOptions): Promise<AgentConnection | null> {
  if (g.agent === false) return null;
  const path = controlSocketOf(ctx, g);
  const socket = await openSocket(path);
  if (!socket) return null;
  const who = socketPeer(socket);
  const me = process.getuid?.();
  if (me !== undefined && who.uid !== me) {
    socket.destroy();
    throw new CliError(
      `${path} is served by uid ${who.uid} (pid ${who.pid}), not by your KeyVNet agent: refusing to use it`,
      Exit.Failure,
    );
  }
  const peer = new RpcPeer(socket, { peerName: `the KeyVNet agent (pid ${who.pid})` });
  peer.onNotification('progress', (p) => ctx.err(`${p.message}\n`));
  try {
    await peer.request(
      'hello',
      { protocol: PROTOCOL_VERSION, version: ctx.version, role: 'cli', pid: process.pid },
      { timeoutMs: 5000 },
    );
  } catch (err) {
    peer.close('hello failed');
    throw new CliError(`the KeyVNet agent at ${path} refused us: ${(err as Error).message}`, Exit.Failure, [
      'Use --no-agent to use the security key from this terminal instead.',
    ]);
  }
  return { peer, pid: who.pid, path };
}

/**
 * One request at the agent on a connection of its own, closed after it, for a command that asks
 * several things over a while (`keyvnet diag`): the agent closes a connection that asks nothing for a
 * minute, and a diag's checks between two requests may take that long. Errors are the agent's
 * RpcErrors (its reason kept), or a sentence when it no longer answers.
 */
export async function askAgent<M extends RequestMethod>(
  ctx: CliContext,
  g: GlobalOptions,
  method: M,
  params: ParamsOf<M>,
  signal?: AbortSignal,
): Promise<ResultOf<M>> {
  const peer = await connectAgent(ctx, g);
  if (!peer) throw new Error(`the KeyVNet agent no longer answers at ${controlSocketOf(ctx, g)}`);
  try {
    return await peer.request(method, params, { signal, timeoutMs: OP_DEADLINE_MS + 30_000 });
  } finally {
    peer.close('done');
  }
}

/**
 * One operation at the agent, up to its deadline (the agent's own, plus a margin); Ctrl-C cancels it
 * there. The agent's reasons become our exit codes: no key 6, cancelled 8, else 1.
 */
export async function atAgent<M extends RequestMethod>(
  peer: RpcPeer,
  method: M,
  params: ParamsOf<M>,
): Promise<ResultOf<M>> {
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    return await peer.request(method, params, { signal: ac.signal, timeoutMs: OP_DEADLINE_MS + 30_000 });
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    const [message, ...details] = err.message.split('\n');
    if (err.reason === 'no-key') throw new CliError(message, Exit.NoSecurityKey, details);
    if (err.reason === 'cancelled' || err.code === ErrorCodes.Cancelled)
      throw new CliError(message, Exit.Cancelled, details);
    throw new CliError(message, Exit.Failure, details);
  } finally {
    process.off('SIGINT', onSigint);
    peer.close('done');
  }
}

function openSocket(path: string): Promise<Socket | null> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new CliError(`the KeyVNet agent at ${path} did not accept the connection`, Exit.Failure));
    }, CONNECT_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // Nothing there (or not ours to reach): no agent; the command does the work itself.
      if (
        err.code === 'ENOENT' ||
        err.code === 'ECONNREFUSED' ||
        err.code === 'EACCES' ||
        err.code === 'ENOTDIR'
      )
        resolve(null);
      else
        reject(new CliError(`cannot connect to the KeyVNet agent at ${path}: ${err.message}`, Exit.Failure));
    });
  });
}
