// macOS utun devices: a PF_SYSTEM kernel-control socket connected to com.apple.net.utun_control.
// Sequence (xnu bsd/net/if_utun.c, sys/kern_control.h):
//   socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL)
//   ioctl(CTLIOCGINFO, {ctl_name: "com.apple.net.utun_control"})  → ctl_id
//   connect({sockaddr_ctl: sc_id = ctl_id, sc_unit = 0 | N + 1})   → creates utun<N>
//   getsockopt(SYSPROTO_CONTROL, UTUN_OPT_IFNAME)                  → "utunN"
// Every packet on the socket carries a 4-byte big-endian address family header (AF_INET / AF_INET6);
// systemext/tun's darwin implementation adds and strips it.
import { darwin } from './constants';
import { encodeIfreqMtu, readCString } from './ifreq';
import { decodeCtlInfo, encodeCtlInfo, encodeSockaddrCtl, utunUnitFor } from './kern-control';
import * as libc from './libc';
import type { OpenTunOptions, TunFd } from './types';

export function openTunFd(opts: OpenTunOptions = {}): TunFd {
  const unit = utunUnitFor(opts.name);
  const fd = libc.socket(
    'socket(PF_SYSTEM, SYSPROTO_CONTROL)',
    darwin.PF_SYSTEM,
    darwin.SOCK_DGRAM,
    darwin.SYSPROTO_CONTROL,
  );
  try {
    // macOS has no SOCK_CLOEXEC: mark it now so helper processes (ifconfig) never inherit the utun.
    libc.fcntl('fcntl(F_SETFD, FD_CLOEXEC)', fd, darwin.F_SETFD, darwin.FD_CLOEXEC);
    const info = encodeCtlInfo(darwin.UTUN_CONTROL_NAME);
    libc.ioctl(`CTLIOCGINFO ${darwin.UTUN_CONTROL_NAME}`, fd, darwin.CTLIOCGINFO, info);
    const { ctlId } = decodeCtlInfo(info);
    libc.connect(`connect utun unit ${unit}`, fd, encodeSockaddrCtl(ctlId, unit));
    const nameBuf = Buffer.alloc(darwin.IFNAMSIZ);
    const len = libc.getsockopt(
      'getsockopt(UTUN_OPT_IFNAME)',
      fd,
      darwin.SYSPROTO_CONTROL,
      darwin.UTUN_OPT_IFNAME,
      nameBuf,
    );
    return { fd, name: readCString(nameBuf, 0, Math.min(len, darwin.IFNAMSIZ)) };
  } catch (err) {
    libc.close(fd);
    throw err;
  }
}

/** Sets an interface's MTU (SIOCSIFMTU on an AF_INET datagram socket, as `ifconfig utunN mtu` does). */
export function setInterfaceMtu(name: string, mtu: number): void {
  const s = libc.socket('socket(AF_INET)', darwin.AF_INET, darwin.SOCK_DGRAM, 0);
  try {
    libc.ioctl(`SIOCSIFMTU ${name} ${mtu}`, s, darwin.SIOCSIFMTU, encodeIfreqMtu('darwin', name, mtu));
  } finally {
    libc.close(s);
  }
}

/** The utun is a socket: shutdown() wakes a thread blocked in read() on it (read returns 0). */
export function interruptTunReader(tun: TunFd): boolean {
  libc.shutdown(`shutdown ${tun.name}`, tun.fd, darwin.SHUT_RDWR);
  return true;
}
