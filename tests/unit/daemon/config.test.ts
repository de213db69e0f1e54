import { expect } from 'chai';
import { defaultMtu, parseDaemonConfig } from '../../../systemext/daemon-config';

const good = {
  zones: ['corp.test'],
  apps: [{ name: 'hello.corp.test', target: '127.0.0.1:8080', ports: [80, [8000, 8100]] }],
  stateDir: '/run/keyvnet-test',
};

describe('daemon config', () => {
  it('fills defaults and normalises', () => {
    const c = parseDaemonConfig({ ...good, zones: ['Corp.Test.'] });
    expect(c).to.deep.equal({
      range: '100.64.0.0/10',
      ipv6: true,
      zones: ['corp.test'],
      apps: [
        {
          name: 'hello.corp.test',
          target: { host: '127.0.0.1', port: 8080 },
          ports: [80, [8000, 8100]],
          via: 'direct',
        },
      ],
      stateDir: '/run/keyvnet-test',
      mtu: defaultMtu(process.platform),
    });
  });
  it('defaults the MTU per platform (64 KiB Linux, 16 KiB macOS)', () => {
    expect(defaultMtu('linux')).to.equal(65535);
    expect(defaultMtu('darwin')).to.equal(16384);
  });
  it('accepts target forms', () => {
    const t = (target: unknown) =>
      parseDaemonConfig({ ...good, apps: [{ name: 'a.corp.test', target }] }).apps[0].target;
    expect(t('db.internal')).to.deep.equal({ host: 'db.internal' });
    expect(t('[::1]:5432')).to.deep.equal({ host: '::1', port: 5432 });
    expect(t({ host: '10.0.0.1', port: 22 })).to.deep.equal({ host: '10.0.0.1', port: 22 });
  });
  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', [], /^\(config\): expected an object/],
    ['unknown field', { ...good, zone: 'x' }, /^zone: unknown field/],
    ['bad range', { ...good, range: '100.64.0.0/30' }, /^range: .*\/8\.\.\/24/],
    ['bad mtu', { ...good, mtu: 100 }, /^mtu: expected an integer 1280\.\.65535/],
    ['relative stateDir', { ...good, stateDir: 'tmp' }, /^stateDir: must be an absolute path/],
    ['no zones', { ...good, zones: [] }, /^zones: expected a non-empty array/],
    ['bad zone', { ...good, zones: ['a..b'] }, /^zones\[0\]: not a DNS name/],
    [
      'app outside zones',
      { ...good, apps: [{ name: 'x.other.test', target: 'h' }] },
      /^apps\[0\]\.name: .* none of the zones/,
    ],
    [
      'bad target',
      { ...good, apps: [{ name: 'x.corp.test', target: 'h:99999' }] },
      /^apps\[0\]\.target: expected an integer/,
    ],
    [
      'missing target',
      { ...good, apps: [{ name: 'x.corp.test' }] },
      /^apps\[0\]\.target: expected a non-empty string/,
    ],
    [
      'bad port',
      { ...good, apps: [{ name: 'x.corp.test', target: 'h', ports: ['80'] }] },
      /^apps\[0\]\.ports\[0\]: expected a port/,
    ],
    [
      'reversed range',
      { ...good, apps: [{ name: 'x.corp.test', target: 'h', ports: [[90, 80]] }] },
      /reversed/,
    ],
    [
      'via ssh',
      { ...good, apps: [{ name: 'x.corp.test', target: 'h', via: 'bastion' }] },
      /^apps\[0\]\.via: only "direct"/,
    ],
    ['duplicate', { ...good, apps: [good.apps[0], good.apps[0]] }, /^apps\[1\]\.name: duplicate/],
    ['bad tun name', { ...good, tunName: 'a/b' }, /^tunName:/],
  ];
  for (const [what, cfg, re] of bad) {
    it(`rejects ${what} naming the field`, () => {
      expect(() => parseDaemonConfig(cfg)).to.throw(re);
    });
  }
});
