import { expect } from 'chai';
import { defaultConfigPath, expandPath } from '../../../app/config/paths';
import { duration, hostName, portSpec, target, ValueError, vnetRange } from '../../../app/config/values';

describe('config: values and paths', () => {
  it('durations: seconds or sshd_config time format', () => {
    expect(duration(0)).to.equal(0);
    expect(duration(30)).to.equal(30);
    expect(duration('45')).to.equal(45);
    expect(duration('8h')).to.equal(28800);
    expect(duration('1h30m')).to.equal(5400);
    expect(duration('1W2d3H4M5s')).to.equal(604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
    for (const bad of [-1, 1.5, '', '8 hours', 'h', '1y', true])
      expect(() => duration(bad)).to.throw(ValueError);
  });

  it('ports and ranges', () => {
    expect(portSpec(443)).to.equal(443);
    expect(portSpec('443')).to.equal(443);
    expect(portSpec('8000-8100')).to.deep.equal([8000, 8100]);
    expect(portSpec(' 1 - 65535 ')).to.deep.equal([1, 65535]);
    expect(portSpec('80-80')).to.equal(80);
    for (const bad of [0, 65536, 80.5, '90-80', '0-10', '1-65536', '80-', '-80', 'http', [80, 90]])
      expect(() => portSpec(bad), String(bad)).to.throw(ValueError);
  });

  it('targets', () => {
    expect(target('grafana.internal:3000')).to.deep.equal({ host: 'grafana.internal', port: 3000 });
    expect(target('Grafana')).to.deep.equal({ host: 'grafana' });
    expect(target('[fd00::1]:22')).to.deep.equal({ host: 'fd00::1', port: 22 });
    expect(target('[fd00::1]')).to.deep.equal({ host: 'fd00::1' });
    expect(target('fd00::1')).to.deep.equal({ host: 'fd00::1' });
    expect(target('10.0.0.1:80')).to.deep.equal({ host: '10.0.0.1', port: 80 });
    for (const bad of ['', ':80', 'h:', 'h:0', 'h:x', '[h]:80', 'a b', 'http://h', 'h:80:90'])
      expect(() => target(bad), bad).to.throw(ValueError);
  });

  it('hosts and the VNet range', () => {
    expect(hostName('Bastion.Example.COM.')).to.equal('bastion.example.com');
    expect(hostName('[::1]')).to.equal('::1');
    expect(() => hostName('a..b')).to.throw(ValueError);
    expect(vnetRange('10.0.0.0/8')).to.equal('10.0.0.0/8');
    expect(vnetRange('100.64.0.0/24')).to.equal('100.64.0.0/24');
    for (const bad of ['10.0.0.0/7', '100.64.0.0/25', '100.64.0.1/10', 'fd00::/8', '100.64/10'])
      expect(() => vnetRange(bad), bad).to.throw(ValueError);
  });

  it('default config path per OS, and ~ / relative paths', () => {
    expect(defaultConfigPath('darwin', {}, '/Users/a')).to.equal(
      '/Users/a/Library/Application Support/KeyVNet/config.toml',
    );
    expect(defaultConfigPath('linux', { XDG_CONFIG_HOME: '/x/cfg' }, '/home/a')).to.equal(
      '/x/cfg/keyvnet/config.toml',
    );
    expect(defaultConfigPath('linux', {}, '/home/a')).to.equal('/home/a/.config/keyvnet/config.toml');
    expect(defaultConfigPath('linux', { XDG_CONFIG_HOME: 'rel' }, '/home/a')).to.equal(
      '/home/a/.config/keyvnet/config.toml',
    );
    expect(expandPath('~', '/h', '/c')).to.equal('/h');
    expect(expandPath('~/.ssh/k', '/h', '/c')).to.equal('/h/.ssh/k');
    expect(expandPath('k', '/h', '/c')).to.equal('/c/k');
    expect(expandPath('/abs/k', '/h', '/c')).to.equal('/abs/k');
  });
});
