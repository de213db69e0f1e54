// One short connection to the daemon per command, as a 'cli' peer (read status, up/down). Connection
// failures become exit codes: no daemon → 3; anything else → 1.
import { connectDaemon, DaemonConnectError } from '../../ipc/client';
import type { HelloResult } from '../../ipc/messages';
import { ErrorCodes } from '../../ipc/messages';
import { RpcError, type RpcPeer } from '../../ipc/rpc';
import type { CliContext } from './context';
import { CliError, Exit } from './exit-codes';

export interface DaemonLink {
  peer: RpcPeer;
  daemon: HelloResult;
  socketPath: string;
}

/** Per request; the daemon answers status at once, `up` may take a few seconds (tun, routes, DNS). */
export const REQUEST_TIMEOUT_MS = 15_000;

export async function withDaemon<T>(
  ctx: CliContext,
  socketPath: string,
  fn: (link: DaemonLink) => Promise<T>,
): Promise<T> {
  let conn;
  try {
    conn = await connectDaemon({
      socketPath,
      role: 'cli',
      version: ctx.version,
      connectTimeoutMs: 5000,
      // The daemon runs as root; KEYVNET_DAEMON_UID lets a developer's unprivileged daemon be used.
      daemonUid: ctx.env.KEYVNET_DAEMON_UID ? Number(ctx.env.KEYVNET_DAEMON_UID) : 0,
      log: () => undefined,
    });
  } catch (err) {
    throw connectError(err);
  }
  try {
    return await fn({ ...conn, socketPath });
  } catch (err) {
    throw requestError(err);
  } finally {
    conn.peer.close('command done');
  }
}

export function connectError(err: unknown): Error {
  if (!(err instanceof DaemonConnectError)) return err as Error;
  if (err.code === 'not-running') {
    return new CliError(err.message, Exit.DaemonNotRunning, [
      'Start it with `sudo keyvnet daemon run` (or install it: `sudo keyvnet daemon install`).',
    ]);
  }
  return new CliError(err.message, Exit.Failure);
}

export function requestError(err: unknown): Error {
  if (!(err instanceof RpcError)) return err as Error;
  if (err.code === ErrorCodes.Failed && err.reason === 'no-agent') {
    return new CliError(err.message, Exit.AgentNotRunning, [
      'Start the agent (`keyvnet agent`, or the menu-bar app): it holds your config and security key.',
    ]);
  }
  return new CliError(`the daemon refused: ${err.message}`, Exit.Failure);
}
