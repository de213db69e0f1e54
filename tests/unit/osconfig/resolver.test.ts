import { expect } from 'chai';
import { isOurs, originalFrom, ourResolvConf, upstreamsOf } from '../../../systemext/osconfig/resolv-conf';
import { parseResolvConf } from '../../../systemext/dns/system-config-parse';
import {
  diffResolverDir,
  resolverFileContent,
  RESOLVER_MARKER,
  wantedResolverFiles,
} from '../../../systemext/osconfig/resolver-dir';

const dns = ['100.64.0.2', 'fd00::2'];

describe('osconfig/resolv-conf', () => {
  const original =
    '# from DHCP\nsearch lan corp\nnameserver 10.0.0.53 # primary\n; old\nnameserver 10.0.0.54\noptions ndots:2';

  it('parses nameservers, ignoring comments', () => {
    expect(parseResolvConf(original)).to.deep.equal(['10.0.0.53', '10.0.0.54']);
    expect(parseResolvConf('')).to.deep.equal([]);
  });
  it('points at our DNS, keeps search/options, marks the file and embeds the exact original', () => {
    const ours = ourResolvConf(original, dns);
    const lines = ours.split('\n');
    expect(lines[0]).to.equal('# managed by KeyVNet: do not edit');
    expect(parseResolvConf(ours)).to.deep.equal(dns);
    expect(lines).to.include('search lan corp');
    expect(lines).to.include('options ndots:2');
    expect(isOurs(ours)).to.equal(true);
    expect(originalFrom(ours)).to.equal(original);
  });
  it('never claims a file that is not ours', () => {
    expect(isOurs(original)).to.equal(false);
    expect(originalFrom(original)).to.equal(null);
    expect(originalFrom('# managed by KeyVNet: do not edit\nnameserver 1.2.3.4\n')).to.equal(null);
  });
  it('finds the upstreams in a plain file or in one of ours, never ourselves', () => {
    expect(upstreamsOf(original, dns)).to.deep.equal(['10.0.0.53', '10.0.0.54']);
    expect(upstreamsOf(ourResolvConf(original, dns), dns)).to.deep.equal(['10.0.0.53', '10.0.0.54']);
    expect(upstreamsOf('nameserver 100.64.0.2\n', dns)).to.deep.equal([]);
  });
  it('rewriting our own file again keeps the first original', () => {
    const once = ourResolvConf(original, dns);
    expect(originalFrom(ourResolvConf(originalFrom(once)!, dns))).to.equal(original);
  });
});

describe('osconfig/resolver-dir (macOS /etc/resolver)', () => {
  it('makes a marked file with one nameserver line per address', () => {
    const c = resolverFileContent('corp.test', dns);
    expect(c.split('\n')[0]).to.equal(RESOLVER_MARKER);
    expect(c).to.contain('nameserver 100.64.0.2\nnameserver fd00::2\n');
  });
  it('diffs: write new, rewrite changed ours, keep unchanged, remove stale ours, never touch others', () => {
    const wanted = wantedResolverFiles(['a.test', 'b.test', 'c.test', 'user.test'], dns);
    const existing = new Map([
      ['b.test', wanted.get('b.test')!],
      ['c.test', resolverFileContent('c.test', ['100.64.0.9'])],
      ['old.test', resolverFileContent('old.test', dns)],
      ['user.test', 'nameserver 8.8.8.8\n'],
      ['other.test', 'nameserver 8.8.4.4\n'],
    ]);
    const d = diffResolverDir(existing, wanted);
    expect(d.write.map((w) => w.name)).to.deep.equal(['a.test', 'c.test']);
    expect(d.remove).to.deep.equal(['old.test']);
    expect(d.keep.sort()).to.deep.equal(['b.test', 'other.test', 'user.test']);
  });
  it('normalises zones and rejects names that could escape the directory', () => {
    expect([...wantedResolverFiles(['Corp.Test.'], dns).keys()]).to.deep.equal(['corp.test']);
    expect(() => wantedResolverFiles(['../etc/passwd'], dns)).to.throw(/not a valid DNS name/);
    expect(() => wantedResolverFiles([''], dns)).to.throw(/not a valid DNS name/);
  });
});
