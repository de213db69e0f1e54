// macOS: a client socket's owner from lsof (root sees every process's sockets): one run lists the
// TCP sockets connected to the apps' virtual address:ports asked for (`-iTCP@addr:port`, OR-ed),
// with their pid and full command name (+c 0); matched to the sockets by their two ends.
import { execFile } from 'node:child_process';
import { parseLsofTcp } from './socket-owner-parse';
import { endsKey, endpointKey, type SocketOwner, type SocketOwnerFinder, type TcpEnds } from './socket-owner';

/** At most this many -i selectors per run (a command line stays short; the rest waits for the next list). */
const MAX_SELECTORS = 64;
const LSOF_TIMEOUT_MS = 5000;

export function lsofArgs(sockets: TcpEnds[]): string[] {
  const apps = new Map<string, string>();
  for (const s of sockets) {
    if (apps.size >= MAX_SELECTORS) break;
    const a = s.remote.address.includes(':') ? `[${s.remote.address}]` : s.remote.address;
    apps.set(endpointKey(s.remote), `-iTCP@${a}:${s.remote.port}`);
  }
  return ['-nP', '+c', '0', '-F', 'pcn', ...apps.values()];
}

function lsof(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    // Exit status 1 with no output means nothing matched: an empty answer, not an error.
    execFile('/usr/sbin/lsof', args, { timeout: LSOF_TIMEOUT_MS, maxBuffer: 4 << 20 }, (_err, stdout) =>
      resolve(typeof stdout === 'string' ? stdout : ''),
    );
  });
}

export const findSocketOwners: SocketOwnerFinder = async (sockets: TcpEnds[]) => {
  const result: (SocketOwner | null)[] = sockets.map(() => null);
  if (sockets.length === 0) return result;
  const owners = new Map<string, SocketOwner>();
  for (const s of parseLsofTcp(await lsof(lsofArgs(sockets))))
    owners.set(endsKey(s), { pid: s.pid, name: s.command });
  sockets.forEach((s, i) => (result[i] = owners.get(endsKey(s)) ?? null));
  return result;
};
