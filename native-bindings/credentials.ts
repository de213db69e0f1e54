// Peer-credential structures returned by getsockopt on a connected Unix-domain socket (pure decoders).
//   Linux bits/socket.h (SO_PEERCRED):  struct ucred { pid_t pid; uid_t uid; gid_t gid; }   (12 bytes)
//   macOS sys/ucred.h (LOCAL_PEERCRED): struct xucred { u_int cr_version; uid_t cr_uid;
//       short cr_ngroups; gid_t cr_groups[NGROUPS = 16]; }  (76 bytes: 2 bytes padding after cr_ngroups)
//   macOS LOCAL_PEERPID returns a pid_t (4 bytes).
import { darwin, linux } from './constants';

export interface PeerCredentials {
  uid: number;
  gid: number;
  pid: number;
}

export function decodeUcred(buf: Buffer): PeerCredentials {
  if (buf.length < linux.UCRED_SIZE) throw new Error(`struct ucred is ${buf.length} bytes, expected 12`);
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}

export interface Xucred {
  version: number;
  uid: number;
  groups: number[];
}

export function decodeXucred(buf: Buffer): Xucred {
  if (buf.length < darwin.XUCRED_SIZE) throw new Error(`struct xucred is ${buf.length} bytes, expected 76`);
  const version = buf.readUInt32LE(0);
  if (version !== darwin.XUCRED_VERSION) throw new Error(`unexpected xucred version ${version}`);
  const n = buf.readInt16LE(8);
  if (n < 1 || n > darwin.NGROUPS) throw new Error(`xucred has ${n} groups`);
  const groups: number[] = [];
  for (let i = 0; i < n; i++) groups.push(buf.readUInt32LE(12 + 4 * i));
  return { version, uid: buf.readUInt32LE(4), groups };
}

/** The effective gid is cr_groups[0] (what getpeereid(3) reports on macOS/BSD). */
export function credentialsFromXucred(x: Xucred, pid: number): PeerCredentials {
  return { uid: x.uid, gid: x.groups[0], pid };
}
