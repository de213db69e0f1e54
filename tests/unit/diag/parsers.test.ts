import { expect } from 'chai';
import {
  evalIptables,
  evalNft,
  evalPf,
  firewallCheck,
  ifaceMatches,
  pfEnabled,
} from '../../../app/diag/firewall';
import { overlaps, range4, suggestFreeRange } from '../../../app/diag/ipv4';
import {
  lookupCheck,
  parseDscacheutil,
  parseGetent,
  parseResolvectlLink,
  resolvConfCheck,
  resolvedCheck,
  resolverModeCheck,
  scutilCheck,
} from '../../../app/diag/resolver';
import { parseIpJsonRoutes, parseNetstatRoutes, routeCheck } from '../../../app/diag/routes';
import { fingerprintOf, hostKeyAlgorithms, hostKeyCheck, tcpCheck } from '../../../app/diag/bastion';
import * as S from './samples';

describe('diag: IPv4 ranges', () => {
  it('normalises, overlaps and suggests a free range', () => {
    expect(range4('100.100.100.100')).to.include({ cidr: '100.100.100.100/32', prefix: 32 });
    expect(range4('100.65.1.2/10')!.cidr).to.equal('100.64.0.0/10');
    expect(range4('fd00::/64')).to.equal(null);
    expect(range4('1.2.3.4/33')).to.equal(null);
    expect(overlaps(range4('100.64.0.0/10')!, range4('100.127.255.255')!)).to.equal(true);
    expect(overlaps(range4('100.64.0.0/10')!, range4('100.128.0.0/16')!)).to.equal(false);
    const want = range4('100.64.0.0/10')!;
    expect(suggestFreeRange(want, [range4('100.64.0.0/10')!])).to.equal('198.18.0.0/16');
    expect(suggestFreeRange(want, [range4('100.64.0.0/16')!])).to.equal('100.65.0.0/16');
    expect(suggestFreeRange(range4('100.64.0.0/20')!, [])).to.equal('100.64.0.0/20');
  });
});

describe('diag: routes', () => {
  it('reads ip -j route (local, broadcast and default left out; table kept)', () => {
    const routes = parseIpJsonRoutes(S.IP_ROUTES_TAILSCALE);
    expect(routes.map((r) => `${r.dst.cidr} ${r.dev} ${r.table}`)).to.deep.equal([
      '100.64.0.0/10 tailscale0 52',
      '100.100.100.100/32 tailscale0 52',
      '172.17.0.0/16 docker0 main',
      '192.168.1.0/24 wlp2s0 main',
    ]);
    expect(() => parseIpJsonRoutes('oops')).to.throw(/not JSON/);
  });

  it('reads macOS netstat -rn abbreviations', () => {
    const routes = parseNetstatRoutes(S.NETSTAT_TAILSCALE);
    const text = routes.map((r) => `${r.dst.cidr} ${r.dev}`);
    expect(text).to.include.members([
      '100.64.0.0/10 utun4',
      '100.100.100.100/32 utun4',
      '127.0.0.0/8 lo0',
      '127.0.0.1/32 lo0',
      '169.254.0.0/16 en0',
      '192.168.1.0/24 en0',
      '192.168.1.1/32 en0',
      '224.0.0.0/4 en0',
    ]);
    expect(text.some((t) => t.startsWith('default'))).to.equal(false);
  });

  it('Tailscale on Linux: fail, names the interface and suggests a free range', () => {
    const c = routeCheck('100.64.0.0/10', parseIpJsonRoutes(S.IP_ROUTES_TAILSCALE), null);
    expect(c.status).to.equal('fail');
    expect(c.evidence[0]).to.equal(
      '100.64.0.0/10 → tailscale0 (Tailscale, which uses 100.64.0.0/10) (table 52)',
    );
    expect(c.fix).to.contain('range = "198.18.0.0/16"');
  });

  it('Tailscale on macOS: fail on utun4', () => {
    const c = routeCheck('100.64.0.0/10', parseNetstatRoutes(S.NETSTAT_TAILSCALE), 'utun7');
    expect(c.status).to.equal('fail');
    expect(c.evidence).to.deep.equal(['100.64.0.0/10 → utun4 (a VPN)', '100.100.100.100/32 → utun4 (a VPN)']);
  });

  it('healthy: ours on kvn0, a wider route elsewhere is harmless', () => {
    const c = routeCheck('100.64.0.0/10', parseIpJsonRoutes(S.IP_ROUTES_HEALTHY), 'kvn0');
    expect(c.status).to.equal('ok');
    expect(c.evidence).to.deep.equal(['100.64.0.0/10 is routed to kvn0']);
    expect(routeCheck('not-a-range', [], null).status).to.equal('skip');
  });
});

describe('diag: resolver', () => {
  const want = {
    dns: ['100.64.0.2', 'fd00:6b76:6e00::2'],
    zones: ['corp.example.com', 'lab.test'],
    tun: 'kvn0',
  };

  it('reads resolvectl link status with continuation lines', () => {
    expect(parseResolvectlLink(S.RESOLVECTL_LINK)).to.deep.equal({
      dnsServers: ['100.64.0.2', 'fd00:6b76:6e00::2'],
      domains: ['~corp.example.com', '~lab.test'],
    });
    expect(resolvedCheck(S.RESOLVECTL_LINK, want).status).to.equal('ok');
    const reset = resolvedCheck(S.RESOLVECTL_LINK_RESET, want);
    expect(reset.status).to.equal('fail');
    expect(reset.evidence).to.include('zones without a routing domain: corp.example.com, lab.test');
    expect(resolvedCheck(null, want).status).to.equal('fail');
  });

  it('namespace resolv.conf: ours first, or fail', () => {
    expect(resolvConfCheck('# managed by KeyVNet\nnameserver 100.64.0.2\n', want).status).to.equal('ok');
    const c = resolvConfCheck('nameserver 10.0.0.1\n', want);
    expect(c.status).to.equal('fail');
    expect(c.evidence[0]).to.equal('/etc/resolv.conf nameservers: 10.0.0.1');
    expect(resolvConfCheck(null, want).evidence).to.deep.equal(['/etc/resolv.conf is missing']);
    expect(resolverModeCheck('none')!.status).to.equal('warn');
    expect(resolverModeCheck('systemd-resolved')).to.equal(null);
  });

  it('macOS scutil --dns: our resolver per zone; another resolver for a zone fails', () => {
    expect(scutilCheck(S.SCUTIL_DNS, { ...want, zones: ['corp.example.com'] }).status).to.equal('ok');
    const c = scutilCheck(S.SCUTIL_DNS, want);
    expect(c.status).to.equal('fail');
    expect(c.evidence).to.deep.equal([
      'corp.example.com: nameserver 100.64.0.2',
      'lab.test: resolver with 10.0.0.53, not ours',
    ]);
  });

  it('DNS round trip', () => {
    expect(parseGetent(S.GETENT)).to.deep.equal(['100.64.0.5']);
    expect(parseDscacheutil(S.DSCACHEUTIL)).to.deep.equal(['100.64.0.5']);
    const base = {
      zone: 'corp.example.com',
      name: 'grafana.corp.example.com',
      error: null,
      expected: '100.64.0.5',
    };
    expect(lookupCheck({ ...base, addresses: ['100.64.0.5'] }, '100.64.0.0/10').status).to.equal('ok');
    expect(lookupCheck({ ...base, addresses: ['100.64.0.9'] }, '100.64.0.0/10').status).to.equal('warn');
    expect(lookupCheck({ ...base, addresses: ['10.1.2.3'] }, '100.64.0.0/10').status).to.equal('fail');
    const none = lookupCheck({ ...base, addresses: [], error: 'getent exit code 2' }, '100.64.0.0/10');
    expect(none.status).to.equal('fail');
    expect(none.evidence[0]).to.contain('getent exit code 2');
  });
});

describe('diag: firewall', () => {
  it('interface patterns', () => {
    expect(ifaceMatches('kvn+', 'kvn3')).to.equal(true);
    expect(ifaceMatches('kvn*', 'kvn3')).to.equal(true);
    expect(ifaceMatches('kvn0', 'kvn3')).to.equal(false);
  });

  it('iptables: drop policy without an accept for the tun fails; with one it passes', () => {
    const v = evalIptables(S.IPTABLES_DROP_POLICY, 'kvn0')!;
    expect(v).to.include({ result: 'drop', because: 'INPUT policy DROP' });
    const c = firewallCheck([['iptables', v]], 'kvn0');
    expect(c.status).to.equal('fail');
    expect(c.fix).to.contain('iptables -I INPUT -i kvn+ -p tcp -j ACCEPT');
    // IPv6 dropped while IPv4 passes is still a failure: VNet answers AAAA too.
    const mixed = firewallCheck(
      [
        ['iptables', evalIptables(S.IPTABLES_ACCEPT_KVN, 'kvn0')],
        ['ip6tables', evalIptables(S.IPTABLES_DROP_RULE, 'kvn0')],
      ],
      'kvn0',
    );
    expect(mixed.status).to.equal('fail');
    expect(mixed.evidence).to.deep.equal([
      'iptables: -A INPUT -i kvn+ -p tcp -j ACCEPT',
      'ip6tables: -A INPUT -i kvn0 -j DROP',
    ]);
    expect(evalIptables(S.IPTABLES_ACCEPT_KVN, 'kvn0')).to.include({
      result: 'accept',
      because: '-A INPUT -i kvn+ -p tcp -j ACCEPT',
    });
    expect(evalIptables(S.IPTABLES_DROP_RULE, 'kvn0')!.result).to.equal('drop');
    expect(evalIptables(S.IPTABLES_DROP_RULE, 'kvn1')!.result).to.equal('accept');
    expect(evalIptables('', 'kvn0')).to.equal(null);
  });

  it('iptables: conditional drops and jumps are a warning, not a verdict', () => {
    const v = evalIptables(S.IPTABLES_MAYBE, 'kvn0')!;
    expect(v.result).to.equal('unknown');
    expect(v.maybe).to.deep.equal([
      '-A INPUT -s 100.64.0.0/10 -j REJECT --reject-with icmp-port-unreachable',
    ]);
    expect(firewallCheck([['iptables', v]], 'kvn0').status).to.equal('warn');
  });

  it('nft: input base chains', () => {
    expect(evalNft(S.NFT_ACCEPT_KVN, 'kvn0')).to.include({
      result: 'accept',
      because: 'inet filter input: rule 5 (accept)',
    });
    expect(evalNft(S.NFT_DROP_POLICY, 'kvn0')).to.include({
      result: 'drop',
      because: 'ip fw in: policy drop',
    });
    expect(evalNft('{"nftables":[]}', 'kvn0')).to.equal(null);
    expect(evalNft(S.NFT_DROP_POLICY.replaceAll('"family":"ip"', '"family":"ip6"'), 'kvn0')!.result).to.equal(
      'drop',
    );
    expect(evalNft(S.NFT_DROP_POLICY.replaceAll('"family":"ip"', '"family":"bridge"'), 'kvn0')).to.equal(
      null,
    );
    expect(firewallCheck([['nft', null]], 'kvn0').status).to.equal('ok');
  });

  it('pf: last match wins unless quick; groups match utunN', () => {
    expect(pfEnabled(S.PF_INFO_ENABLED)).to.equal(true);
    expect(pfEnabled(S.PF_INFO_DISABLED)).to.equal(false);
    const v = evalPf(S.PF_BLOCK_ALL, 'utun5');
    expect(v).to.include({ result: 'drop', because: 'block drop in all' });
    const c = firewallCheck([['pf', v]], 'utun5');
    expect(c.status).to.equal('fail');
    expect(c.fix).to.contain('pass in quick on utun proto tcp');
    expect(evalPf(S.PF_BLOCK_THEN_PASS_UTUN, 'utun5').result).to.equal('accept');
    expect(evalPf('', 'utun5').result).to.equal('accept');
  });
});

describe('diag: bastion verdicts', () => {
  const b = { name: 'corp', host: 'b.example', port: 22, expectedKeys: [S.ED25519_HOST_KEY], jump: null };
  const blob = Buffer.from(S.ED25519_HOST_KEY.split(' ')[1], 'base64');

  it('asks for the host key types it knows (RSA: the SHA-2 signatures first)', () => {
    expect(hostKeyAlgorithms([S.ED25519_HOST_KEY, 'ssh-rsa AAAA', 'ssh-ed25519 BBBB'])).to.deep.equal([
      'ssh-ed25519',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
  });

  it('host key: match, mismatch, unknown, error', () => {
    expect(hostKeyCheck(b, blob).status).to.equal('ok');
    expect(hostKeyCheck(b, blob).evidence[0]).to.equal(
      `b.example:22 presents ssh-ed25519 ${fingerprintOf(blob)}`,
    );
    const other = Buffer.from(blob);
    other[other.length - 1] ^= 1;
    const bad = hostKeyCheck(b, other);
    expect(bad.status).to.equal('fail');
    expect(bad.evidence[1]).to.equal(`expected ssh-ed25519 ${fingerprintOf(S.ED25519_HOST_KEY)}`);
    const unknown = hostKeyCheck({ ...b, expectedKeys: [] }, blob);
    expect(unknown.status).to.equal('warn');
    expect(unknown.fix).to.contain(`host_keys = ["${S.ED25519_HOST_KEY}"]`);
    expect(hostKeyCheck(b, { error: 'timed out' }).status).to.equal('fail');
  });

  it('reachability: an SSH banner, something else, or an error', () => {
    expect(tcpCheck(b, { banner: 'SSH-2.0-OpenSSH_9.2p1' }).status).to.equal('ok');
    expect(tcpCheck(b, { banner: 'HTTP/1.1 400 Bad Request' }).evidence[0]).to.contain('not an SSH server');
    expect(tcpCheck(b, { error: 'connect ECONNREFUSED' }).status).to.equal('fail');
  });
});
