// A HID device at the REPORT level: the only thing the CTAPHID transport needs. Implemented by
// node-hid (real keys, ./node-hid-device) and by the virtual authenticator (../virtual).

import type { EventEmitter } from 'node:events';

export interface HidDeviceInfo {
  /** Opaque OS path (hidraw node on Linux, IOService path on macOS). */
  path: string;
  vendorId: number;
  productId: number;
  product: string;
  manufacturer: string;
  serialNumber?: string;
}

/**
 * Events:
 *  - 'report' (report: Buffer): one 64-byte input report from the device.
 *  - 'removed' (): the device is gone (unplugged or I/O error); no further reports will come.
 */
export interface HidReportDevice extends EventEmitter {
  readonly info: HidDeviceInfo;
  /** True once 'removed' has been emitted or close() was called. */
  readonly closed: boolean;
  /** Send one 64-byte output report (without any report-ID byte). Rejects when the device is gone. */
  write(report: Buffer): Promise<void>;
  close(): Promise<void>;
  /**
   * Devices that are opened only while in use (node-hid: so browsers and ssh-sk-helper can use the
   * key too) are held by the transport for each transaction: hold() before the first report,
   * release() after the answer. Counted, so holds may nest. Absent: always open.
   */
  hold?(): Promise<void>;
  release?(): void;
}
