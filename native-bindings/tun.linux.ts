// Linux tun devices: open /dev/net/tun and attach it to a tun interface with TUNSETIFF
// (Documentation/networking/tuntap.rst). IFF_NO_PI: packets are bare IP, no 4-byte packet-info header.
import { closeSync, openSync } from 'node:fs';
import { linux } from './constants';
import { syscallError } from './errors';
import { decodeIfreqName, encodeIfreqMtu, encodeTunSetIff } from './ifreq';
import * as libc from './libc';
import { decodeNetlinkAck, encodeDelLink } from './netlink';
import type { OpenTunOptions, TunFd } from './types';

export function openTunFd(opts: OpenTunOptions = {}): TunFd {
  const requested = opts.name ?? 'kvn%d';
  const ifr = encodeTunSetIff(requested, linux.IFF_TUN | linux.IFF_NO_PI);
  // Node opens with O_CLOEXEC, so helper processes (ip, ifconfig) never inherit the device.
  const fd = openSync('/dev/net/tun', 'r+');
  try {
    libc.ioctl(`TUNSETIFF ${requested}`, fd, linux.TUNSETIFF, ifr);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return { fd, name: decodeIfreqName(ifr) };
}

/** Sets an interface's MTU (SIOCSIFMTU on an AF_INET datagram socket, as `ip link set mtu` does). */
export function setInterfaceMtu(name: string, mtu: number): void {
  const s = libc.socket('socket(AF_INET)', linux.AF_INET, linux.SOCK_DGRAM | linux.SOCK_CLOEXEC, 0);
  try {
    libc.ioctl(`SIOCSIFMTU ${name} ${mtu}`, s, linux.SIOCSIFMTU, encodeIfreqMtu('linux', name, mtu));
  } finally {
    libc.close(s);
  }
}

let seq = 1;

/**
 * Wakes a thread blocked in read() on the tun fd by deleting the netdevice (RTM_DELLINK), after which
 * the read fails with EFAULT and later ones with EBADFD. Closing the fd from another thread would not
 * wake it. Returns false if the interface was already gone.
 */
export function interruptTunReader(tun: TunFd): boolean {
  const index = libc.ifNameToIndex(tun.name);
  if (index === 0) return false;
  const s = libc.socket(
    'socket(AF_NETLINK)',
    linux.AF_NETLINK,
    linux.SOCK_RAW | linux.SOCK_CLOEXEC,
    linux.NETLINK_ROUTE,
  );
  try {
    const mySeq = seq++;
    libc.send(`RTM_DELLINK ${tun.name}`, s, encodeDelLink(index, mySeq), 0);
    // rtnetlink handles the request inside send(), so the ACK is already queued: never block here.
    const reply = Buffer.alloc(4096);
    const n = libc.recv(`RTM_DELLINK ${tun.name} ack`, s, reply, linux.MSG_DONTWAIT);
    const errno = decodeNetlinkAck(reply.subarray(0, n), mySeq);
    if (errno === null) throw new Error(`RTM_DELLINK ${tun.name}: unexpected netlink reply`);
    if (errno === 19 /* ENODEV */) return false;
    if (errno !== 0) {
      throw syscallError(`RTM_DELLINK ${tun.name}`, errno);
    }
    return true;
  } finally {
    libc.close(s);
  }
}
