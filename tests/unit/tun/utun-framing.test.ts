import { expect } from 'chai';
import { framingFor } from '../../../systemext/tun/framing';
import { utunFraming } from '../../../systemext/tun/utun-framing.darwin';
import { icmp4Echo, icmp6Echo } from './packets';

describe('tun: macOS utun framing (pure)', () => {
  it('prefixes a 4-byte big-endian AF_INET (2) or AF_INET6 (30)', () => {
    expect([...utunFraming.header(icmp4Echo())!]).to.deep.equal([0, 0, 0, 2]);
    expect([...utunFraming.header(icmp6Echo())!]).to.deep.equal([0, 0, 0, 30]);
    const buf = Buffer.alloc(8, 0xee);
    expect(utunFraming.writeHeader(buf, 2, icmp6Echo())).to.equal(true);
    expect([...buf]).to.deep.equal([0xee, 0xee, 0, 0, 0, 30, 0xee, 0xee]);
  });

  it('refuses packets that are neither IPv4 nor IPv6', () => {
    expect(utunFraming.header(Buffer.from([0x50, 0]))).to.equal(null);
    expect(utunFraming.header(Buffer.alloc(0))).to.equal(null);
    expect(utunFraming.writeHeader(Buffer.alloc(4), 0, Buffer.from([0x20]))).to.equal(false);
  });

  it('Linux tun (IFF_NO_PI) has no framing at all', () => {
    const none = framingFor('none');
    expect(none.headerLen).to.equal(0);
    expect(framingFor('utun').headerLen).to.equal(4);
  });
});
