// Public entry of the native bindings: one interface, with the Linux or macOS implementation chosen at
// run time. The platform modules (and ffi-rs) load only when a function here is first called.
import type { Server, Socket } from 'node:net';
import type { PeerCredentials } from './credentials';
import type { OpenTunOptions, TunFd } from './types';

export type { PeerCredentials } from './credentials';
export { SyscallError } from './errors';
export type { OpenTunOptions, TunFd } from './types';

interface Platform {
  openTunFd(opts?: OpenTunOptions): TunFd;
  setInterfaceMtu(name: string, mtu: number): void;
  interruptTunReader(tun: TunFd): boolean;
  peerCredentialsOfFd(fd: number): PeerCredentials;
}

let platform: Platform | null = null;

function impl(): Platform {
  if (platform) return platform;
  /* eslint-disable @typescript-eslint/no-require-imports -- lazy, per-platform loading */
  if (process.platform === 'linux') {
    platform = { ...require('./tun.linux'), ...require('./peercred.linux') } as Platform;
  } else if (process.platform === 'darwin') {
    platform = { ...require('./tun.darwin'), ...require('./peercred.darwin') } as Platform;
  } else {
    throw new Error(`native-bindings: unsupported platform ${process.platform}`);
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  return platform;
}

/** Creates a tun (Linux) or utun (macOS) interface and returns its fd and actual name. Needs root. */
export function openTunFd(opts: OpenTunOptions = {}): TunFd {
  return impl().openTunFd(opts);
}

/** Sets an interface's MTU through SIOCSIFMTU. Needs root. */
export function setInterfaceMtu(name: string, mtu: number): void {
  impl().setInterfaceMtu(name, mtu);
}

/**
 * Makes a thread blocked in read() on the tun fd return (Linux: deletes the interface; macOS:
 * shutdown() on the utun socket). Returns false if the Linux interface was already gone.
 */
export function interruptTunReader(tun: TunFd): boolean {
  return impl().interruptTunReader(tun);
}

/** The file descriptor of a connected Unix-domain net.Socket (Node keeps it on the internal handle). */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new Error('socket has no file descriptor (not connected, or not a Unix socket)');
  return fd;
}

/** uid, gid and pid of the process at the other end of a connected Unix-domain socket. */
export function peerCredentials(socketOrFd: Socket | number): PeerCredentials {
  return impl().peerCredentialsOfFd(typeof socketOrFd === 'number' ? socketOrFd : socketFd(socketOrFd));
}

/**
 * Restricts a listening TCP server's socket to interface `ifname`, so only connections arriving
 * through it are accepted (SO_BINDTODEVICE on Linux, IP_BOUND_IF/IPV6_BOUND_IF on macOS).
 */
export function bindServerToDevice(server: Server, ifname: string, family: 4 | 6): void {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('server has no file descriptor (not listening?)');
  bindFdToDevice(fd, ifname, family);
}

/** bindServerToDevice for a socket's fd (e.g. a listener a worker thread owns: fds are per process). */
export function bindFdToDevice(fd: number, ifname: string, family: 4 | 6): void {
  if (fd < 0) throw new Error('no file descriptor');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: loads ffi-rs on first use
  (require('./bind-device') as typeof import('./bind-device')).bindSocketToDevice(fd, ifname, family);
}
