// The setsockopt(2) arguments that restrict the engine's listener to the tun (pure: both platforms).
import { expect } from 'chai';
import { bindDeviceOption } from '../../../native-bindings/bind-device';

describe('net: binding a listener to the tun device (setsockopt layout)', () => {
  const noIndex = (): number => {
    throw new Error('not used on Linux');
  };

  it('Linux: SOL_SOCKET/SO_BINDTODEVICE with the NUL-terminated name, for both families', () => {
    for (const family of [4, 6] as const) {
      const o = bindDeviceOption('linux', 'kvn0', family, noIndex);
      expect(o).to.deep.include({ level: 1, name: 25 });
      expect([...o.value]).to.deep.equal([...Buffer.from('kvn0\0')]);
    }
    expect(() => bindDeviceOption('linux', 'a-name-longer-than15', 4, noIndex)).to.throw(
      /bad interface name/,
    );
  });

  it('macOS: IP_BOUND_IF (IPv4) / IPV6_BOUND_IF (IPv6) with the interface index as an int', () => {
    const v4 = bindDeviceOption('darwin', 'utun7', 4, () => 23);
    expect(v4).to.deep.include({ level: 0, name: 25 });
    expect(v4.value.readUInt32LE(0)).to.equal(23);
    const v6 = bindDeviceOption('darwin', 'utun7', 6, () => 23);
    expect(v6).to.deep.include({ level: 41, name: 125 });
    expect(() => bindDeviceOption('darwin', 'utun99', 4, () => 0)).to.throw(/no interface utun99/);
  });

  it('refuses other platforms', () => {
    expect(() => bindDeviceOption('win32', 'x', 4, noIndex)).to.throw(/not supported on win32/);
  });
});
