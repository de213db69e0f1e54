// macOS kernel-control structures used to open a utun (pure Buffer encoders).
//   sys/kern_control.h:  struct ctl_info { u_int32_t ctl_id; char ctl_name[MAX_KCTL_NAME = 96]; }  (100 bytes)
//                        struct sockaddr_ctl { u_char sc_len; u_char sc_family; u_int16_t ss_sysaddr;
//                          u_int32_t sc_id; u_int32_t sc_unit; u_int32_t sc_reserved[5]; }      (32 bytes)
//   sys/sys_domain.h:    AF_SYSTEM = 32, AF_SYS_CONTROL = 2, SYSPROTO_CONTROL = 2
// All fields are in host byte order (little-endian on x86_64 and arm64).
import { darwin } from './constants';
import { readCString } from './ifreq';

/** ctl_info for CTLIOCGINFO: ctl_id 0 (filled in by the kernel) and the control's name. */
export function encodeCtlInfo(name: string): Buffer {
  if (Buffer.byteLength(name, 'latin1') >= darwin.MAX_KCTL_NAME)
    throw new Error(`control name too long: ${name}`);
  const buf = Buffer.alloc(darwin.CTL_INFO_SIZE);
  buf.write(name, 4, 'latin1');
  return buf;
}

export function decodeCtlInfo(buf: Buffer): { ctlId: number; name: string } {
  if (buf.length < darwin.CTL_INFO_SIZE) throw new Error(`ctl_info is ${buf.length} bytes, expected 100`);
  return { ctlId: buf.readUInt32LE(0), name: readCString(buf, 4, darwin.MAX_KCTL_NAME) };
}

/**
 * sockaddr_ctl for connect(): `unit` 0 asks for the next free utun, N + 1 asks for utunN
 * (xnu bsd/net/if_utun.c: the interface is named utun<sc_unit - 1>).
 */
export function encodeSockaddrCtl(ctlId: number, unit: number): Buffer {
  const buf = Buffer.alloc(darwin.SOCKADDR_CTL_SIZE);
  buf.writeUInt8(darwin.SOCKADDR_CTL_SIZE, 0); // sc_len
  buf.writeUInt8(darwin.AF_SYSTEM, 1); // sc_family
  buf.writeUInt16LE(darwin.AF_SYS_CONTROL, 2); // ss_sysaddr
  buf.writeUInt32LE(ctlId, 4); // sc_id
  buf.writeUInt32LE(unit, 8); // sc_unit; sc_reserved[5] stays zero
  return buf;
}

/** sc_unit for a requested name: `utun7` → 8, undefined → 0 (kernel picks). */
export function utunUnitFor(name: string | undefined): number {
  if (name === undefined || name === '') return 0;
  const m = /^utun(\d{1,5})$/.exec(name);
  if (!m) throw new Error(`invalid utun name ${JSON.stringify(name)}: macOS only creates utun<N>`);
  return Number(m[1]) + 1;
}
