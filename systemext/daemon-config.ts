// The daemon's own settings: where its socket and state live, which user it serves, and the tun
// name. They come from flags (or the launchd/systemd unit that passes them), never from a user's
// file: the user's configuration reaches the daemon only through the agent (ipc/messages.ts).
import { parseArgs } from 'node:util';
import { defaultDaemonSocketDir } from '../ipc/socket-path';
import { consoleUid } from '../ipc/peer';

export interface DaemonSettings {
  /** Root-owned directory of the daemon socket (`daemon.sock`). */
  socketDir: string;
  /** The one user whose agent (and keyvnet command) the daemon serves; root is always let in too. */
  allowUid: number;
  /** Where the daemon keeps its state (address plan, OS configuration record). */
  stateDir: string;
  /** Requested tun name (Linux); the kernel picks one when absent (macOS always does). */
  tunName?: string;
}

export const DEFAULT_STATE_DIR = '/var/lib/keyvnet';

export const DAEMON_USAGE = `usage: keyvnet-daemon [--allow-uid UID] [--socket-dir DIR] [--state-dir DIR] [--tun-name NAME]
  --allow-uid UID   the user whose agent may connect (macOS default: the console user; required on Linux)
  --socket-dir DIR  directory of daemon.sock (default ${defaultDaemonSocketDir()})
  --state-dir DIR   state directory (default ${DEFAULT_STATE_DIR})
  --tun-name NAME   tun interface name (Linux; default: the kernel's kvnN)`;

export class UsageError extends Error {}

/** Parses the daemon's flags; throws UsageError with a sentence for the user. */
export function parseDaemonArgs(
  argv: string[],
  platform: NodeJS.Platform = process.platform,
): DaemonSettings {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'allow-uid': { type: 'string' },
        'socket-dir': { type: 'string' },
        'state-dir': { type: 'string' },
        'tun-name': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let allowUid: number | null = consoleUid(platform);
  if (values['allow-uid'] !== undefined) {
    if (!/^\d{1,10}$/.test(values['allow-uid']))
      throw new UsageError(`--allow-uid wants a numeric uid, got "${values['allow-uid']}"`);
    allowUid = Number(values['allow-uid']);
  }
  if (allowUid === null)
    throw new UsageError('--allow-uid is required: the uid of the user whose agent may connect');
  return {
    socketDir: values['socket-dir'] ?? defaultDaemonSocketDir(platform),
    allowUid,
    stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
    tunName: values['tun-name'],
  };
}

/** 64 KiB on Linux (measured best there); 16 KiB on macOS (Teleport's measured choice for utun). */
export function defaultMtu(platform: NodeJS.Platform): number {
  return platform === 'darwin' ? 16384 : 65535;
}
