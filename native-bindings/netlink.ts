// The one rtnetlink message we send: RTM_DELLINK for an interface index (pure encoder/decoder).
// Deleting the tun's netdevice is how the Linux tun is closed: unregister_netdevice runs
// tun_detach_all, which sets RCV_SHUTDOWN and wakes a reader blocked in read() (closing the fd from
// another thread does not).
//   linux/netlink.h:   struct nlmsghdr { __u32 nlmsg_len; __u16 nlmsg_type; __u16 nlmsg_flags;
//                        __u32 nlmsg_seq; __u32 nlmsg_pid; }                           (16 bytes)
//   linux/rtnetlink.h: struct ifinfomsg { unsigned char ifi_family; unsigned char __ifi_pad;
//                        unsigned short ifi_type; int ifi_index; unsigned ifi_flags; unsigned ifi_change; } (16)
//   An NLMSG_ERROR reply carries `int error` (0 = ACK, else -errno) right after its nlmsghdr.
import { linux } from './constants';

export function encodeDelLink(ifindex: number, seq: number): Buffer {
  const buf = Buffer.alloc(32);
  buf.writeUInt32LE(32, 0);
  buf.writeUInt16LE(linux.RTM_DELLINK, 4);
  buf.writeUInt16LE(linux.NLM_F_REQUEST | linux.NLM_F_ACK, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf.writeUInt32LE(0, 12); // to the kernel
  // ifinfomsg: family AF_UNSPEC, type 0, index, flags 0, change 0
  buf.writeInt32LE(ifindex, 20);
  return buf;
}

/** The errno of an NLMSG_ERROR reply for `seq` (0 means success), or null if `buf` is not one. */
export function decodeNetlinkAck(buf: Buffer, seq: number): number | null {
  if (buf.length < 20) return null;
  if (buf.readUInt16LE(4) !== linux.NLMSG_ERROR || buf.readUInt32LE(8) !== seq >>> 0) return null;
  return -buf.readInt32LE(16);
}
