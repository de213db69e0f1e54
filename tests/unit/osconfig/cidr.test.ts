import { expect } from 'chai';
import { firstHost, parseCidr, v4Netmask } from '../../../systemext/osconfig/cidr';

describe('osconfig/cidr', () => {
  it('parses IPv4 ranges and clears host bits', () => {
    expect(parseCidr('100.64.0.0/10')).to.deep.equal({ family: 4, network: '100.64.0.0', prefix: 10 });
    expect(parseCidr('100.100.1.7/10').network).to.equal('100.64.0.0');
  });
  it('gives the first host of a range', () => {
    expect(firstHost(parseCidr('100.64.0.0/10'))).to.equal('100.64.0.1');
    expect(firstHost(parseCidr('fd00:6b76:6e00::/64'))).to.equal('fd00:6b76:6e00::1');
    expect(firstHost(parseCidr('fd7a:115c:a1e0:ab12::/64'))).to.equal('fd7a:115c:a1e0:ab12::1');
  });
  it('normalises IPv6 text (RFC 5952)', () => {
    expect(parseCidr('FD00:0:0:0:0:0:0:0/64').network).to.equal('fd00::');
    expect(parseCidr('fd00:1:2:3:4:5:6:7/48').network).to.equal('fd00:1:2::');
  });
  it('makes dotted netmasks', () => {
    expect(v4Netmask(10)).to.equal('255.192.0.0');
    expect(v4Netmask(32)).to.equal('255.255.255.255');
    expect(v4Netmask(0)).to.equal('0.0.0.0');
  });
  it('rejects bad ranges with a clear error', () => {
    expect(() => parseCidr('100.64.0.0')).to.throw(/address\/prefix/);
    expect(() => parseCidr('100.64.0.0/33')).to.throw(/0\.\.32/);
    expect(() => parseCidr('hello/8')).to.throw(/not an IP address/);
  });
});
