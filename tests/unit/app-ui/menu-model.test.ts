import { expect } from 'chai';
import { buildMenu, navigableIds, statusLine, type MenuItem } from '../../../app/ui/menu-model';
import type { QueuedPrompt } from '../../../app/ui/prompt-queue';
import { iconState } from '../../../app/ui/icon-state';
import {
  baseState,
  connectingState,
  errorState,
  offState,
  onState,
} from '../../integration/fixtures/app/agent-states';

const NOW = Date.UTC(2026, 11, 2, 14, 30);

function find(items: MenuItem[], id: string): MenuItem {
  for (const i of items) {
    if ('id' in i && i.id === id) return i;
    if (i.kind === 'submenu') {
      const inner = i.items.find((x) => 'id' in x && x.id === id);
      if (inner) return inner;
    }
  }
  throw new Error(`no item ${id}`);
}

function text(items: MenuItem[], id: string): string {
  const i = find(items, id);
  if (i.kind === 'separator') throw new Error('separator');
  return i.text;
}

const touch: QueuedPrompt = {
  id: 1,
  kind: 'touch',
  keyLabel: 'YubiKey 5',
  title: 'Touch your security key to connect to corp (bastion.corp.example.com)',
  detail: 'Security key: YubiKey 5',
  what: 'Connect to corp (bastion.corp.example.com)',
  bastion: 'corp',
  since: NOW,
};

describe('menu model', () => {
  it('off: a switch to turn VNet on, apps without addresses, the fixed items in order', () => {
    const m = buildMenu({ state: offState(), prompts: [], startAtLogin: false, now: NOW });
    expect(text(m, 'status')).to.equal('VNet off');
    expect(find(m, 'vnet')).to.deep.include({
      text: 'Turn VNet On',
      enabled: true,
      action: { type: 'vnet', on: true },
    });
    expect(find(m, 'app:grafana.corp.example.com')).to.deep.include({
      detail: '',
      action: { type: 'copy', text: 'grafana.corp.example.com' },
    });
    const ids = navigableIds(m);
    expect(ids.slice(-6)).to.deep.equal([
      'status-window',
      'diagnostics',
      'start-at-login',
      'open-config',
      'reload-config',
      'quit',
    ]);
    expect(find(m, 'start-at-login')).to.deep.include({
      checked: false,
      action: { type: 'start-at-login', enabled: true },
    });
    // No connections yet: no section for them.
    expect(m.some((i) => 'id' in i && i.id === 'connections')).to.equal(false);
    // Never two separators in a row, never one first or last.
    m.forEach((i, n) => {
      if (i.kind === 'separator') expect(m[n + 1]?.kind).to.not.equal('separator');
    });
    expect(m[0].kind).to.not.equal('separator');
    expect(m[m.length - 1].kind).to.not.equal('separator');
  });

  it('connecting: the switch turns it off; the status says starting', () => {
    const m = buildMenu({ state: connectingState(NOW), prompts: [], startAtLogin: true, now: NOW });
    expect(text(m, 'status')).to.equal('VNet starting…');
    expect(find(m, 'vnet')).to.deep.include({ text: 'Turn VNet Off', action: { type: 'vnet', on: false } });
    expect(find(m, 'start-at-login')).to.deep.include({
      checked: true,
      action: { type: 'start-at-login', enabled: false },
    });
  });

  it('on: addresses, bastion state with Disconnect, web apps to open, live then recent connections', () => {
    const m = buildMenu({ state: onState(NOW), prompts: [], startAtLogin: false, now: NOW });
    expect(text(m, 'status')).to.equal('VNet on · 4 apps · 2 connections');
    expect(find(m, 'app:grafana.corp.example.com')).to.deep.include({ detail: '100.64.0.2' });
    const corp = find(m, 'bastion:corp');
    expect(corp.kind).to.equal('submenu');
    expect(text(m, 'bastion:corp')).to.match(/^corp — connected since \d\d:\d\d$/);
    expect(text(m, 'bastion:corp:session')).to.equal('Up 16 min · 1 touch · session policy');
    expect(find(m, 'bastion:corp:disconnect')).to.deep.include({
      enabled: true,
      action: { type: 'disconnect-bastion', name: 'corp' },
    });
    expect(text(m, 'bastion:lab')).to.equal('lab — not connected');
    expect(find(m, 'bastion:lab:disconnect')).to.deep.include({ enabled: false });

    const open = find(m, 'open');
    if (open.kind !== 'submenu') throw new Error('not a submenu');
    expect(open.items.map((i) => (i.kind === 'action' ? i.action : null))).to.deep.equal([
      { type: 'open-url', url: 'https://grafana.corp.example.com/' },
      { type: 'open-url', url: 'http://wiki.corp.example.com/' },
      { type: 'open-url', url: 'https://builds.lab.example.net/' },
    ]);
    expect(find(m, 'conn:7')).to.deep.include({
      text: 'grafana.corp.example.com:443',
      detail: '↑ 18 KB  ↓ 2.4 MB',
    });
    expect(find(m, 'conn:5')).to.deep.include({ detail: 'closed 3 min ago' });
  });

  it('error: the reason is shown, bastion errors carry theirs', () => {
    const s = errorState(NOW);
    const m = buildMenu({ state: s, prompts: [], startAtLogin: false, now: NOW });
    expect(text(m, 'status')).to.equal('VNet stopped');
    expect(text(m, 'status-detail')).to.equal('the tun device keyvnet0 disappeared');
    expect(text(m, 'bastion:lab')).to.equal('lab — error: host key changed for jump.lab.example.net');
    expect(text(m, 'bastion:lab:reason')).to.equal('host key changed for jump.lab.example.net');
  });

  it('a waiting touch marks its bastion and says how many more wait', () => {
    const second: QueuedPrompt = { ...touch, id: 2, kind: 'pin', bastion: null };
    const m = buildMenu({ state: onState(NOW), prompts: [touch, second], startAtLogin: false, now: NOW });
    expect(text(m, 'prompts')).to.equal('Touch your security key (1 more waiting)');
    expect(text(m, 'bastion:corp')).to.equal('corp — touch your security key');
  });

  it('no key plugged in: "Insert your security key", its bastion marked, the icon asks for the user', () => {
    const insert: QueuedPrompt = {
      ...touch,
      kind: 'insert',
      title: 'Insert your security key to connect to corp',
    };
    const m = buildMenu({ state: onState(NOW), prompts: [insert], startAtLogin: false, now: NOW });
    expect(text(m, 'prompts')).to.equal('Insert your security key');
    expect(text(m, 'bastion:corp')).to.equal('corp — insert your security key');
    expect(find(m, 'cancel-request')).to.deep.include({ enabled: true });
    expect(iconState(onState(NOW), [insert])).to.equal('needs-touch');
  });

  it('the service down: cannot turn on, says why; unknown login state disables the checkbox', () => {
    const s = {
      ...baseState(),
      daemon: 'unavailable' as const,
      daemonError: 'connect ENOENT /run/keyvnet/agent.sock',
    };
    expect(statusLine(s)).to.deep.equal({
      title: 'KeyVNet service unavailable',
      detail: 'connect ENOENT /run/keyvnet/agent.sock',
    });
    const m = buildMenu({ state: s, prompts: [], startAtLogin: null, now: NOW });
    expect(find(m, 'vnet')).to.deep.include({ enabled: false });
    expect(find(m, 'start-at-login')).to.deep.include({ enabled: false });
  });

  it('long texts are cut for the menu; many apps end with a pointer to Status…', () => {
    const s = baseState();
    s.config.error = `${s.config.path}:12: app[3].ports: "99999" is not a port (1-65535)`;
    s.config.apps = Array.from({ length: 15 }, (_, i) => ({
      name: `app${i}.corp.example.com`,
      via: 'corp',
      ports: [],
      description: null,
      target: 'x',
    }));
    const m = buildMenu({ state: s, prompts: [], startAtLogin: false, now: NOW });
    expect([...text(m, 'config-error')]).to.have.length(64);
    expect(text(m, 'config-error').endsWith('…')).to.equal(true);
    expect(text(m, 'apps-more')).to.equal('3 more in Status…');
    expect(m.filter((i) => i.kind === 'action' && i.id.startsWith('app:'))).to.have.length(12);
  });

  it('a login item waiting for approval says where to allow it', () => {
    const m = buildMenu({
      state: offState(),
      prompts: [],
      startAtLogin: true,
      loginNeedsApproval: true,
      now: NOW,
    });
    expect(text(m, 'login-approval')).to.equal('Allow KeyVNet in System Settings › General › Login Items');
    expect(find(m, 'start-at-login')).to.deep.include({ checked: true });
  });

  it('a prompt on screen can be cancelled from the menu', () => {
    const m = buildMenu({ state: onState(NOW), prompts: [touch], startAtLogin: false, now: NOW });
    expect(text(m, 'prompt-what')).to.equal('Connect to corp (bastion.corp.example.com)');
    expect(find(m, 'cancel-request')).to.deep.include({
      enabled: true,
      action: { type: 'cancel-request', id: 1 },
    });
    expect(navigableIds(m)[0]).to.equal('cancel-request');
  });
});
