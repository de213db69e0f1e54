// Address text <-> bytes, header parsing and the builders' checksums.
import { expect } from 'chai';
import { bytesToIp, intToIpv4, ipToBytes, ipv4ToInt } from '../../../systemext/net/addr';
import { buildIcmp, buildTcp, buildUdp, checksumsValid } from '../../../systemext/net/build';
import { parseIp, parseTcp, parseUdp, TCP_SYN } from '../../../systemext/net/packet';

describe('net: addresses', () => {
  it('round-trips IPv4 and IPv6 literals', () => {
    for (const ip of ['100.64.0.1', '0.0.0.0', '255.255.255.255'])
      expect(bytesToIp(ipToBytes(ip))).to.equal(ip);
    for (const ip of [
      '::',
      '::1',
      'fd00:1:2::6440:3',
      '2001:db8::1:0:0:1',
      'fe80::1:2:3:4',
      '1:2:3:4:5:6:7:8',
    ]) {
      expect(bytesToIp(ipToBytes(ip))).to.equal(ip);
    }
    expect(bytesToIp(ipToBytes('::ffff:1.2.3.4'))).to.equal('::ffff:102:304');
    expect(ipv4ToInt('100.64.0.1')).to.equal(0x64400001);
    expect(intToIpv4(0x64400001)).to.equal('100.64.0.1');
  });

  it('rejects what is no address', () => {
    expect(() => ipToBytes('100.64.0.256')).to.throw(/not an IP/);
    expect(() => ipToBytes('web.corp')).to.throw(/not an IP/);
  });
});

describe('net: parsing and building', () => {
  const a4 = ipToBytes('100.64.0.1');
  const b4 = ipToBytes('100.64.0.9');
  const a6 = ipToBytes('fd00::1');
  const b6 = ipToBytes('fd00::9');

  it('builds TCP/UDP/ICMP over IPv4 and IPv6 with valid checksums, and parses them back', () => {
    for (const [src, dst] of [
      [a4, b4],
      [a6, b6],
    ]) {
      const tcp = buildTcp({
        src,
        dst,
        sport: 1234,
        dport: 80,
        seq: 7,
        flags: TCP_SYN,
        payload: Buffer.from('hi'),
      });
      expect(checksumsValid(tcp)).to.equal(true);
      const ip = parseIp(tcp);
      if (typeof ip === 'string') throw new Error(ip);
      const t = parseTcp(tcp, ip);
      if (typeof t === 'string') throw new Error(t);
      expect([t.sport, t.dport, t.seq, t.flags, tcp.length - t.dataOff]).to.deep.equal([
        1234,
        80,
        7,
        TCP_SYN,
        2,
      ]);
      const udp = buildUdp({ src, dst, sport: 5, dport: 53, payload: Buffer.from('xyz') });
      expect(checksumsValid(udp)).to.equal(true);
      const uip = parseIp(udp);
      if (typeof uip === 'string') throw new Error(uip);
      const u = parseUdp(udp, uip);
      if (typeof u === 'string') throw new Error(u);
      expect(udp.subarray(u.dataOff, u.dataEnd).toString()).to.equal('xyz');
      expect(checksumsValid(buildIcmp(src, dst, 8, 0, 0x10002, Buffer.from('ping')))).to.equal(true);
    }
  });

  it('explains malformed headers instead of throwing', () => {
    const good = buildTcp({ src: a4, dst: b4, sport: 1, dport: 2, flags: TCP_SYN });
    expect(parseIp(Buffer.alloc(0))).to.equal('empty packet');
    expect(parseIp(good.subarray(0, 10))).to.match(/truncated/);
    const badIhl = Buffer.from(good);
    badIhl[0] = 0x44;
    expect(parseIp(badIhl)).to.match(/IHL/);
    const badLen = Buffer.from(good);
    badLen.writeUInt16BE(good.length + 1, 2);
    expect(parseIp(badLen)).to.match(/beyond/);
    expect(parseIp(Buffer.from([0x50, 0, 0, 0]))).to.match(/version 5/);
    const frag = Buffer.from(good);
    frag[6] = 0x20; // MF
    const f = parseIp(frag);
    expect(typeof f !== 'string' && f.fragment).to.equal(true);
    const badOff = Buffer.from(good);
    badOff[20 + 12] = 0xf0; // data offset 60 > segment
    const ip = parseIp(badOff);
    if (typeof ip === 'string') throw new Error(ip);
    expect(parseTcp(badOff, ip)).to.match(/data offset/);
  });

  it('steps over IPv6 extension headers and flags fragments', () => {
    const tcp = buildTcp({ src: a6, dst: b6, sport: 1, dport: 2, flags: TCP_SYN });
    // Insert a Hop-by-Hop header (8 bytes) between the IPv6 header and TCP.
    const hbh = Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]);
    const withExt = Buffer.concat([tcp.subarray(0, 40), hbh, tcp.subarray(40)]);
    withExt[6] = 0;
    withExt.writeUInt16BE(tcp.length - 40 + 8, 4);
    const ip = parseIp(withExt);
    if (typeof ip === 'string') throw new Error(ip);
    expect([ip.protocol, ip.l4Off, ip.fragment]).to.deep.equal([6, 48, false]);
    withExt[6] = 44; // now it is a Fragment header
    const f = parseIp(withExt);
    expect(typeof f !== 'string' && f.fragment).to.equal(true);
  });
});
