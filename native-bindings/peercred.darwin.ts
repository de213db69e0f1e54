// macOS: getsockopt(SOL_LOCAL, LOCAL_PEERCRED) → struct xucred (uid, groups), plus
// getsockopt(SOL_LOCAL, LOCAL_PEERPID) → pid_t (sys/un.h).
import { darwin } from './constants';
import { credentialsFromXucred, decodeXucred, type PeerCredentials } from './credentials';
import * as libc from './libc';

export function peerCredentialsOfFd(fd: number): PeerCredentials {
  const x = Buffer.alloc(darwin.XUCRED_SIZE);
  libc.getsockopt(`getsockopt(LOCAL_PEERCRED) fd ${fd}`, fd, darwin.SOL_LOCAL, darwin.LOCAL_PEERCRED, x);
  const pid = Buffer.alloc(4);
  libc.getsockopt(`getsockopt(LOCAL_PEERPID) fd ${fd}`, fd, darwin.SOL_LOCAL, darwin.LOCAL_PEERPID, pid);
  return credentialsFromXucred(decodeXucred(x), pid.readInt32LE(0));
}
