// Who is at the other end of the daemon socket, from the kernel (SO_PEERCRED on Linux, LOCAL_PEERCRED
// + LOCAL_PEERPID on macOS) through the native bindings: never from anything the peer says.
import { statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { peerCredentials } from '../native-bindings';

export interface Peer {
  uid: number;
  pid: number;
}

export function socketPeer(socket: Socket): Peer {
  const c = peerCredentials(socket);
  return { uid: c.uid, pid: c.pid };
}

/**
 * The uid the daemon serves when none is given: on macOS the console user (the owner of /dev/console,
 * the person logged in at the screen); elsewhere there is no such default and the daemon needs
 * `--allow-uid`.
 */
export function consoleUid(platform: NodeJS.Platform = process.platform): number | null {
  if (platform !== 'darwin') return null;
  try {
    return statSync('/dev/console').uid;
  } catch {
    return null;
  }
}
