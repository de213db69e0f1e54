// The address plan: fixed addresses, stable per-name assignment, collisions, persistence.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressPlan, parseIpv4Cidr } from '../../../systemext/vnet/addresses';
import { loadAddressPlan } from '../../../systemext/vnet/address-store';
import { ipToBytes, ipv4ToInt } from '../../../systemext/net/addr';

describe('vnet address plan', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kvn-addr-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('puts tun at .1, DNS at .2, prefix::1/::2, fake sources in the top /24', () => {
    const p = new AddressPlan({ ipv6Prefix: 'fd12:3456:789a::/48' });
    expect([p.tun4, p.dns4, p.tun6, p.dns6]).to.deep.equal([
      '100.64.0.1',
      '100.64.0.2',
      'fd12:3456:789a::1',
      'fd12:3456:789a::2',
    ]);
    expect(p.fake4(0)).to.equal('100.127.255.0');
    expect(p.fake4(p.fakeCount - 1)).to.equal('100.127.255.254');
    expect(p.ipv6Range).to.equal('fd12:3456:789a::/96');
  });

  it('gives a name the same address in every fresh plan, case-insensitively, v6 = prefix + v4', () => {
    const a = new AddressPlan({ ipv6Prefix: 'fd00:1:2::/48' }).assign('Web.Corp.Test.');
    const b = new AddressPlan({ ipv6Prefix: 'fd00:1:2::/48' }).assign('web.corp.test');
    expect(a).to.deep.equal(b);
    const v4 = ipToBytes(a.v4);
    expect(ipToBytes(a.v6).subarray(12).equals(v4)).to.equal(true);
  });

  it('never hands out tun, DNS, fake or broadcast addresses, even in a /24', () => {
    const p = new AddressPlan({ ipv4Range: '10.9.8.0/24', ipv6Prefix: 'fd00::/48' });
    const seen = new Set<string>();
    for (let i = 0; i < p.fakeStart - 3; i++) seen.add(p.assign(`app${i}.corp.test`).v4);
    expect(seen.size).to.equal(p.fakeStart - 3);
    for (const ip of seen) {
      const off = ipv4ToInt(ip) - ipv4ToInt('10.9.8.0');
      expect(off).to.be.within(3, p.fakeStart - 1);
    }
    expect(() => p.assign('one-too-many.corp.test')).to.throw(/no free address/);
  });

  it('resolves collisions by probing, deterministically, and keeps them across restarts', () => {
    const path = join(dir, 'state.json');
    // In a /24 with 237 app addresses, 40 names are sure to collide somewhere.
    const first = loadAddressPlan(path, '10.1.2.0/24').plan;
    const names = Array.from({ length: 40 }, (_, i) => `svc${i}.corp.test`);
    const got = names.map((n) => first.assign(n).v4);
    expect(new Set(got).size).to.equal(names.length);
    const home = names.map(
      (n) => new AddressPlan({ ipv4Range: '10.1.2.0/24', ipv6Prefix: 'fd00::/48' }).assign(n).v4,
    );
    expect(home.filter((h, i) => h !== got[i]).length, 'some names must have been probed').to.be.greaterThan(
      0,
    );
    // Same order, fresh plan: same result.
    const again = new AddressPlan({ ipv4Range: '10.1.2.0/24', ipv6Prefix: first.ipv6Prefix });
    expect(names.map((n) => again.assign(n).v4)).to.deep.equal(got);
    // Reverse order after a restart: the persisted assignments win over the hash.
    const restarted = loadAddressPlan(path, '10.1.2.0/24').plan;
    expect([...names].reverse().map((n) => restarted.assign(n).v4)).to.deep.equal([...got].reverse());
    expect(restarted.ipv6Prefix).to.equal(first.ipv6Prefix);
    expect(restarted.nameOf(ipToBytes(got[3]))).to.equal(names[3]);
  });

  it('persists a generated ULA prefix and drops assignments when the range changes', () => {
    const path = join(dir, 'state.json');
    const a = loadAddressPlan(path).plan;
    expect(a.ipv6Prefix).to.match(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
    a.assign('x.corp.test');
    const b = loadAddressPlan(path, '10.0.0.0/16').plan;
    expect(b.ipv6Prefix).to.equal(a.ipv6Prefix);
    expect(b.state().apps).to.deep.equal({});
    expect(JSON.parse(readFileSync(path, 'utf8')).ipv4Range).to.equal('10.0.0.0/16');
  });

  it('moves a corrupt state file aside with a warning instead of losing it', () => {
    const path = join(dir, 'state.json');
    writeFileSync(path, '{not json');
    const { plan, warning } = loadAddressPlan(path);
    expect(warning).to.match(/unusable/);
    expect(plan.tun4).to.equal('100.64.0.1');
    expect(readdirSync(dir).some((f) => f.startsWith('state.json.corrupt-'))).to.equal(true);
  });

  it('rejects bad ranges with a clear message', () => {
    expect(() => parseIpv4Cidr('100.64.0.0/25')).to.throw(/\/8\.\.\/24/);
    expect(() => parseIpv4Cidr('100.64.0.1/10')).to.throw(/host bits/);
    expect(() => parseIpv4Cidr('nonsense')).to.throw(/not an IPv4 CIDR/);
    expect(() => new AddressPlan({ ipv6Prefix: '2001:db8::/48' })).to.throw(/ULA/);
  });
});
