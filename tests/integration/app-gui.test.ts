// The menu-bar app for real: Xvfb + trayer as the desktop, the app started through
// scripts/run-app.sh (the qode stand-in + NodeGui + Debian's Qt), real X input through xdotool.
// The app reports what is on screen with `--ui-probe` lines (see app/ui/gui-app.ts).
// Also, without any X: `--headless` never loads Qt.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import {
  AppRun,
  ROOT,
  VirtualDisplay,
  stopProcess,
  whyNoGui,
  type ProbeEvent,
} from './fixtures/app/gui-session';
import { CONFIG_PATH } from './fixtures/app/agent-states';
import { requireOrSkip } from '../helpers/privileges';

const execFileP = promisify(execFile);
const MAIN = join(ROOT, 'app/main.ts');
const FORBID_QT = join(__dirname, 'fixtures/app/forbid-nodegui.ts');
const AGENT_CORE_APP = join(__dirname, 'fixtures/app/agent-core-gui.ts');

/** Polls a condition (a file another process writes) under a hang-guard. */
async function waitFor(cond: () => boolean, guardMs = 30_000): Promise<void> {
  const end = Date.now() + guardMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The keys that reach menu item `id` from a freshly opened menu (disabled items are skipped). */
function downs(navigable: string[], id: string): string[] {
  const i = navigable.indexOf(id);
  if (i < 0) throw new Error(`${id} is not in the menu: ${navigable.join(', ')}`);
  return new Array<string>(i + 1).fill('Down');
}

describe('app GUI under Xvfb + trayer', function () {
  this.timeout(120_000);
  let display: VirtualDisplay | null = null;
  let app: AppRun | null = null;

  before(async function () {
    requireOrSkip(this, 'app GUI test', whyNoGui());
    display = await VirtualDisplay.start();
    display.startTray();
  });

  afterEach(async () => {
    await app?.kill();
    app = null;
  });

  after(async () => {
    await app?.kill();
    await display?.stop();
  });

  it('shows its icon in the system tray, and exits when stdin closes', async () => {
    app = AppRun.start(display!, ['--ui-probe=300']);
    const shown = await app.waitFor('tray-visible');
    expect(shown.available).to.equal(true);
    const icons = shown.icons as { visible: boolean; exposed: boolean; width: number; height: number }[];
    expect(icons).to.have.length(1);
    expect(icons[0]).to.include({ visible: true, exposed: true });
    expect(icons[0].width).to.be.greaterThan(0);
    expect(icons[0].height).to.be.greaterThan(0);

    app.closeStdin();
    expect(await app.waitFor('exit')).to.include({ reason: 'stdin-closed', trayVisible: true });
    expect((await app.exit).code).to.equal(0);
  });

  it('tray menu without a daemon: says so; Start at login writes the autostart file; Quit exits', async () => {
    app = AppRun.start(display!, ['--ui-probe=300']);
    const icon = ((await app.waitFor('tray-visible')).icons as { x: number; y: number; width: number }[])[0];
    const x = String(icon.x + Math.floor(icon.width / 2));
    const y = String(icon.y + Math.floor(icon.width / 2));
    const menu = await app.waitUntil('menu', (e) =>
      // The real agent core behind it now: no daemon, so it keeps trying (or says it is away).
      (e.items as { id: string; text: string }[]).some(
        (i) => i.text === 'Connecting to the KeyVNet service…' || i.text === 'KeyVNet service unavailable',
      ),
    );
    const nav = menu.navigable as string[];
    // "Turn VNet On" may turn enabled while the agent learns the daemon is away: count from the
    // bottom, where the items stay put.
    expect(nav.slice(-4)).to.deep.equal(['start-at-login', 'open-config', 'reload-config', 'quit']);
    // The menu grabs the keyboard while open: walk it with arrow keys, never with coordinates.
    await display!.xdotool('mousemove', x, y, 'click', '3');
    await app.waitFor('menu-shown', 0);
    await display!.xdotool('key', 'Up', 'Up', 'Up', 'Up', 'Return');
    expect(await app.waitFor('start-at-login')).to.include({ enabled: true });
    const file = join(display!.configHome, 'autostart', 'keyvnet.desktop');
    expect(readFileSync(file, 'utf8')).to.include(`Exec=${join(ROOT, 'scripts', 'run-app.sh')}`);
    await app.waitFor('menu-hidden', 0); // a click while it closes would only close it

    // A left click opens the menu too. (Two right clicks in a row could make a double click.)
    await display!.xdotool('mousemove', x, y, 'click', '1');
    await app.waitFor('menu-shown', 1);
    expect(app.lastMenu().items.find((i) => i.id === 'start-at-login')).to.include({ checked: true });
    await display!.xdotool('key', 'Up', 'Return');
    expect(await app.waitFor('exit')).to.include({ reason: 'quit' });
    expect((await app.exit).code).to.equal(0);
    rmSync(file);
  });

  it("with the real agent core and no daemon: the config's apps, and the menu says it waits for the service", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyvnet-gui-agent-'));
    try {
      const config = join(dir, 'config.toml');
      writeFileSync(
        config,
        '[vnet]\nrange = "100.64.0.0/10"\n\n[[zone]]\nsuffix = "corp.test"\nvia = "direct"\n\n' +
          '[[app]]\nname = "hello.corp.test"\ntarget = "127.0.0.1:8080"\nports = [80]\n',
      );
      app = AppRun.startEntry(display!, AGENT_CORE_APP, [
        config,
        join(dir, 'no-daemon.sock'),
        '--ui-probe=300',
      ]);
      const m = await app.waitUntil('menu', (e) =>
        (e.items as { id: string }[]).some((i) => i.id === 'app:hello.corp.test'),
      );
      const status = (m.items as { id: string; text: string }[]).find((i) => i.id === 'status')?.text;
      expect(status).to.be.oneOf(['Connecting to the KeyVNet service…', 'KeyVNet service unavailable']);
      expect(m.icon).to.be.oneOf(['connecting', 'error']); // VNet is wanted, the service is not there
      app.closeStdin();
      expect(await app.waitFor('exit')).to.include({ reason: 'stdin-closed' });
    } finally {
      await app?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Puts the pointer on the PIN dialog: with no window manager, keyboard focus follows it. */
  async function pointAtPinDialog(): Promise<void> {
    const id = await display!.findWindow('security key PIN');
    const geo = Object.fromEntries(
      (await display!.xdotool('getwindowgeometry', '--shell', id))
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    const cx = Number(geo.X) + Math.floor(Number(geo.WIDTH) / 2);
    const cy = Number(geo.Y) + Math.floor(Number(geo.HEIGHT) / 2);
    await display!.xdotool('mousemove', String(cx), String(cy));
  }

  it('touch window shows and hides; the typed PIN reaches the caller', async () => {
    app = AppRun.start(display!, ['--ui-probe=300', '--demo-prompts']);
    expect(await app.waitFor('touch-window')).to.include({ touch: true });
    expect(await app.waitFor('touch-done')).to.include({ touch: false });
    await app.waitFor('pin-dialog');
    await pointAtPinDialog();
    await display!.xdotool('type', '--delay', '20', '123456');
    await display!.xdotool('key', 'Return');
    expect(await app.waitFor('pin-result')).to.include({ cancelled: false, length: 6 });
    expect(app.stderr.join('\n')).not.to.include('123456'); // the PIN is never logged
  });

  it('Escape on the PIN dialog cancels (null), never a retry', async () => {
    app = AppRun.start(display!, ['--ui-probe=300', '--demo-prompts']);
    await app.waitFor('pin-dialog');
    await pointAtPinDialog();
    await display!.xdotool('key', 'Escape');
    expect(await app.waitFor('pin-result')).to.include({ cancelled: true });
    // A single dialog: the prompter does not ask again by itself.
    expect(app.events.filter((e) => e.event === 'pin-dialog')).to.have.length(1);
  });
});

describe('menu-bar app against an agent the test drives (Xvfb + trayer)', function () {
  this.timeout(120_000);
  let display: VirtualDisplay | null = null;
  let app: AppRun | null = null;
  let clicks = 0;
  /** The menu's part of the screen (top right, under the tray) and the status window's. */
  const MENU_AREA: [number, number, number, number] = [384, 0, 640, 600];

  before(async function () {
    requireOrSkip(this, 'app GUI test', whyNoGui());
    display = await VirtualDisplay.start();
    display.startTray();
    app = AppRun.startFakeAgent(display, ['--ui-probe=600']);
    await app.waitFor('tray-visible');
  });

  after(async () => {
    await app?.kill();
    await display?.stop();
  });

  /** Events before this index came before the last command: a menu report must be newer. */
  let mark = 0;
  function drive(cmd: Record<string, unknown>): void {
    mark = app!.events.length;
    app!.send(cmd);
  }

  /** The first menu report since the last command with this icon (and items). */
  function menuIs(icon: string, pred: (items: { id: string; text: string }[]) => boolean = () => true) {
    return app!.waitUntil(
      'menu',
      (e) => e.icon === icon && pred(e.items as { id: string; text: string }[]),
      mark,
    );
  }

  async function openMenu(): Promise<void> {
    const icon = ((await app!.waitFor('tray-visible')).icons as { x: number; y: number; width: number }[])[0];
    const shown = app!.count('menu-shown');
    const hidden = app!.count('menu-hidden');
    if (shown > hidden) await app!.waitFor('menu-hidden', shown - 1);
    // Alternate the buttons: two clicks of one button in a row could make a double click.
    const button = clicks++ % 2 === 0 ? '1' : '3';
    const c = String(icon.x + Math.floor(icon.width / 2));
    await display!.xdotool('mousemove', c, String(icon.y + Math.floor(icon.width / 2)), 'click', button);
    await app!.waitFor('menu-shown', shown);
  }

  async function choose(id: string, ...then: string[]): Promise<void> {
    await openMenu();
    await display!.xdotool('key', ...downs(app!.lastMenu().navigable, id), ...then, 'Return');
  }

  async function closeMenu(): Promise<void> {
    const hidden = app!.count('menu-hidden');
    await display!.xdotool('key', 'Escape');
    await app!.waitFor('menu-hidden', hidden);
  }

  function agentCall(method: string): Promise<ProbeEvent> {
    return app!.waitUntil('agent-call', (e) => e.method === method);
  }

  it('off: the menu lists the apps of the config without addresses; "Turn VNet On" asks the agent', async () => {
    const m = await menuIs('off', (items) => items.some((i) => i.id === 'app:grafana.corp.example.com'));
    const items = m.items as { id: string; text: string; detail?: string; enabled?: boolean }[];
    expect(items.find((i) => i.id === 'status')?.text).to.equal('VNet off');
    expect(items.find((i) => i.id === 'vnet')).to.include({ text: 'Turn VNet On', enabled: true });
    expect(items.filter((i) => i.id.startsWith('app:')).map((i) => i.text)).to.deep.equal([
      'grafana.corp.example.com',
      'wiki.corp.example.com',
      'db.corp.example.com',
      'builds.lab.example.net',
    ]);
    await openMenu();
    await display!.screenshot('01-menu-off', MENU_AREA);
    await display!.xdotool('key', ...downs(app!.lastMenu().navigable, 'vnet'), 'Return');
    expect((await agentCall('setVNet')).args).to.deep.equal([true]);
  });

  it('connecting, then on: addresses, bastion state, live connections; a click copies the name', async () => {
    drive({ state: 'connecting' });
    const c = await menuIs('connecting');
    expect((c.items as { id: string; text: string }[]).find((i) => i.id === 'status')?.text).to.equal(
      'VNet starting…',
    );
    await openMenu();
    await display!.screenshot('02-menu-connecting', MENU_AREA);
    await closeMenu();

    drive({ state: 'on' });
    const on = await menuIs('on');
    const items = on.items as { id: string; text: string; detail?: string }[];
    expect(items.find((i) => i.id === 'status')?.text).to.equal('VNet on · 4 apps · 2 connections');
    expect(items.find((i) => i.id === 'app:grafana.corp.example.com')?.detail).to.equal('100.64.0.2');
    // The fixture's "since" is minutes ago: just after midnight it was yesterday, shown with its date.
    expect(items.find((i) => i.id === 'bastion:corp')?.text).to.match(
      /^corp — connected since ([A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d$/,
    );
    expect(items.find((i) => i.id === 'conn:7')).to.include({ text: 'grafana.corp.example.com:443' });
    expect(items.find((i) => i.id === 'conn:7')?.detail).to.equal('↑ 18 KB  ↓ 2.4 MB');
    expect(items.find((i) => i.id === 'open:grafana.corp.example.com')?.text).to.equal(
      'https://grafana.corp.example.com/',
    );

    await openMenu();
    await display!.screenshot('03-menu-on', MENU_AREA);
    await display!.xdotool('key', ...downs(app!.lastMenu().navigable, 'app:wiki.corp.example.com'), 'Return');
    expect(await app!.waitFor('copied')).to.include({ text: 'wiki.corp.example.com' });
  });

  it("a bastion's Disconnect, Reload Config, Open Config… and Open in Browser work", async () => {
    // Right opens the bastion's submenu on its first enabled item: Disconnect.
    await choose('bastion:corp', 'Right');
    expect((await agentCall('disconnectBastion')).args).to.deep.equal(['corp']);
    await choose('reload-config');
    await agentCall('reloadConfig');
    await choose('open-config');
    await agentCall('openConfigPath');
    expect(await app!.waitFor('open')).to.include({ target: CONFIG_PATH });
    await choose('open', 'Right'); // Open in Browser › the first web app
    expect(await app!.waitFor('open', 1)).to.include({ target: 'https://grafana.corp.example.com/' });
    await waitFor(() => display!.opened().length === 2);
    expect(display!.opened()).to.deep.equal([CONFIG_PATH, 'https://grafana.corp.example.com/']);
    expect(app!.count('action-failed')).to.equal(0);
  });

  it('Status… shows the apps with addresses, the connections with their bytes, the bastions', async () => {
    await choose('status-window');
    const w = await app!.waitFor('status-window');
    expect(w).to.deep.include({ visible: true, title: 'VNet on · 4 apps · 2 connections' });
    // Two live connections and the one closed recently (with its bytes).
    expect(w.rows).to.deep.equal({ apps: 4, connections: 3, bastions: 2, errors: 0 });
    await new Promise((r) => setTimeout(r, 300)); // let the window paint
    await display!.screenshot('04-status-on');
  });

  it('while the status window is shown, the live connections are asked for; closed (Escape), no more', async () => {
    const from = app!.events.length;
    await choose('status-window');
    await app!.waitUntil('connections-poll', (e) => e.running === true);
    await app!.waitUntil('agent-call', (e) => e.method === 'refreshConnections', from);
    // Escape on the window (no window manager: the keyboard follows the pointer) closes it; the
    // poll stops with it (the same code decides both: `connections-poll` says so).
    const id = await display!.findWindow('KeyVNet Status');
    const geo = Object.fromEntries(
      (await display!.xdotool('getwindowgeometry', '--shell', id))
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    await display!.xdotool(
      'mousemove',
      String(Number(geo.X) + 40),
      String(Number(geo.Y) + Math.floor(Number(geo.HEIGHT) / 2)),
    );
    await display!.xdotool('key', 'Escape');
    await app!.waitUntil('connections-poll', (e) => e.running === false, from);
  });

  it('a touch: the icon says so, a notification asks for it, both go when the key answers', async () => {
    const from = app!.events.length;
    drive({ touch: 'corp' });
    const m = await menuIs('needs-touch');
    const items = m.items as { id: string; text: string }[];
    expect(items.find((i) => i.id === 'prompts')?.text).to.equal('Touch your security key');
    expect(items.find((i) => i.id === 'prompt-what')?.text).to.equal(
      'Connect to corp (bastion.corp.example.com)',
    );
    expect(items.find((i) => i.id === 'bastion:corp')?.text).to.equal('corp — touch your security key');
    expect(await app!.waitUntil('notification', (e) => e.kind === 'touch', from)).to.deep.include({
      title: 'Touch your security key to connect to corp (bastion.corp.example.com)',
      body: 'As user alice\nSecurity key: KeyVNet virtual key\nAsked by KeyVNet for the virtual network',
    });
    await display!.findWindow('KeyVNet');
    await new Promise((r) => setTimeout(r, 1000)); // let it paint
    await display!.screenshot('05-touch-prompt');
    drive({ touchDone: true });
    await app!.waitUntil('notification-withdrawn', () => true, from);
    expect(await app!.waitFor('request-ended')).to.include({ ok: true });
    await menuIs('on', (its) => !its.some((i) => i.id === 'prompts'));
  });

  it('"Cancel This Request" in the menu fails the waiting request at once and closes its prompt', async () => {
    drive({ touch: 'corp' });
    await menuIs('needs-touch');
    await openMenu();
    await display!.screenshot('05b-menu-needs-touch', MENU_AREA);
    await display!.xdotool('key', ...downs(app!.lastMenu().navigable, 'cancel-request'), 'Return');
    expect(await app!.waitFor('request-ended', 1)).to.deep.include({ ok: false });
    await menuIs('on', (its) => !its.some((i) => i.id === 'prompts'));
  });

  it('error: icon, menu and status window say why; notifications for VNet stopped, host key, DNS miss once', async () => {
    const from = app!.events.length;
    drive({ state: 'error' });
    const m = await menuIs('error');
    const items = m.items as { id: string; text: string }[];
    expect(items.find((i) => i.id === 'status')?.text).to.equal('VNet stopped');
    expect(items.find((i) => i.id === 'status-detail')?.text).to.equal('the tun device keyvnet0 disappeared');
    expect(items.find((i) => i.id === 'bastion:lab')?.text).to.equal(
      'lab — error: host key changed for jump.lab.example.net',
    );
    expect(await app!.waitUntil('notification', (e) => e.kind === 'vnet-stopped', from)).to.include({
      title: 'VNet stopped unexpectedly',
    });

    const bastion = {
      name: 'lab',
      state: 'error',
      since: 0,
      reason: 'host key changed for jump.lab.example.net',
      policy: 'connection',
      touches: 0,
      sessions: 0,
    };
    drive({ event: { type: 'bastion-state', bastion } });
    expect(await app!.waitUntil('notification', (e) => e.kind === 'host-key', from)).to.include({
      title: 'Host key changed: lab',
    });
    for (let i = 0; i < 2; i++) drive({ event: { type: 'dns-miss', fqdn: 'nope.corp.example.com', at: 0 } });
    drive({
      event: {
        type: 'refused',
        fqdn: 'db.corp.example.com',
        port: 22,
        code: 'refused',
        reason: 'port 22 is not allowed for db.corp.example.com',
        at: 0,
      },
    });
    await app!.waitUntil('notification', (e) => e.kind === 'refused', from);
    expect(
      app!.events.slice(from).filter((e) => e.event === 'notification' && e.kind === 'dns-miss'),
    ).to.have.length(1);

    await choose('status-window');
    const w = await app!.waitUntil('status-window', (e) => e.title === 'VNet stopped');
    expect(w.rows).to.deep.include({ connections: 1, errors: 2 }); // no live one, the closed one
    await new Promise((r) => setTimeout(r, 300));
    await display!.screenshot('06-status-error');
    await openMenu();
    await display!.screenshot('07-menu-error', MENU_AREA);
    await closeMenu();
  });

  it('Diagnostics… says what is coming; Start at login writes the autostart file; Quit stops the agent', async () => {
    await choose('diagnostics');
    expect(await app!.waitFor('diagnostics')).to.include({ visible: true });
    await new Promise((r) => setTimeout(r, 300));
    await display!.screenshot('08-diagnostics');

    await choose('start-at-login');
    expect(await app!.waitFor('start-at-login')).to.include({ enabled: true });
    const file = join(display!.configHome, 'autostart', 'keyvnet.desktop');
    expect(existsSync(file)).to.equal(true);
    await choose('start-at-login');
    expect(await app!.waitFor('start-at-login', 1)).to.include({ enabled: false });
    expect(existsSync(file)).to.equal(false);

    await choose('quit');
    await agentCall('stop');
    expect(await app!.waitFor('exit')).to.include({ reason: 'quit' });
    expect((await app!.exit).code).to.equal(0);
  });
});

describe('app without Qt', function () {
  this.timeout(60_000);
  const node = (args: string[], input?: string) => {
    const p = execFileP(process.execPath, ['--import', 'tsx', '--import', FORBID_QT, MAIN, ...args], {
      cwd: ROOT,
      timeout: 30_000,
      env: { ...process.env, DISPLAY: '', KEYVNET_QODE_STANDIN: '' },
    });
    p.child.stdin?.end(input ?? '');
    return p;
  };

  it('--headless --version prints the version without loading NodeGui', async () => {
    const { stdout } = await node(['--headless', '--version']);
    expect(stdout.trim()).to.match(/^keyvnet \d+\.\d+\.\d+$/);
  });

  it('--headless prompts on the terminal: a piped PIN is read, never echoed', async () => {
    const { stdout, stderr } = await node(['--headless', '--demo-prompts'], '4321\n');
    expect(stdout).to.include('agent (headless)');
    expect(stdout).to.include('PIN: 4 characters entered');
    expect(stderr).to.include('Touch your security key');
    expect(stdout + stderr).not.to.include('4321');
  });

  it('--headless: end of input cancels the PIN prompt', async () => {
    const { stdout } = await node(['--headless', '--demo-prompts'], '');
    expect(stdout).to.include('PIN: cancelled');
  });

  it('--headless keeps running until SIGTERM', async () => {
    // Its own config directory and no daemon: the agent waits for one (and says so) until stopped.
    const dir = mkdtempSync(join(tmpdir(), 'keyvnet-headless-'));
    const args = [
      '--headless',
      '--config',
      join(dir, 'config.toml'),
      '--daemon-socket',
      join(dir, 'none.sock'),
    ];
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        FORBID_QT,
        MAIN,
        ...args,
        '--ssh-agent-socket',
        'none',
        '--agent-socket',
        'none',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('daemon: connecting')) resolve();
        });
        child.once('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exit).to.equal(0);
      expect(out).to.include('stopping');
    } finally {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GUI mode without the stand-in fails with a clear message, not a crash', async () => {
    try {
      await node([]);
      expect.fail('should have exited non-zero');
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      expect(e.code).to.equal(1);
      expect(e.stderr).to.include('KEYVNET_QODE_STANDIN is not set');
      expect(e.stderr).to.include('--headless');
    }
  });

  it('rejects unknown options with usage', async () => {
    try {
      await node(['--bogus']);
      expect.fail('should have exited non-zero');
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      expect(e.code).to.equal(2);
      expect(e.stderr).to.include('Usage: keyvnet');
    }
  });
});
