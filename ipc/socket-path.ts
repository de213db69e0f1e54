// Where the daemon's socket lives: a root-owned directory (0755) holding `daemon.sock`. Only root can
// create or replace the socket there, so an agent that finds it knows who put it there; the daemon
// still checks every peer's uid, and the agent checks the daemon's (peer.ts).
import { join } from 'node:path';

export const DAEMON_SOCKET_NAME = 'daemon.sock';

export function defaultDaemonSocketDir(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? '/var/run/keyvnet' : '/run/keyvnet';
}

export function daemonSocketPath(dir: string = defaultDaemonSocketDir()): string {
  return join(dir, DAEMON_SOCKET_NAME);
}
