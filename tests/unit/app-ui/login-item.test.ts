import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { desktopEntry, desktopEntryEnabled, desktopValue, execArg } from '../../../app/login/desktop-entry';
import { launchAgentPlist, xmlEscape } from '../../../app/login/launch-agent';
import { loginCommand } from '../../../app/login/login-item';
import {
  darwinMechanism,
  LaunchAgentLoginItem,
  loginStatusFromSm,
} from '../../../app/login/login-item.darwin';
import { autostartPath, XdgAutostart } from '../../../app/login/login-item.linux';
import { boolFromRegister, msgSendDecl, newOutPointer, readOutPointer } from '../../../app/login/objc';

describe('start at login', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyvnet-login-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('macOS LaunchAgent plist', () => {
    it('is the property list launchd expects, arguments escaped', () => {
      const xml = launchAgentPlist({
        label: 'net.keyvnet.KeyVNet.login',
        programArguments: ['/Applications/Key & VNet.app/Contents/MacOS/KeyVNet', '--x=<"a">'],
      });
      expect(xml).to.equal(
        [
          '<?xml version="1.0" encoding="UTF-8"?>',
          '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
          '<plist version="1.0">',
          '<dict>',
          '\t<key>Label</key>',
          '\t<string>net.keyvnet.KeyVNet.login</string>',
          '\t<key>ProgramArguments</key>',
          '\t<array>',
          '\t\t<string>/Applications/Key &amp; VNet.app/Contents/MacOS/KeyVNet</string>',
          '\t\t<string>--x=&lt;&quot;a&quot;&gt;</string>',
          '\t</array>',
          '\t<key>RunAtLoad</key>',
          '\t<true/>',
          '\t<key>KeepAlive</key>',
          '\t<false/>',
          '\t<key>LimitLoadToSessionType</key>',
          '\t<string>Aqua</string>',
          '\t<key>ProcessType</key>',
          '\t<string>Interactive</string>',
          '</dict>',
          '</plist>',
          '',
        ].join('\n'),
      );
    });

    it('refuses what XML cannot carry and bad labels', () => {
      expect(() => xmlEscape('a\u0001b')).to.throw(/control character/);
      expect(xmlEscape("it's")).to.equal('it&apos;s');
      expect(() => launchAgentPlist({ label: 'a b', programArguments: ['/x'] })).to.throw(/label/);
      expect(() => launchAgentPlist({ label: 'a', programArguments: [] })).to.throw(/program/);
    });

    it('the LaunchAgent file is the state', () => {
      const path = join(dir, 'LaunchAgents', 'net.keyvnet.KeyVNet.login.plist');
      const item = new LaunchAgentLoginItem(path, ['/opt/keyvnet/run-app.sh']);
      expect(item.status()).to.equal('disabled');
      item.setEnabled(true);
      expect(item.status()).to.equal('enabled');
      expect(readFileSync(path, 'utf8')).to.include('<string>/opt/keyvnet/run-app.sh</string>');
      item.setEnabled(false);
      expect(item.status()).to.equal('disabled');
      item.setEnabled(false); // idempotent
    });

    it('SMAppService on macOS 13+ inside a bundle, the LaunchAgent otherwise', () => {
      const bundle = '/Applications/KeyVNet.app/Contents/MacOS/KeyVNet';
      expect(darwinMechanism('22.1.0', bundle)).to.equal('sm-app-service');
      expect(darwinMechanism('24.0.0', bundle)).to.equal('sm-app-service');
      expect(darwinMechanism('21.6.0', bundle)).to.equal('launch-agent'); // macOS 12
      expect(darwinMechanism('23.0.0', '/usr/local/bin/node')).to.equal('launch-agent');
      expect([0, 1, 2, 3, 9].map(loginStatusFromSm)).to.deep.equal([
        'disabled',
        'enabled',
        'requires-approval',
        'disabled',
        'disabled',
      ]);
    });

    it('objc_msgSend prototypes: self and _cmd first; BOOL from its low byte; NSError** out', () => {
      expect(msgSendDecl('bool', ['out-ptr'])).to.deep.equal({
        ret: 'bool',
        params: ['id', 'sel', 'out-ptr'],
      });
      expect(msgSendDecl('long', [])).to.deep.equal({ ret: 'long', params: ['id', 'sel'] });
      expect(() => msgSendDecl('out-ptr', [])).to.throw();
      expect(boolFromRegister(1)).to.equal(true);
      expect(boolFromRegister(0x7fffff00)).to.equal(false); // garbage above the byte
      const out = newOutPointer();
      expect(readOutPointer(out)).to.equal(0n);
      out.writeBigInt64LE(-0x7ffffffffffffff0n); // a tagged pointer keeps its high bit
      expect(readOutPointer(out)).to.equal(-0x7ffffffffffffff0n);
    });
  });

  describe('Linux XDG autostart', () => {
    it('escapes Exec arguments on both levels and field codes', () => {
      expect(execArg('/usr/bin/keyvnet')).to.equal('/usr/bin/keyvnet');
      expect(execArg('/opt/My Apps/run.sh')).to.equal('"/opt/My Apps/run.sh"');
      expect(execArg('a"b$c`d\\e')).to.equal('"a\\"b\\$c\\`d\\\\e"');
      expect(execArg('100%')).to.equal('100%%');
      expect(execArg('')).to.equal('""');
      expect(desktopValue(' a\\b\n')).to.equal('\\sa\\\\b\\n');
      const entry = desktopEntry({
        name: 'KeyVNet',
        comment: 'VNet',
        exec: ['/opt/My Apps/run-app.sh', 'a\\b'],
        icon: '/opt/k.png',
      });
      // Exec's quoting backslash is escaped again as a string value: "a\\b" becomes "a\\\\b".
      expect(entry).to.include('Exec="/opt/My Apps/run-app.sh" "a\\\\\\\\b"\n');
      expect(entry.startsWith('[Desktop Entry]\nType=Application\nName=KeyVNet\n')).to.equal(true);
      expect(() => desktopEntry({ name: 'a', comment: 'b', exec: ['x\ny'], icon: 'i' })).to.throw(/lines/);
    });

    it('reads Hidden and X-GNOME-Autostart-enabled like a desktop session', () => {
      expect(desktopEntryEnabled('[Desktop Entry]\nExec=x\n')).to.equal(true);
      expect(desktopEntryEnabled('[Desktop Entry]\nHidden=true\n')).to.equal(false);
      expect(desktopEntryEnabled('[Desktop Entry]\nX-GNOME-Autostart-enabled=false\n')).to.equal(false);
      expect(desktopEntryEnabled('[Desktop Entry]\nExec=x\n[Other]\nHidden=true\n')).to.equal(true);
    });

    it('the file is the state: written whole, removed, read back', () => {
      const path = autostartPath({ XDG_CONFIG_HOME: join(dir, 'cfg') }, '/home/x');
      expect(path).to.equal(join(dir, 'cfg', 'autostart', 'keyvnet.desktop'));
      expect(autostartPath({ XDG_CONFIG_HOME: 'relative' }, '/home/x')).to.equal(
        '/home/x/.config/autostart/keyvnet.desktop',
      );
      const item = new XdgAutostart(path, ['/opt/keyvnet/scripts/run-app.sh'], '/opt/k.png');
      expect(item.status()).to.equal('disabled');
      item.setEnabled(true);
      expect(item.status()).to.equal('enabled');
      expect(readFileSync(path, 'utf8')).to.include('Exec=/opt/keyvnet/scripts/run-app.sh\n');
      expect(statSync(path).mode & 0o777).to.equal(0o644);
      // A user who disabled it in their desktop's settings sees it unchecked.
      writeFileSync(path, readFileSync(path, 'utf8').replace('enabled=true', 'enabled=false'));
      expect(item.status()).to.equal('disabled');
      item.setEnabled(false);
      expect(item.status()).to.equal('disabled');
    });

    it('starts the bundle executable when packaged, the launcher from a checkout', () => {
      expect(loginCommand('/Applications/KeyVNet.app/Contents/MacOS/KeyVNet', '/r')).to.deep.equal([
        '/Applications/KeyVNet.app/Contents/MacOS/KeyVNet',
      ]);
      expect(loginCommand('/usr/bin/node', '/r')).to.deep.equal(['/r/scripts/run-app.sh']);
    });
  });
});
