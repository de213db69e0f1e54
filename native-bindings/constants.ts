// Numeric constants from the system headers, per platform. Values that come from an ioctl macro are
// computed with ./ioctl so the unit tests can compare them to what the C macros produce.
import { _IOW, _IOWR } from './ioctl';

/** Size of `int` on every platform we support. */
const SIZEOF_INT = 4;

export const linux = {
  // linux/if.h
  IFNAMSIZ: 16,
  /** sizeof(struct ifreq) on 64-bit Linux: 16-byte name + 24-byte union (struct ifmap is the largest). */
  IFREQ_SIZE: 40,
  // linux/if_tun.h
  /** _IOW('T', 202, int) */
  TUNSETIFF: _IOW('linux', 'T', 202, SIZEOF_INT),
  IFF_TUN: 0x0001,
  IFF_NO_PI: 0x1000,
  // linux/sockios.h
  SIOCGIFMTU: 0x8921,
  SIOCSIFMTU: 0x8922,
  // asm-generic/socket.h and bits/socket.h
  SOL_SOCKET: 1,
  SO_PEERCRED: 17,
  /** asm-generic/socket.h: restrict a socket to one interface (by name). */
  SO_BINDTODEVICE: 25,
  AF_INET: 2,
  AF_INET6: 10,
  AF_NETLINK: 16,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_SEQPACKET: 5,
  SOCK_CLOEXEC: 0o2000000,
  MSG_DONTWAIT: 0x40,
  AF_UNIX: 1,
  SHUT_RDWR: 2,
  // linux/netlink.h, linux/rtnetlink.h
  NETLINK_ROUTE: 0,
  NLMSG_ERROR: 2,
  RTM_DELLINK: 17,
  NLM_F_REQUEST: 0x1,
  NLM_F_ACK: 0x4,
  /** sizeof(struct ucred): pid_t pid, uid_t uid, gid_t gid (bits/socket.h). */
  UCRED_SIZE: 12,
} as const;

export const darwin = {
  // net/if.h
  IFNAMSIZ: 16,
  /** sizeof(struct ifreq) on macOS: 16-byte name + 16-byte union (struct sockaddr is the largest). */
  IFREQ_SIZE: 32,
  /** _IOW('i', 52, struct ifreq), sys/sockio.h */
  SIOCSIFMTU: _IOW('darwin', 'i', 52, 32),
  // sys/socket.h, sys/sys_domain.h
  AF_INET: 2,
  AF_INET6: 30,
  AF_UNIX: 1,
  PF_SYSTEM: 32,
  AF_SYSTEM: 32,
  AF_SYS_CONTROL: 2,
  SYSPROTO_CONTROL: 2,
  SOCK_DGRAM: 2,
  SHUT_RDWR: 2,
  // sys/kern_control.h
  MAX_KCTL_NAME: 96,
  /** sizeof(struct ctl_info): u_int32_t ctl_id + char ctl_name[96]. */
  CTL_INFO_SIZE: 100,
  /** _IOWR('N', 3, struct ctl_info) */
  CTLIOCGINFO: _IOWR('darwin', 'N', 3, 100),
  /** sizeof(struct sockaddr_ctl) */
  SOCKADDR_CTL_SIZE: 32,
  // net/if_utun.h
  UTUN_CONTROL_NAME: 'com.apple.net.utun_control',
  UTUN_OPT_IFNAME: 2,
  // sys/un.h: options at level SOL_LOCAL (0)
  SOL_LOCAL: 0,
  LOCAL_PEERCRED: 1,
  LOCAL_PEERPID: 2,
  // sys/ucred.h: struct xucred, NGROUPS = NGROUPS_MAX = 16 (sys/param.h, sys/syslimits.h)
  XUCRED_VERSION: 0,
  NGROUPS: 16,
  /** u_int cr_version, uid_t cr_uid, short cr_ngroups (+2 padding), gid_t cr_groups[16]. */
  XUCRED_SIZE: 76,
  // netinet/in.h, netinet6/in6.h: restrict a socket to one interface (by index)
  IPPROTO_IP: 0,
  IP_BOUND_IF: 25,
  IPPROTO_IPV6: 41,
  IPV6_BOUND_IF: 125,
  // sys/fcntl.h
  F_SETFD: 2,
  FD_CLOEXEC: 1,
} as const;
