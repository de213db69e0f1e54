// Linux: getsockopt(SOL_SOCKET, SO_PEERCRED) → struct ucred, captured by the kernel at connect().
import { linux } from './constants';
import { decodeUcred, type PeerCredentials } from './credentials';
import * as libc from './libc';

export function peerCredentialsOfFd(fd: number): PeerCredentials {
  const out = Buffer.alloc(linux.UCRED_SIZE);
  libc.getsockopt(`getsockopt(SO_PEERCRED) fd ${fd}`, fd, linux.SOL_SOCKET, linux.SO_PEERCRED, out);
  return decodeUcred(out);
}
