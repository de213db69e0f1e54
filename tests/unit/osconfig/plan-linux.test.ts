import { expect } from 'chai';
import {
  chooseLinuxResolver,
  ipv6Enabled,
  planDownLinux,
  planResolvConfDown,
  planResolvConfUp,
  planResolvedDown,
  planResolvedUp,
  planUpLinux,
} from '../../../systemext/osconfig/plan.linux';
import type { OsState } from '../../../systemext/osconfig/state';
import type { OsConfigRequest, Step } from '../../../systemext/osconfig/types';

const req: OsConfigRequest = {
  tunName: 'kvn0',
  mtu: 16384,
  ipv4Range: '100.64.0.0/10',
  ipv6Range: 'fd00:6b76:6e00::/64',
  dnsAddresses: ['100.64.0.2', 'fd00:6b76:6e00::2'],
  zones: ['corp.test', 'example.internal.'],
};
const argvs = (steps: Step[]) =>
  steps.map((s) => (s.kind === 'run' ? s.argv.join(' ') : `${s.kind} ${s.path}`));

describe('osconfig/plan.linux', () => {
  it('plans MTU/up, addresses and routes, IPv4 and IPv6', () => {
    expect(argvs(planUpLinux(req, true))).to.deep.equal([
      'ip link set dev kvn0 mtu 16384 up',
      'tc qdisc replace dev kvn0 root fq_codel',
      'ip -4 addr replace 100.64.0.1/10 dev kvn0 noprefixroute',
      'ip -6 addr replace fd00:6b76:6e00::1/64 dev kvn0 noprefixroute nodad',
      'ip -4 route replace 100.64.0.0/10 dev kvn0',
      'ip -6 route replace fd00:6b76:6e00::/64 dev kvn0',
    ]);
  });
  it('plans IPv4 only when IPv6 is off or not requested', () => {
    expect(argvs(planUpLinux(req, false))).to.have.length(4);
    expect(argvs(planUpLinux({ ...req, ipv6Range: null }, true))).to.have.length(4);
  });
  it('fq_codel on the tun may fail (a kernel without sch_fq_codel): skipped with a log line', () => {
    const step = planUpLinux(req, true).find((s) => s.kind === 'run' && s.argv[0] === 'tc');
    expect(step).to.deep.include({ mayFail: true });
  });
  it('detects disabled IPv6 (all or default devices, or no IPv6 in the kernel)', () => {
    expect(ipv6Enabled('0\n', '0\n', true)).to.equal(true);
    expect(ipv6Enabled('1\n', '0\n', true)).to.equal(false);
    expect(ipv6Enabled('0\n', '1\n', true)).to.equal(false);
    expect(ipv6Enabled(null, null, true)).to.equal(true);
    expect(ipv6Enabled('0\n', '0\n', false)).to.equal(false);
  });
  it('undoes from the state record, every step allowed to fail', () => {
    const state: OsState = {
      version: 1,
      platform: 'linux',
      pid: 1,
      tunName: 'kvn0',
      addresses: ['100.64.0.1/10', 'fd00::1/64'],
      routes: ['100.64.0.0/10', 'fd00::/64'],
      resolver: 'none',
    };
    const steps = planDownLinux(state);
    expect(argvs(steps)).to.deep.equal([
      'ip -4 route del 100.64.0.0/10 dev kvn0',
      'ip -6 route del fd00::/64 dev kvn0',
      'ip -4 addr del 100.64.0.1/10 dev kvn0',
      'ip -6 addr del fd00::1/64 dev kvn0',
    ]);
    expect(steps.every((s) => s.kind === 'run' && s.mayFail)).to.equal(true);
  });
  it('chooses the resolver: a netns resolv.conf, then systemd-resolved (host namespace only), else nothing', () => {
    const c = (resolvedRunning: boolean, netnsResolvConf: boolean, inHostNetns: boolean) =>
      chooseLinuxResolver({ resolvedRunning, netnsResolvConf, inHostNetns });
    expect(c(true, true, false)).to.equal('netns-resolv-conf');
    expect(c(true, false, true)).to.equal('systemd-resolved');
    expect(c(true, false, false)).to.equal('none');
    expect(c(false, false, true)).to.equal('none');
  });
  it('plans resolvectl per-link DNS and routing domains', () => {
    expect(argvs(planResolvedUp('kvn0', req.dnsAddresses, req.zones))).to.deep.equal([
      'resolvectl dns kvn0 100.64.0.2 fd00:6b76:6e00::2',
      'resolvectl domain kvn0 ~corp.test ~example.internal',
    ]);
    expect(argvs(planResolvedDown('kvn0'))).to.deep.equal(['resolvectl revert kvn0']);
  });
  it('rewrites resolv.conf in place and restores the exact original', () => {
    const original = 'search lan\nnameserver 10.0.0.53\n';
    const [up] = planResolvConfUp('/etc/resolv.conf', original, req.dnsAddresses);
    expect(up.kind).to.equal('write');
    if (up.kind !== 'write') return;
    const [down] = planResolvConfDown('/etc/resolv.conf', up.content);
    expect(down).to.deep.include({ kind: 'write', path: '/etc/resolv.conf', content: original });
    const [again] = planResolvConfUp('/etc/resolv.conf', up.content, req.dnsAddresses);
    expect(
      again.kind === 'write' && planResolvConfDown('/etc/resolv.conf', again.content)[0],
    ).to.deep.include({
      content: original,
    });
    expect(planResolvConfDown('/etc/resolv.conf', original)).to.deep.equal([]);
    expect(planResolvConfDown('/etc/resolv.conf', null)).to.deep.equal([]);
  });
});
