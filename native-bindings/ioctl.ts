// ioctl request numbers, computed the way the C headers' macros compute them, so each constant can be
// checked against the value the headers produce instead of being copied as a magic number.
//
// The two platforms encode direction bits differently:
// - Linux (include/uapi/asm-generic/ioctl.h, used by x86_64 and arm64): nr bits 0-7, type bits 8-15,
//   size bits 16-29, direction bits 30-31 with _IOC_WRITE = 1 and _IOC_READ = 2.
// - macOS (sys/ioccom.h): IOC_VOID 0x20000000, IOC_OUT 0x40000000, IOC_IN 0x80000000, size masked
//   with IOCPARM_MASK 0x1fff at bits 16-28. Note the inversion: BSD's _IOW sets IOC_IN (0x8...),
//   Linux's _IOW sets _IOC_WRITE (0x4...).

export type IoctlFlavor = 'linux' | 'darwin';

function char(c: string | number): number {
  return typeof c === 'number' ? c : c.charCodeAt(0);
}

function linuxIoc(dir: number, type: string | number, nr: number, size: number): number {
  if (size >= 1 << 14) throw new RangeError(`ioctl size ${size} does not fit _IOC_SIZEBITS`);
  return ((dir << 30) | (size << 16) | (char(type) << 8) | nr) >>> 0;
}

function darwinIoc(inout: number, type: string | number, nr: number, size: number): number {
  return (inout | ((size & 0x1fff) << 16) | (char(type) << 8) | nr) >>> 0;
}

/** _IO(type, nr): no argument. */
export function _IO(flavor: IoctlFlavor, type: string | number, nr: number): number {
  return flavor === 'linux' ? linuxIoc(0, type, nr, 0) : darwinIoc(0x20000000, type, nr, 0);
}

/** _IOR(type, nr, size): the kernel writes `size` bytes to user space. */
export function _IOR(flavor: IoctlFlavor, type: string | number, nr: number, size: number): number {
  return flavor === 'linux' ? linuxIoc(2, type, nr, size) : darwinIoc(0x40000000, type, nr, size);
}

/** _IOW(type, nr, size): user space passes `size` bytes in. */
export function _IOW(flavor: IoctlFlavor, type: string | number, nr: number, size: number): number {
  return flavor === 'linux' ? linuxIoc(1, type, nr, size) : darwinIoc(0x80000000, type, nr, size);
}

/** _IOWR(type, nr, size): both directions. */
export function _IOWR(flavor: IoctlFlavor, type: string | number, nr: number, size: number): number {
  return flavor === 'linux' ? linuxIoc(3, type, nr, size) : darwinIoc(0xc0000000, type, nr, size);
}
