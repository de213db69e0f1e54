import { expect } from 'chai';
import { checksumAdjust, createFastPath, echo } from '../../../systemext/tun/echo-fast-path';
import { DROP, PASS, REPLY } from '../../../systemext/tun/fast-path';
import { checksum, icmp4Echo, icmp4Valid, icmp6Echo, icmp6Valid, ip6, udp4, udp4Valid } from './packets';

describe('tun: echo fast path', () => {
  it('turns an ICMPv4 echo request into a reply with valid checksums', () => {
    const pkt = icmp4Echo();
    expect(icmp4Valid(pkt)).to.equal(true);
    expect(echo(pkt)).to.equal(REPLY);
    expect(pkt[20]).to.equal(0);
    expect([...pkt.subarray(12, 16)]).to.deep.equal([10, 0, 0, 2]);
    expect([...pkt.subarray(16, 20)]).to.deep.equal([10, 0, 0, 1]);
    expect(icmp4Valid(pkt)).to.equal(true);
  });

  it('turns an ICMPv6 echo request into a reply with a valid checksum', () => {
    const pkt = icmp6Echo();
    expect(icmp6Valid(pkt)).to.equal(true);
    expect(echo(pkt)).to.equal(REPLY);
    expect(pkt[40]).to.equal(129);
    expect(pkt.subarray(8, 24).toString('hex')).to.equal('fd000000000000000000000000000002');
    expect(icmp6Valid(pkt)).to.equal(true);
  });

  it('echoes UDP only to the configured ports, checksum still valid', () => {
    const fp = createFastPath({ udpPorts: [9] });
    const other = udp4(53);
    expect(fp(other)).to.equal(PASS);
    const pkt = udp4(9);
    expect(fp(pkt)).to.equal(REPLY);
    expect(pkt.readUInt16BE(20)).to.equal(9);
    expect(pkt.readUInt16BE(22)).to.equal(40000);
    expect(udp4Valid(pkt)).to.equal(true);
  });

  it('passes what it does not answer, and survives malformed packets', () => {
    expect(echo(Buffer.alloc(0))).to.equal(DROP);
    expect(echo(Buffer.from([0x45, 0, 0]))).to.equal(PASS); // truncated IPv4 header
    expect(echo(icmp4Echo().subarray(0, 24))).to.equal(PASS); // truncated ICMP
    const frag = icmp4Echo();
    frag.writeUInt16BE(0x2000, 6); // more fragments
    expect(echo(frag)).to.equal(PASS);
    expect(echo(icmp4Echo(), { icmp: false })).to.equal(PASS);
    expect(echo(ip6(6, Buffer.alloc(20)))).to.equal(PASS); // TCP
    expect(echo(Buffer.alloc(30, 0x60))).to.equal(PASS); // short IPv6
    expect(echo(Buffer.from([0x10, 1, 2, 3]))).to.equal(PASS);
  });

  it('adjusts checksums incrementally like a full recomputation (RFC 1624)', () => {
    for (const [data, from, to] of [
      [Buffer.from([8, 0, 1, 2, 3, 4]), 0x0800, 0x0000],
      [Buffer.from([0xff, 0xff, 0, 0]), 0xffff, 0x0001],
      [Buffer.from([0x80, 0, 0xab, 0xcd]), 0x8000, 0x8100],
    ] as [Buffer, number, number][]) {
      const before = checksum(data);
      const after = Buffer.from(data);
      after.writeUInt16BE(to, 0);
      expect(data.readUInt16BE(0)).to.equal(from);
      expect(checksumAdjust(before, from, to)).to.equal(checksum(after));
    }
  });
});
