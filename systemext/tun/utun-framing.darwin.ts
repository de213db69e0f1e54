// macOS utun framing: each packet on the utun socket is preceded by the protocol family as a 4-byte
// big-endian integer (xnu bsd/net/if_utun.c: utun_output prepends it, utun_ctl_send strips it):
// AF_INET = 2, AF_INET6 = 30 (sys/socket.h). Pure code, so it is unit-tested on Linux too.
import type { Framing } from './framing';

export const UTUN_AF_INET = 2;
export const UTUN_AF_INET6 = 30;

const V4 = Buffer.from([0, 0, 0, UTUN_AF_INET]);
const V6 = Buffer.from([0, 0, 0, UTUN_AF_INET6]);

function familyOf(pkt: Buffer): number {
  if (pkt.length === 0) return 0;
  const version = pkt[0] >> 4;
  return version === 4 ? UTUN_AF_INET : version === 6 ? UTUN_AF_INET6 : 0;
}

export const utunFraming: Framing = {
  headerLen: 4,
  writeHeader(buf, off, pkt) {
    const af = familyOf(pkt);
    if (af === 0) return false;
    buf.writeUInt32BE(af, off);
    return true;
  },
  header(pkt) {
    const af = familyOf(pkt);
    return af === UTUN_AF_INET ? V4 : af === UTUN_AF_INET6 ? V6 : null;
  },
};
