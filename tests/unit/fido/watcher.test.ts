// Hot-plug events for the UI: the watcher diffs successive device lists.

import { expect } from 'chai';
import type { HidDeviceInfo } from '../../../app/fido/hid/report-device';
import { SecurityKeyWatcher } from '../../../app/fido/hid/watcher';
import { isFidoDevice, openNodeHidDevice } from '../../../app/fido/hid/node-hid-device';
import { listSecurityKeys, openSecurityKey } from '../../../app/fido';
import { RecordingPrompter, rejection } from './helpers';

const key = (path: string): HidDeviceInfo => ({
  path,
  vendorId: 0x1050,
  productId: 0x407,
  product: 'YubiKey',
  manufacturer: 'Yubico',
});

describe('fido: security key watcher', function () {
  it('emits inserted and removed as the device list changes', async function () {
    let now: HidDeviceInfo[] = [key('/dev/hidraw1')];
    const w = new SecurityKeyWatcher(async () => now, 60_000);
    const events: string[] = [];
    w.on('inserted', (i: HidDeviceInfo) => events.push(`+${i.path}`));
    w.on('removed', (i: HidDeviceInfo) => events.push(`-${i.path}`));
    await w.poll();
    now = [key('/dev/hidraw1'), key('/dev/hidraw2')];
    await w.poll();
    now = [key('/dev/hidraw2')];
    await w.poll();
    await w.poll();
    expect(events).to.deep.equal(['+/dev/hidraw1', '+/dev/hidraw2', '-/dev/hidraw1']);
    expect(w.devices.map((d) => d.path)).to.deep.equal(['/dev/hidraw2']);
  });

  it('reports listing errors and keeps the last known devices', async function () {
    let fail = false;
    const w = new SecurityKeyWatcher(async () => {
      if (fail) throw new Error('hid went away');
      return [key('/dev/hidraw1')];
    }, 60_000);
    const errors: Error[] = [];
    w.on('error', (e: Error) => errors.push(e));
    await w.poll();
    fail = true;
    await w.poll();
    expect(errors.map((e) => e.message)).to.deep.equal(['hid went away']);
    expect(w.devices).to.have.length(1);
  });

  it('recognizes FIDO devices by usage page 0xF1D0 and usage 1', function () {
    const base = { vendorId: 1, productId: 2, release: 0, interface: 0, path: '/dev/hidraw0' };
    expect(isFidoDevice({ ...base, usagePage: 0xf1d0, usage: 1 })).to.equal(true);
    expect(isFidoDevice({ ...base, usagePage: 0x01, usage: 6 })).to.equal(false); // a keyboard
    expect(isFidoDevice({ ...base, usagePage: 0xf1d0, usage: 1, path: undefined })).to.equal(false);
  });
});

describe('fido: node-hid access (real HID stack, no key attached needed)', function () {
  it('lists FIDO devices without failing, and explains a key that is not there', async function () {
    const keys = await listSecurityKeys();
    expect(keys).to.be.an('array');
    for (const k of keys) expect(k.path).to.be.a('string');
    const err = await rejection(openSecurityKey('/dev/hidraw-does-not-exist', new RecordingPrompter()));
    expect(err.code).to.equal('device-removed');
    expect(err.message).to.match(/no longer plugged in/);
  });

  it('explains a device path that cannot be opened', async function () {
    const err = await rejection(
      openNodeHidDevice({ ...key('/dev/hidraw-does-not-exist'), product: 'Ghost key' }),
    );
    expect(err.code).to.equal('device-removed');
    expect(err.message).to.match(/Cannot open the security key Ghost key/);
  });
});
