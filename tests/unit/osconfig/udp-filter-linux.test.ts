import { expect } from 'chai';
import {
  familiesOf,
  planUdpFilterDown,
  planUdpFilterUp,
  UDP_CHAIN,
} from '../../../systemext/osconfig/udp-filter.linux';
import type { Step } from '../../../systemext/osconfig/types';

const argvs = (steps: Step[]) => steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : s.kind));
const DOWN4 = [
  `iptables -w 5 -D OUTPUT -j ${UDP_CHAIN}`,
  `iptables -w 5 -F ${UDP_CHAIN}`,
  `iptables -w 5 -X ${UDP_CHAIN}`,
];

describe('osconfig/udp-filter.linux', () => {
  it('refuses UDP to each range but DNS to our own address, per family, after removing an old chain', () => {
    const steps = planUdpFilterUp(
      ['100.64.0.0/10', 'fd00:6b76:6e00::/64'],
      ['100.64.0.2', 'fd00:6b76:6e00::2'],
    );
    expect(argvs(steps)).to.deep.equal([
      ...DOWN4,
      ...DOWN4.map((l) => l.replace('iptables', 'ip6tables')),
      `iptables -w 5 -N ${UDP_CHAIN}`,
      `iptables -w 5 -A ${UDP_CHAIN} -p udp -d 100.64.0.2/32 --dport 53 -j RETURN`,
      `iptables -w 5 -A ${UDP_CHAIN} -p udp -d 100.64.0.0/10 -j DROP`,
      `iptables -w 5 -I OUTPUT -j ${UDP_CHAIN}`,
      `ip6tables -w 5 -N ${UDP_CHAIN}`,
      `ip6tables -w 5 -A ${UDP_CHAIN} -p udp -d fd00:6b76:6e00::2/128 --dport 53 -j RETURN`,
      `ip6tables -w 5 -A ${UDP_CHAIN} -p udp -d fd00:6b76:6e00::/64 -j DROP`,
      `ip6tables -w 5 -I OUTPUT -j ${UDP_CHAIN}`,
    ]);
  });

  it('IPv4 only: no ip6tables step', () => {
    const steps = planUdpFilterUp(['100.64.0.0/10'], ['100.64.0.2', 'fd00:6b76:6e00::2']);
    expect(argvs(steps).filter((l) => l.startsWith('ip6tables'))).to.deep.equal([]);
    expect(argvs(steps)).to.include(
      `iptables -w 5 -A ${UDP_CHAIN} -p udp -d 100.64.0.2/32 --dport 53 -j RETURN`,
    );
  });

  it('every step may fail: without iptables VNet still comes up, only unfiltered', () => {
    const all = [...planUdpFilterUp(['100.64.0.0/10'], ['100.64.0.2']), ...planUdpFilterDown([4, 6])];
    expect(all.every((s) => s.kind === 'run' && s.mayFail === true)).to.equal(true);
  });

  it('removes the jump before the chain (a referenced chain cannot be deleted)', () => {
    expect(argvs(planUdpFilterDown([4]))).to.deep.equal(DOWN4);
    expect(planUdpFilterDown([])).to.deep.equal([]);
  });

  it('names the families of the routed ranges once each, v4 first', () => {
    expect(familiesOf(['fd00::/64', '100.64.0.0/10', '10.0.0.0/8'])).to.deep.equal([4, 6]);
    expect(familiesOf([])).to.deep.equal([]);
  });
});
