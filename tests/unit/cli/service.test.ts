import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchdPlist, LAUNCHD_PLIST_PATH, xmlEscape } from '../../../app/cli/service/launchd';
import { systemdQuote, systemdUnit, SYSTEMD_UNIT_PATH } from '../../../app/cli/service/systemd';
import type { ServiceSpec } from '../../../app/cli/service/types';
import { requireOrSkip } from '../../helpers/privileges';
import { run } from './capture';

const spec: ServiceSpec = {
  node: '/usr/bin/node',
  nodeArgs: ['--import', 'file:///opt/key vnet/tsx/loader.mjs'],
  daemonScript: '/opt/key vnet/systemext/main.ts',
  allowUid: 1000,
  socketDir: '/run/keyvnet',
  stateDir: '/var/lib/keyvnet',
};

describe('cli: daemon service files', () => {
  it('systemd unit: quoted ExecStart, restart, SIGTERM, multi-user target', () => {
    const unit = systemdUnit(spec);
    expect(unit).to.contain(
      'ExecStart=/usr/bin/node --import "file:///opt/key vnet/tsx/loader.mjs" "/opt/key vnet/systemext/main.ts" --allow-uid 1000 --socket-dir /run/keyvnet --state-dir /var/lib/keyvnet\n',
    );
    expect(unit).to.contain('KillSignal=SIGTERM\n');
    expect(unit).to.contain('Restart=on-failure\n');
    expect(unit).to.contain('WantedBy=multi-user.target\n');
    expect(systemdQuote('a%b')).to.equal('a%%b');
    expect(systemdQuote('say "hi"')).to.equal('"say \\"hi\\""');
    expect(() => systemdUnit({ ...spec, allowUid: null })).to.throw(/uid/);
  });

  it('systemd-analyze accepts the unit (when installed)', function () {
    let have = true;
    try {
      execFileSync('systemd-analyze', ['--version'], { stdio: 'pipe' });
    } catch {
      have = false;
    }
    requireOrSkip(this, 'systemd-analyze verify', have ? null : 'systemd-analyze is not installed');
    const dir = mkdtempSync(join(tmpdir(), 'kvn-unit-'));
    const file = join(dir, 'keyvnet-daemon.service');
    writeFileSync(file, systemdUnit({ ...spec, node: process.execPath }));
    execFileSync('systemd-analyze', ['verify', '--man=no', file], { stdio: 'pipe' });
  });

  it('launchd plist: escaped arguments, RunAtLoad, KeepAlive unless it exited cleanly', () => {
    const plist = launchdPlist({ ...spec, allowUid: null, daemonScript: '/a&b/<main>.ts' });
    expect(plist).to.contain('<string>com.keyvnet.daemon</string>');
    expect(plist).to.contain('<string>/a&amp;b/&lt;main&gt;.ts</string>');
    expect(plist).not.to.contain('--allow-uid');
    expect(plist).to.match(/<key>RunAtLoad<\/key>\s*<true\/>/);
    expect(plist).to.match(/<key>SuccessfulExit<\/key>\s*<false\/>/);
    expect(launchdPlist(spec)).to.contain('<string>--allow-uid</string>\n    <string>1000</string>');
    expect(xmlEscape('"<&>"')).to.equal('&quot;&lt;&amp;&gt;&quot;');
    let plutil = true;
    try {
      execFileSync('plutil', ['-help'], { stdio: 'pipe' });
    } catch {
      plutil = false;
    }
    if (plutil) {
      const f = join(mkdtempSync(join(tmpdir(), 'kvn-plist-')), 'p.plist');
      writeFileSync(f, plist);
      execFileSync('plutil', ['-lint', f]);
    }
  });

  it('install/uninstall write into a temporary root only, and run no command there', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kvn-root-'));
    const r = await run(['daemon', 'install', '--allow-uid', '1000', '--root', root]);
    expect(r.code, r.stderr).to.equal(0);
    const unit = join(root, SYSTEMD_UNIT_PATH);
    expect(readFileSync(unit, 'utf8')).to.contain('--allow-uid 1000');
    expect(r.stdout).to.contain('to start it: systemctl enable --now keyvnet-daemon.service');
    expect((await run(['daemon', 'uninstall', '--root', root])).code).to.equal(0);
    expect(existsSync(unit)).to.equal(false);
    const mac = await run(['daemon', 'install', '--root', root], {}, 'darwin');
    expect(mac.code, mac.stderr).to.equal(0);
    expect(readFileSync(join(root, LAUNCHD_PLIST_PATH), 'utf8')).to.contain('com.keyvnet.daemon');
    expect((await run(['daemon', 'install', '--allow-uid', 'bob', '--root', root])).code).to.equal(2);
  });
});
