import { expect } from 'chai';
import { darwin, linux } from '../../../native-bindings/constants';
import { credentialsFromXucred, decodeUcred, decodeXucred } from '../../../native-bindings/credentials';
import {
  checkIfName,
  decodeIfreqName,
  encodeIfreqMtu,
  encodeTunSetIff,
} from '../../../native-bindings/ifreq';
import {
  decodeCtlInfo,
  encodeCtlInfo,
  encodeSockaddrCtl,
  utunUnitFor,
} from '../../../native-bindings/kern-control';
import { decodeNetlinkAck, encodeDelLink } from '../../../native-bindings/netlink';

describe('native-bindings: struct layouts', () => {
  it('ifreq for TUNSETIFF: 40 bytes, name then little-endian ifr_flags at offset 16', () => {
    const b = encodeTunSetIff('kvn%d', linux.IFF_TUN | linux.IFF_NO_PI);
    expect(b.length).to.equal(40);
    expect(b.subarray(0, 16)).to.deep.equal(Buffer.from('kvn%d\0\0\0\0\0\0\0\0\0\0\0', 'latin1'));
    expect([...b.subarray(16, 18)]).to.deep.equal([0x01, 0x10]);
    expect(b.subarray(18).every((x) => x === 0)).to.equal(true);
    expect(
      encodeTunSetIff('', 1)
        .subarray(0, 16)
        .every((x) => x === 0),
    ).to.equal(true);
  });

  it('ifreq name read-back stops at the NUL, and at 16 bytes without one', () => {
    const b = Buffer.alloc(40);
    b.write('kvn12', 0, 'latin1');
    expect(decodeIfreqName(b)).to.equal('kvn12');
    b.fill(0x61, 0, 16);
    expect(decodeIfreqName(b)).to.equal('a'.repeat(16));
  });

  it('ifreq with an MTU: 40 bytes on Linux, 32 on macOS, int at offset 16', () => {
    const l = encodeIfreqMtu('linux', 'kvn0', 1400);
    const d = encodeIfreqMtu('darwin', 'utun3', 1400);
    expect(l.length).to.equal(40);
    expect(d.length).to.equal(32);
    expect(l.readInt32LE(16)).to.equal(1400);
    expect([...d.subarray(16, 20)]).to.deep.equal([0x78, 0x05, 0, 0]);
    expect(d.toString('latin1', 0, 6)).to.equal('utun3\0');
  });

  it('rejects interface names that do not fit or carry odd characters', () => {
    expect(() => checkIfName('a'.repeat(16))).to.throw(/at most 15/);
    expect(() => checkIfName('kvn 0')).to.throw(/invalid interface name/);
    expect(() => checkIfName('kv%s')).to.throw(/only one %d/);
    expect(() => checkIfName('')).to.throw(/empty/);
    expect(() => checkIfName('a'.repeat(15))).to.not.throw();
  });

  it('ctl_info: 100 bytes, ctl_id u32 then the NUL-terminated name', () => {
    const b = encodeCtlInfo(darwin.UTUN_CONTROL_NAME);
    expect(b.length).to.equal(100);
    expect(b.readUInt32LE(0)).to.equal(0);
    expect(b.toString('latin1', 4, 4 + 27)).to.equal('com.apple.net.utun_control\0');
    b.writeUInt32LE(0x12345678, 0);
    expect(decodeCtlInfo(b)).to.deep.equal({ ctlId: 0x12345678, name: 'com.apple.net.utun_control' });
    expect(() => encodeCtlInfo('x'.repeat(96))).to.throw(/too long/);
  });

  it('sockaddr_ctl: 32 bytes, sc_len, AF_SYSTEM, AF_SYS_CONTROL, id, unit, zero reserved', () => {
    const b = encodeSockaddrCtl(0xaabbccdd, 5);
    expect([...b]).to.deep.equal([
      32,
      32,
      2,
      0,
      0xdd,
      0xcc,
      0xbb,
      0xaa,
      5,
      0,
      0,
      0,
      ...new Array(20).fill(0),
    ]);
  });

  it('utun unit: 0 for the next free one, N + 1 for utunN', () => {
    expect(utunUnitFor(undefined)).to.equal(0);
    expect(utunUnitFor('utun0')).to.equal(1);
    expect(utunUnitFor('utun7')).to.equal(8);
    expect(() => utunUnitFor('kvn0')).to.throw(/utun<N>/);
  });

  it('struct ucred: pid, uid, gid (12 bytes)', () => {
    const b = Buffer.from([0x39, 0x30, 0, 0, 0xe8, 0x03, 0, 0, 0x64, 0, 0, 0]);
    expect(decodeUcred(b)).to.deep.equal({ pid: 12345, uid: 1000, gid: 100 });
    expect(() => decodeUcred(Buffer.alloc(8))).to.throw(/12/);
  });

  it('struct xucred: version, uid, ngroups, 2 bytes padding, groups[16] (76 bytes)', () => {
    const b = Buffer.alloc(76);
    b.writeUInt32LE(0, 0);
    b.writeUInt32LE(501, 4);
    b.writeInt16LE(2, 8);
    b.writeUInt32LE(20, 12);
    b.writeUInt32LE(12, 16);
    const x = decodeXucred(b);
    expect(x).to.deep.equal({ version: 0, uid: 501, groups: [20, 12] });
    expect(credentialsFromXucred(x, 777)).to.deep.equal({ uid: 501, gid: 20, pid: 777 });
    b.writeUInt32LE(1, 0);
    expect(() => decodeXucred(b)).to.throw(/version/);
    b.writeUInt32LE(0, 0);
    b.writeInt16LE(17, 8);
    expect(() => decodeXucred(b)).to.throw(/groups/);
  });

  it('RTM_DELLINK request: nlmsghdr + ifinfomsg, REQUEST|ACK, index at offset 20', () => {
    const b = encodeDelLink(7, 42);
    expect([...b]).to.deep.equal([
      32, 0, 0, 0, 17, 0, 5, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const ack = Buffer.alloc(36);
    ack.writeUInt16LE(2, 4);
    ack.writeUInt32LE(42, 8);
    ack.writeInt32LE(-19, 16);
    expect(decodeNetlinkAck(ack, 42)).to.equal(19);
    expect(decodeNetlinkAck(ack, 43)).to.equal(null);
    ack.writeInt32LE(0, 16);
    expect(decodeNetlinkAck(ack, 42)).to.equal(0);
  });
});
