// Real security keys through node-hid. node-hid is loaded lazily: its native module needs
// libusb-1.0 / hidraw at run time, and tests with the virtual authenticator must not need it.

import { EventEmitter } from 'node:events';
import type { Device, HIDAsync } from 'node-hid';
import { FidoError } from '../api';
import type { HidDeviceInfo, HidReportDevice } from './report-device';

/** FIDO HID usage page and CTAPHID usage (CTAP 2.1 §11.2.8.1 "HID Report Descriptor"). */
export const FIDO_USAGE_PAGE = 0xf1d0;
export const FIDO_USAGE_CTAPHID = 0x01;

export type NodeHidModule = typeof import('node-hid');
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

/**
 * A key through node-hid, opened only while a transaction holds it and never exclusively: on
 * macOS node-hid opens exclusively unless told `nonExclusive`, which would lock browsers and
 * OpenSSH's ssh-sk-helper out of the key for as long as KeyVNet runs. Between transactions the
 * handle is closed; a key pulled out meanwhile shows up on the next hold() (and in the watcher).
 */
class NodeHidReportDevice extends EventEmitter implements HidReportDevice {
  closed = false;
  private hid: HIDAsync | null = null;
  private holds = 0;
  /** The handle being opened or closed; the next hold() or release() waits for it. */
  private pending: Promise<void> = Promise.resolve();

  constructor(
    readonly info: HidDeviceInfo,
    private readonly nodeHid: NodeHidModule,
  ) {
    super();
  }

  hold(): Promise<void> {
    if (this.closed) return Promise.reject(removed());
    this.holds++;
    if (this.holds > 1) return this.pending;
    this.pending = this.pending.then(async () => {
      if (this.hid || this.closed) return;
      let hid: HIDAsync;
      try {
        hid = await this.nodeHid.HIDAsync.open(this.info.path, { nonExclusive: true });
      } catch (err) {
        this.holds = 0;
        this.markRemoved();
        throw new FidoError(
          'device-removed',
          `Cannot open the security key ${this.info.product} (${(err as Error).message}); is it still plugged in?`,
        );
      }
      hid.on('data', (data: Buffer) => {
        if (!this.closed && this.hid === hid) this.emit('report', Buffer.from(data));
      });
      // node-hid reports an unplugged key as a read error.
      hid.on('error', () => {
        if (this.hid === hid) this.markRemoved();
      });
      this.hid = hid;
    });
    return this.pending;
  }

  release(): void {
    if (this.holds === 0) return;
    this.holds--;
    if (this.holds > 0) return;
    this.pending = this.pending
      .catch(() => undefined)
      .then(async () => {
        if (this.holds > 0 || !this.hid) return;
        const hid = this.hid;
        this.hid = null;
        await hid.close().catch(() => {});
      });
  }

  private markRemoved(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('removed');
    const hid = this.hid;
    this.hid = null;
    hid?.close().catch(() => {});
  }

  async write(report: Buffer): Promise<void> {
    if (this.closed) throw removed();
    const hid = this.hid;
    if (!hid) throw new Error('internal: write to a security key that is not held');
    // node-hid wants the report ID first; FIDO keys use no report IDs, hence a leading 0 that
    // is not part of the 64 bytes (hidapi convention).
    const out = Buffer.concat([Buffer.from([0]), report]);
    try {
      await hid.write(out);
    } catch {
      this.markRemoved();
      throw removed();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removeAllListeners('report');
    await this.pending.catch(() => undefined);
    const hid = this.hid;
    this.hid = null;
    await hid?.close().catch(() => {});
  }
}

function removed(): FidoError {
  return new FidoError('device-removed', 'The security key was removed.');
}

/** A key from listFidoHidDevices(); checks that it opens (non-exclusively), then lets it go. */
export async function openNodeHidDevice(
  info: HidDeviceInfo,
  nodeHidModule: NodeHidModule = loadNodeHid(),
): Promise<HidReportDevice> {
  const dev = new NodeHidReportDevice(info, nodeHidModule);
  await dev.hold();
  dev.release();
  return dev;
}
