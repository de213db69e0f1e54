// Which local process holds the client side of a VNet connection ("client process where the OS
// tells", for the status window and `keyvnet connections`). The daemon is root, so it can look:
// Linux through /proc (socket-owner.linux.ts), macOS through lsof (socket-owner.darwin.ts). Asked
// only when connections are listed, never on the packet path; a connection the OS says nothing
// about has no process.
import { bytesToIp, ipToBytes } from '../net/addr';

export interface Endpoint {
  address: string;
  port: number;
}

/** A client socket by its two ends: `local` is the client's own address:port, `remote` the app's. */
export interface TcpEnds {
  local: Endpoint;
  remote: Endpoint;
}

export interface SocketOwner {
  pid: number;
  /** The process name (Linux: /proc/PID/comm; macOS: lsof's command, full length). */
  name: string;
}

/** One pass for many sockets: the owners, in the order asked (null where the OS does not tell). */
export type SocketOwnerFinder = (sockets: TcpEnds[]) => Promise<(SocketOwner | null)[]>;

/** The same endpoint however it is spelled (IPv6 zeros, IPv4-mapped IPv6, case). */
export function endpointKey(e: Endpoint): string {
  let address = e.address.replace(/^\[|\]$/g, '');
  try {
    const b = ipToBytes(address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1'));
    address = bytesToIp(b, 0, b.length === 4 ? 4 : 16);
  } catch {
    address = address.toLowerCase();
  }
  return `${address}|${e.port}`;
}

export function endsKey(s: TcpEnds): string {
  return `${endpointKey(s.local)}>${endpointKey(s.remote)}`;
}

/** The finder of this platform; one that finds nothing elsewhere. */
export function socketOwnerFinder(platform: NodeJS.Platform = process.platform): SocketOwnerFinder {
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (platform === 'linux')
    return (require('./socket-owner.linux') as typeof import('./socket-owner.linux')).findSocketOwners;
  if (platform === 'darwin')
    return (require('./socket-owner.darwin') as typeof import('./socket-owner.darwin')).findSocketOwners;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return async (sockets) => sockets.map(() => null);
}
