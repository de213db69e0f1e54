// The diag check of the daemon's UDP filter, on `iptables -S` output as the daemon leaves it.
import { expect } from 'chai';
import { missingFilter, udpFilterCheck } from '../../../app/diag/udp-filter';

const V4 = [
  '-P INPUT ACCEPT',
  '-P FORWARD ACCEPT',
  '-P OUTPUT ACCEPT',
  '-N KEYVNET-UDP',
  '-A OUTPUT -j KEYVNET-UDP',
  '-A KEYVNET-UDP -d 100.64.0.2/32 -p udp -m udp --dport 53 -j RETURN',
  '-A KEYVNET-UDP -d 100.64.0.0/10 -p udp -j DROP',
  '',
].join('\n');
const V6 = V4.replace('100.64.0.2/32', 'fd00:6b76:6e00::2/128').replace(
  '100.64.0.0/10',
  'fd00:6b76:6e00::/96',
);

describe('diag: the UDP filter check', () => {
  it('ok when each family jumps to the chain and drops UDP to its range', () => {
    const c = udpFilterCheck([
      { tool: 'iptables', rules: V4, range: '100.64.0.0/10' },
      { tool: 'ip6tables', rules: V6, range: 'fd00:6b76:6e00::/96' },
    ]);
    expect(c.status).to.equal('ok');
    expect(c.id).to.equal('udp-filter');
    expect(c.evidence).to.deep.equal([
      'iptables: UDP to 100.64.0.0/10 is dropped, DNS to VNet let through',
      'ip6tables: UDP to fd00:6b76:6e00::/96 is dropped, DNS to VNet let through',
    ]);
    expect(c.fix).to.equal(null);
  });

  it('warns, saying what is missing, when the jump or the range’s rule is gone', () => {
    expect(missingFilter(V4.replace('-A OUTPUT -j KEYVNET-UDP\n', ''), '100.64.0.0/10')).to.equal(
      'no jump from OUTPUT to KEYVNET-UDP',
    );
    expect(missingFilter(V4, '100.96.0.0/12')).to.equal('KEYVNET-UDP does not drop UDP to 100.96.0.0/12');
    // A DROP of other traffic, or in another chain, does not count.
    expect(missingFilter(V4.replace('-p udp -j DROP', '-p tcp -j DROP'), '100.64.0.0/10')).to.not.equal(null);
    expect(
      missingFilter(
        V4.replace('-A KEYVNET-UDP -d 100.64.0.0/10', '-A OTHER -d 100.64.0.0/10'),
        '100.64.0.0/10',
      ),
    ).to.not.equal(null);
    const c = udpFilterCheck([
      { tool: 'iptables', rules: '-P OUTPUT ACCEPT\n', range: '100.64.0.0/10' },
      { tool: 'ip6tables', rules: V6, range: 'fd00:6b76:6e00::/96' },
    ]);
    expect(c.status).to.equal('warn');
    expect(c.evidence[0]).to.equal('iptables: no jump from OUTPUT to KEYVNET-UDP');
    expect(c.fix).to.contain('turn VNet off and on');
  });

  it('skips when no family could be read (not root)', () => {
    const c = udpFilterCheck([{ tool: 'iptables', rules: null, range: '100.64.0.0/10' }]);
    expect(c.status).to.equal('skip');
    expect(c.evidence).to.deep.equal(['iptables: cannot read the rules (run as root)']);
  });
});
