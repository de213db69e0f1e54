// Parsers of the system's DNS configuration (resolv.conf, resolvectl, scutil --dns).
import { expect } from 'chai';
import {
  defaultScutilServers,
  excludeSelf,
  parseResolvConf,
  parseResolvectlDns,
  parseScutilDns,
} from '../../../systemext/dns/system-config-parse';

describe('dns: system configuration parsers', () => {
  it('reads nameserver lines from resolv.conf, ignoring comments and junk', () => {
    const text = [
      '# generated',
      'search corp.example',
      'nameserver 10.0.0.2',
      'nameserver fe80::1%eth0 ; scoped',
      'nameserver   192.168.1.1   # trailing',
      '; nameserver 9.9.9.9',
      'nameserver not-an-ip',
      'options edns0',
    ].join('\n');
    expect(parseResolvConf(text)).to.deep.equal(['10.0.0.2', 'fe80::1', '192.168.1.1']);
  });

  it('reads resolvectl dns output (global and per link)', () => {
    const text = [
      'Global: 1.1.1.1#cloudflare-dns.com',
      'Link 2 (eth0): 192.168.1.1 fe80::1%2',
      'Link 3 (kvn0):',
    ].join('\n');
    expect(parseResolvectlDns(text)).to.deep.equal(['1.1.1.1', '192.168.1.1', 'fe80::1']);
  });

  it('reads the default resolver of scutil --dns and skips per-domain and scoped ones', () => {
    const text = `DNS configuration

resolver #1
  search domain[0] : corp.example
  nameserver[0] : 192.168.1.1
  nameserver[1] : 2001:db8::53
  if_index : 6 (en0)
  flags    : Request A records, Request AAAA records
  reach    : 0x00020002 (Reachable,Directly Reachable Address)

resolver #2
  domain   : corp.test
  nameserver[0] : 100.64.0.2
  port     : 53

resolver #3
  domain   : local
  options  : mdns
  timeout  : 5

DNS configuration (for scoped queries)

resolver #1
  nameserver[0] : 10.99.99.99
`;
    const rs = parseScutilDns(text);
    expect(rs).to.have.length(3);
    expect(rs[1]).to.deep.include({ domains: ['corp.test'], nameservers: ['100.64.0.2'], port: 53 });
    expect(defaultScutilServers(rs)).to.deep.equal([
      { host: '192.168.1.1', port: 53 },
      { host: '2001:db8::53', port: 53 },
    ]);
  });

  it('excludes our own addresses and loopback stubs', () => {
    const ups = ['100.64.0.2', '127.0.0.53', '::1', '10.0.0.1'].map((host) => ({ host, port: 53 }));
    expect(excludeSelf(ups, ['100.64.0.2'])).to.deep.equal([{ host: '10.0.0.1', port: 53 }]);
  });
});
