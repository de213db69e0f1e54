import { expect } from 'chai';
import { planDownDarwin, planResolverDir, planUpDarwin } from '../../../systemext/osconfig/plan.darwin';
import { wantedResolverFiles } from '../../../systemext/osconfig/resolver-dir';
import type { OsConfigRequest, Step } from '../../../systemext/osconfig/types';

const req: OsConfigRequest = {
  tunName: 'utun7',
  mtu: 16384,
  ipv4Range: '100.64.0.0/10',
  ipv6Range: 'fd00:6b76:6e00::/64',
  dnsAddresses: ['100.64.0.2', 'fd00:6b76:6e00::2'],
  zones: ['corp.test'],
};
const argvs = (steps: Step[]) =>
  steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : `${s.kind} ${s.path}`));

describe('osconfig/plan.darwin', () => {
  it('plans ifconfig and route for IPv4 and IPv6', () => {
    expect(argvs(planUpDarwin(req, true))).to.deep.equal([
      'ifconfig utun7 inet 100.64.0.1 100.64.0.1 netmask 255.192.0.0 mtu 16384 up',
      'ifconfig utun7 inet6 fd00:6b76:6e00::1 prefixlen 64',
      'route -n add -net 100.64.0.0/10 -interface utun7',
      'route -n add -inet6 -net fd00:6b76:6e00::/64 -interface utun7',
    ]);
    expect(argvs(planUpDarwin(req, false))).to.have.length(2);
  });
  it('removes routes from the state record', () => {
    const steps = planDownDarwin({
      version: 1,
      platform: 'darwin',
      pid: 1,
      tunName: 'utun7',
      addresses: [],
      routes: ['100.64.0.0/10', 'fd00::/64'],
      resolver: 'resolver-files',
    });
    expect(argvs(steps)).to.deep.equal([
      'route -n delete -net 100.64.0.0/10 -interface utun7',
      'route -n delete -inet6 -net fd00::/64 -interface utun7',
    ]);
  });
  it('writes only missing or changed resolver files and removes stale ones of ours', () => {
    const wanted = wantedResolverFiles(['corp.test', 'new.test'], req.dnsAddresses);
    const stale = wantedResolverFiles(['old.test'], req.dnsAddresses).get('old.test')!;
    const existing = new Map([
      ['corp.test', wanted.get('corp.test')!],
      ['old.test', stale],
      ['user.test', 'nameserver 1.1.1.1\n'],
    ]);
    expect(argvs(planResolverDir('/etc/resolver', existing, wanted))).to.deep.equal([
      'write /etc/resolver/new.test',
      'remove /etc/resolver/old.test',
    ]);
  });
});
