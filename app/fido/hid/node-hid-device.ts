// Real security keys through node-hid. node-hid is loaded lazily: its native module needs
// libusb-1.0 / hidraw at run time, and tests with the virtual authenticator must not need it.

import { EventEmitter } from 'node:events';
import type { Device, HIDAsync } from 'node-hid';
import { FidoError } from '../api';
import type { HidDeviceInfo, HidReportDevice } from './report-device';

/** FIDO HID usage page and CTAPHID usage (CTAP 2.1 §11.2.8.1 "HID Report Descriptor"). */
export const FIDO_USAGE_PAGE = 0xf1d0;
export const FIDO_USAGE_CTAPHID = 0x01;

type NodeHidModule = typeof import('node-hid');
let nodeHid: NodeHidModule | null = null;

function loadNodeHid(): NodeHidModule {
  if (!nodeHid) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      nodeHid = require('node-hid') as NodeHidModule;
    } catch (err) {
      throw new FidoError(
        'unsupported',
        `Cannot access USB security keys: node-hid failed to load (${(err as Error).message}).`,
      );
    }
  }
  return nodeHid;
}

export function isFidoDevice(d: Device): boolean {
  return d.usagePage === FIDO_USAGE_PAGE && d.usage === FIDO_USAGE_CTAPHID && typeof d.path === 'string';
}

export function toDeviceInfo(d: Device): HidDeviceInfo {
  return {
    path: d.path ?? '',
    vendorId: d.vendorId,
    productId: d.productId,
    product: d.product?.trim() || 'Security key',
    manufacturer: d.manufacturer?.trim() || '',
    serialNumber: d.serialNumber || undefined,
  };
}

/** All FIDO (CTAPHID) devices currently attached. */
export async function listFidoHidDevices(): Promise<HidDeviceInfo[]> {
  const all = await loadNodeHid().devicesAsync();
  return all.filter(isFidoDevice).map(toDeviceInfo);
}

class NodeHidReportDevice extends EventEmitter implements HidReportDevice {
  closed = false;

  constructor(
    readonly info: HidDeviceInfo,
    private readonly hid: HIDAsync,
  ) {
    super();
    hid.on('data', (data: Buffer) => {
      if (!this.closed) this.emit('report', Buffer.from(data));
    });
    // node-hid reports an unplugged key as a read error.
    hid.on('error', () => this.markRemoved());
  }

  private markRemoved(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('removed');
    this.hid.close().catch(() => {});
  }

  async write(report: Buffer): Promise<void> {
    if (this.closed) throw new FidoError('device-removed', 'The security key was removed.');
    // node-hid wants the report ID first; FIDO keys use no report IDs, hence a leading 0 that
    // is not part of the 64 bytes (hidapi convention).
    const out = Buffer.concat([Buffer.from([0]), report]);
    try {
      await this.hid.write(out);
    } catch {
      this.markRemoved();
      throw new FidoError('device-removed', 'The security key was removed.');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removeAllListeners('report');
    await this.hid.close().catch(() => {});
  }
}

export async function openNodeHidDevice(info: HidDeviceInfo): Promise<HidReportDevice> {
  let hid: HIDAsync;
  try {
    hid = await loadNodeHid().HIDAsync.open(info.path);
  } catch (err) {
    throw new FidoError(
      'device-removed',
      `Cannot open the security key ${info.product} (${(err as Error).message}); is it still plugged in?`,
    );
  }
  return new NodeHidReportDevice(info, hid);
}
