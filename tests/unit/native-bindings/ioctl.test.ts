import { expect } from 'chai';
import { darwin, linux } from '../../../native-bindings/constants';
import { _IO, _IOR, _IOW, _IOWR } from '../../../native-bindings/ioctl';

describe('native-bindings: ioctl request numbers', () => {
  it('matches the Linux values of linux/if_tun.h and asm-generic/ioctl.h', () => {
    expect(linux.TUNSETIFF).to.equal(0x400454ca); // _IOW('T', 202, int)
    expect(_IOR('linux', 'T', 210, 4)).to.equal(0x800454d2); // TUNGETIFF = _IOR('T', 210, unsigned int)
    expect(_IOW('linux', 'T', 203, 4)).to.equal(0x400454cb); // TUNSETPERSIST
    expect(_IO('linux', 'T', 1)).to.equal(0x5401);
    expect(_IOWR('linux', 'T', 1, 8)).to.equal(0xc0085401);
  });

  it('matches the macOS values of sys/kern_control.h and sys/sockio.h', () => {
    expect(darwin.CTLIOCGINFO).to.equal(0xc0644e03); // _IOWR('N', 3, struct ctl_info)
    expect(darwin.SIOCSIFMTU).to.equal(0x80206934); // _IOW('i', 52, struct ifreq)
    expect(_IOR('darwin', 'i', 51, 32)).to.equal(0x40206933); // IOC_OUT only (the real SIOCGIFMTU is _IOWR)
    expect(_IO('darwin', 'f', 1)).to.equal(0x20006601); // FIOCLEX
  });

  it('rejects sizes that do not fit the Linux size field', () => {
    expect(() => _IOW('linux', 'T', 1, 1 << 14)).to.throw(RangeError);
  });
});
