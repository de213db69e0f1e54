// Restricts a socket to one network interface, so a listener only takes connections that arrive
// through it: Linux SO_BINDTODEVICE (by name), macOS IP_BOUND_IF / IPV6_BOUND_IF (by index).
import { darwin, linux } from './constants';
import * as libc from './libc';

/** The setsockopt(2) arguments for binding to `ifname` (pure: unit-tested per platform). */
export function bindDeviceOption(
  platform: NodeJS.Platform,
  ifname: string,
  family: 4 | 6,
  ifIndex: (name: string) => number,
): { level: number; name: number; value: Buffer } {
  if (platform === 'linux') {
    if (ifname.length === 0 || ifname.length >= linux.IFNAMSIZ)
      throw new Error(`bad interface name ${ifname}`);
    return { level: linux.SOL_SOCKET, name: linux.SO_BINDTODEVICE, value: Buffer.from(`${ifname}\0`) };
  }
  if (platform === 'darwin') {
    const index = ifIndex(ifname);
    if (index === 0) throw new Error(`no interface ${ifname}`);
    const value = Buffer.alloc(4);
    value.writeUInt32LE(index); // an int, in host order (both macOS architectures are little-endian)
    return family === 4
      ? { level: darwin.IPPROTO_IP, name: darwin.IP_BOUND_IF, value }
      : { level: darwin.IPPROTO_IPV6, name: darwin.IPV6_BOUND_IF, value };
  }
  throw new Error(`binding a socket to an interface is not supported on ${platform}`);
}

/** Binds socket `fd` (of address family `family`) to interface `ifname`. Linux needs CAP_NET_RAW. */
export function bindSocketToDevice(fd: number, ifname: string, family: 4 | 6): void {
  const o = bindDeviceOption(process.platform, ifname, family, libc.ifNameToIndex);
  libc.setsockopt(`bind socket to ${ifname}`, fd, o.level, o.name, o.value);
}
