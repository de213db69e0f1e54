// Linux: a client socket's owner from /proc. /proc/net/tcp{,6} (of the daemon's network namespace,
// the one VNet's clients live in) gives the socket's inode by its two ends; the process holding it
// has a /proc/PID/fd link "socket:[inode]"; /proc/PID/comm names it. One scan serves the whole list,
// and it stops as soon as every socket asked for is found.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import { parseProcNetTcp, socketInode } from './socket-owner-parse';
import { endsKey, type SocketOwner, type SocketOwnerFinder, type TcpEnds } from './socket-owner';

export const findSocketOwners: SocketOwnerFinder = async (sockets: TcpEnds[]) => {
  const result: (SocketOwner | null)[] = sockets.map(() => null);
  if (sockets.length === 0) return result;
  const le = endianness() === 'LE';
  const inodeOf = new Map<string, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const s of parseProcNetTcp(text, le)) if (s.inode > 0) inodeOf.set(endsKey(s), s.inode);
  }
  const wanted = new Map<number, number[]>(); // inode → indexes asked
  sockets.forEach((s, i) => {
    const inode = inodeOf.get(endsKey(s));
    if (inode !== undefined) wanted.set(inode, [...(wanted.get(inode) ?? []), i]);
  });
  if (wanted.size === 0) return result;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const inode = socketInode(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
      const idx = inode !== null ? wanted.get(inode) : undefined;
      if (!idx) continue;
      wanted.delete(inode!);
      const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      for (const i of idx) result[i] = { pid: Number(pid), name };
    }
    if (wanted.size === 0) break;
  }
  return result;
};
