import { expect } from 'chai';
import { appUrl, parsePortRange, portAllowed } from '../../../app/ui/app-links';

const app = (ports: string[], description: string | null = null) => ({
  name: 'x.corp.example.com',
  ports,
  description,
});

describe('web apps and their URLs', () => {
  it('reads ports and ranges', () => {
    expect(parsePortRange('80')).to.deep.equal([80, 80]);
    expect(parsePortRange(' 8000 - 8100 ')).to.deep.equal([8000, 8100]);
    for (const bad of ['', 'http', '0', '70000', '90-80', '1-2-3'])
      expect(parsePortRange(bad)).to.equal(null);
    expect(portAllowed(app([]), 22)).to.equal(true);
    expect(portAllowed(app(['8000-8100']), 8080)).to.equal(true);
    expect(portAllowed(app(['8000-8100']), 8443)).to.equal(false);
  });

  it('prefers https and standard ports; a range containing 8080 counts', () => {
    expect(appUrl(app(['80', '443']))).to.equal('https://x.corp.example.com/');
    expect(appUrl(app(['80']))).to.equal('http://x.corp.example.com/');
    expect(appUrl(app(['8443']))).to.equal('https://x.corp.example.com:8443/');
    expect(appUrl(app(['8000-8100']))).to.equal('http://x.corp.example.com:8080/');
    expect(appUrl(app(['5432'], 'has a web UI too'))).to.equal(null); // ports decide when given
  });

  it('an app open on all ports is web only when its description says so', () => {
    expect(appUrl(app([]))).to.equal(null);
    expect(appUrl(app([], 'Postgres'))).to.equal(null);
    expect(appUrl(app([], 'CI web UI'))).to.equal('https://x.corp.example.com/');
    expect(appUrl(app([], 'plain HTTP status page'))).to.equal('http://x.corp.example.com/');
    expect(appUrl({ ...app([], 'HTTPS'), name: 'y.example.com.' })).to.equal('https://y.example.com/');
  });
});
