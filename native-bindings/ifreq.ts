// struct ifreq, the argument of TUNSETIFF and of the SIOC[GS]IF* ioctls, as pure Buffer encoders.
// Layout (linux/if.h, net/if.h on macOS): char ifr_name[IFNAMSIZ = 16], then a union. On Linux the
// union holds `short ifr_flags` (TUNSETIFF) or `int ifr_mtu` at offset 16; the whole struct is 40
// bytes on 64-bit Linux and 32 on macOS. Native byte order is little-endian on every target we run on
// (x86_64, arm64).
import { darwin, linux } from './constants';

export type IfreqFlavor = 'linux' | 'darwin';

const IFNAMSIZ = 16;

function size(flavor: IfreqFlavor): number {
  return flavor === 'linux' ? linux.IFREQ_SIZE : darwin.IFREQ_SIZE;
}

/** Checks an interface name (or a kernel template such as `kvn%d`) fits ifr_name with its NUL. */
export function checkIfName(name: string): void {
  if (name.length === 0) throw new Error('interface name is empty');
  if (Buffer.byteLength(name, 'latin1') >= IFNAMSIZ || !/^[A-Za-z0-9_.%-]+$/.test(name)) {
    throw new Error(
      `invalid interface name ${JSON.stringify(name)}: at most 15 ASCII letters, digits, _ . - %d`,
    );
  }
  if ((name.match(/%/g) ?? []).length > 1 || (name.includes('%') && !name.includes('%d'))) {
    throw new Error(`invalid interface name template ${JSON.stringify(name)}: only one %d is allowed`);
  }
}

function withName(flavor: IfreqFlavor, name: string): Buffer {
  checkIfName(name);
  const buf = Buffer.alloc(size(flavor));
  buf.write(name, 0, 'latin1');
  return buf;
}

/** ifreq for TUNSETIFF (Linux): name (or template, or '' for the kernel's `tun%d`) + ifr_flags. */
export function encodeTunSetIff(name: string, flags: number): Buffer {
  const buf = name === '' ? Buffer.alloc(linux.IFREQ_SIZE) : withName('linux', name);
  buf.writeUInt16LE(flags & 0xffff, IFNAMSIZ);
  return buf;
}

/** ifreq carrying an MTU (SIOCSIFMTU / SIOCGIFMTU). */
export function encodeIfreqMtu(flavor: IfreqFlavor, name: string, mtu: number): Buffer {
  const buf = withName(flavor, name);
  buf.writeInt32LE(mtu, IFNAMSIZ);
  return buf;
}

/** The NUL-terminated ifr_name the kernel wrote back (e.g. `kvn0` for the template `kvn%d`). */
export function decodeIfreqName(buf: Buffer): string {
  return readCString(buf, 0, IFNAMSIZ);
}

/** A NUL-terminated string inside a fixed-size field. */
export function readCString(buf: Buffer, offset: number, max: number): string {
  const end = buf.indexOf(0, offset);
  const stop = end === -1 || end > offset + max ? offset + max : end;
  return buf.toString('latin1', offset, stop);
}
