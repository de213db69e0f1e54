// The menu-bar app for real, end to end: app/main.ts (the GUI, with the qode stand-in) runs in the
// laptop namespace of tests/helpers/topology.ts next to the real root daemon, on an Xvfb display
// with trayer as its tray (X11's socket is a file: reachable from any network namespace), with the
// virtual security key touched "by hand" through --virtual-key-control. curl in the laptop namespace
// reaches intranet apps by name through a real sshd; the test clicks and types with xdotool and reads
// what is on screen from the app's --ui-probe lines. Screenshots: test-artifacts/vnet-*.png.
// Needs root (netns) and Xvfb, trayer, xdotool (skips with the reason otherwise; CI must run it).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctap2SecurityKey } from '../../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../app/fido/testing';
import { enrollSkKey } from '../../app/ssh/enroll';
import { writePrivateKeyFile } from '../../app/ssh/keyfile';
import { authorizedKeysLine, type SkKey } from '../../app/ssh/keys';
import { requireNetns, requireOrSkip } from '../helpers/privileges';
import { ADDR, ECHO_PORT, HTTP_PORT, PAGE, Topology } from '../helpers/topology';
import { virtualKeyControl } from '../helpers/virtual-user';
import { VNetStack } from '../helpers/vnet-stack';
import { keyvnetIn } from './cli-run';
import {
  AppRun,
  ROOT,
  stopProcess,
  VirtualDisplay,
  whyNoGui,
  type ProbeEvent,
} from './fixtures/app/gui-session';

const PIN = '4711';
const WRONG_PIN = '9999';
/** Hang-guard of the waits written here (the fixtures have their own): never a speed assertion. */
const GUARD_MS = 60_000;

async function enrollKeys(statePath: string): Promise<{ touch: SkKey; pin: SkKey }> {
  const va = new VirtualAuthenticator({ statePath, pin: PIN, touch: { mode: 'auto' } });
  const prompter = { askPin: async () => PIN, touchNeeded: () => undefined, touchDone: () => undefined };
  const sk: Ctap2SecurityKey = await openVirtualSecurityKey(va, prompter);
  try {
    const ctx = { purpose: { what: 'enroll' as const, requester: 'app' as const } };
    const touch = (await enrollSkKey(sk, { comment: 'gui touch key' }, ctx)).key;
    const pin = (await enrollSkKey(sk, { comment: 'gui pin key', verifyRequired: true }, ctx)).key;
    return { touch, pin };
  } finally {
    await sk.close();
    va.unplug();
  }
}

function configText(keyPath: string, pinKeyPath: string, hostKey: string): string {
  const bastion = (name: string, key: string, extra = ''): string =>
    `[[bastion]]\nname = "${name}"\nhost = "${ADDR.bastionOuter}"\nuser = "root"\nkey = "${key}"\n` +
    `host_keys = ["${hostKey}"]\n${extra}\n`;
  const zone = (suffix: string, b: string): string => `[[zone]]\nsuffix = "${suffix}"\nbastion = "${b}"\n\n`;
  const app = (name: string, port: number, desc = ''): string =>
    `[[app]]\nname = "${name}"\ntarget = "${ADDR.intranet}:${port}"\nports = [${port}]\n` +
    (desc ? `description = "${desc}"\n` : '') +
    '\n';
  return (
    bastion('corp', keyPath) +
    bastion('each', keyPath, 'policy = "connection"') +
    bastion('pin', pinKeyPath) +
    bastion('pineach', pinKeyPath, 'policy = "connection"') +
    zone('corp.test', 'corp') +
    zone('each.test', 'each') +
    zone('pin.test', 'pin') +
    zone('pineach.test', 'pineach') +
    app('hello.corp.test', HTTP_PORT, 'the intranet page') +
    app('echo.corp.test', ECHO_PORT) +
    app('hello.each.test', HTTP_PORT) +
    app('hello.pin.test', HTTP_PORT) +
    app('hello.pineach.test', HTTP_PORT)
  );
}

/** One line to the agent's --virtual-key-control socket; its answer. */
const keyControl = (path: string, command: string): Promise<string> =>
  virtualKeyControl(path, command, GUARD_MS);

describe('menu-bar app with the real daemon, sshd and virtual key (root, Xvfb + trayer)', function () {
  this.timeout(300_000);
  let display: VirtualDisplay | null = null;
  let topo: Topology | null = null;
  let stack: VNetStack | null = null;
  let app: AppRun | null = null;
  let control = '';
  /** The app's control socket: `keyvnet key …` prompts in its windows. */
  let agentControl = '';
  let clicks = 0;

  before(async function () {
    requireNetns(this, 'the menu-bar app end-to-end test');
    requireOrSkip(this, 'the menu-bar app end-to-end test', whyNoGui());
    display = await VirtualDisplay.start();
    display.startTray();
    topo = await Topology.create();
    const home = join(topo.dir, 'user');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    const statePath = join(home, 'virtual-key.json');
    const keys = await enrollKeys(statePath);
    const keyPath = join(home, '.ssh', 'id_ecdsa_sk');
    const pinKeyPath = join(home, '.ssh', 'id_pin_sk');
    writeFileSync(keyPath, writePrivateKeyFile(keys.touch), { mode: 0o600 });
    writeFileSync(pinKeyPath, writePrivateKeyFile(keys.pin), { mode: 0o600 });
    topo.sshd.setAuthorizedKeys([authorizedKeysLine(keys.touch), authorizedKeysLine(keys.pin)]);
    const hostKey = readFileSync(`${topo.sshd.hostKeyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    control = join(topo.dir, 'virtual-key-control.sock');
    stack = new VNetStack(topo.laptop, {
      config: configText(keyPath, pinKeyPath, hostKey),
      tunName: 'kvngui0',
      agentArgs: ['--virtual-key', statePath, '--virtual-touch', 'manual', '--virtual-key-control', control],
    });
    await stack.startDaemon();
    agentControl = join(topo.dir, 'ctl', 'control.sock');
    app = AppRun.attach(
      stack.startGuiAgent(AppRun.env(display), ['--ui-probe=1200', '--agent-socket', agentControl]),
    );
    await app.waitFor('tray-visible');
  });

  after(async () => {
    await app?.kill();
    await stack?.stop();
    await topo?.teardown();
    await display?.stop();
  });

  /** curl in the laptop namespace, IPv4 only (one dial, so one touch per request). */
  function curl(url: string): Promise<{ ok: boolean; out: string }> {
    return stack!.ns.run('curl', ['-4', '-sS', '-m', '90', url], { timeoutMs: 120_000 }).then(
      (r) => ({ ok: true, out: r.stdout }),
      (e: { stderr?: string }) => ({ ok: false, out: e.stderr ?? String(e) }),
    );
  }

  /** The first prompt-windows report since event `from` that satisfies `pred`. */
  function promptWindows(from: number, pred: (e: ProbeEvent) => boolean): Promise<ProbeEvent> {
    return app!.waitUntil('prompt-windows', pred, from);
  }

  async function openMenu(): Promise<void> {
    const icon = ((await app!.waitFor('tray-visible')).icons as { x: number; y: number; width: number }[])[0];
    const shown = app!.count('menu-shown');
    const hidden = app!.count('menu-hidden');
    if (shown > hidden) await app!.waitFor('menu-hidden', shown - 1);
    const button = clicks++ % 2 === 0 ? '1' : '3'; // two clicks of one button could make a double click
    const c = String(icon.x + Math.floor(icon.width / 2));
    await display!.xdotool('mousemove', c, String(icon.y + Math.floor(icon.width / 2)), 'click', button);
    await app!.waitFor('menu-shown', shown);
  }

  async function closeMenu(): Promise<void> {
    const hidden = app!.count('menu-hidden');
    await display!.xdotool('key', 'Escape');
    await app!.waitFor('menu-hidden', hidden);
  }

  /** Clicks the middle of a rectangle the app reported (a Cancel button). */
  async function click(rect: { x: number; y: number; width: number; height: number }): Promise<void> {
    const x = String(rect.x + Math.floor(rect.width / 2));
    const y = String(rect.y + Math.floor(rect.height / 2));
    await display!.xdotool('mousemove', x, y, 'click', '1');
  }

  /** Puts the pointer on the PIN dialog (no window manager: keyboard focus follows it) and types. */
  async function typePin(pin: string): Promise<void> {
    const id = await display!.findWindow('security key PIN');
    const geo = Object.fromEntries(
      (await display!.xdotool('getwindowgeometry', '--shell', id))
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    const cx = Number(geo.X) + Math.floor(Number(geo.WIDTH) / 2);
    const cy = Number(geo.Y) + Math.floor(Number(geo.HEIGHT) / 4);
    await display!.xdotool('mousemove', String(cx), String(cy));
    await display!.xdotool('type', '--delay', '30', pin);
    await display!.xdotool('key', 'Return');
  }

  /** Touches the key (retrying while the key is not yet waiting: the prompt can come first). */
  async function touch(): Promise<void> {
    const end = Date.now() + GUARD_MS;
    for (;;) {
      const answer = await keyControl(control, 'touch');
      if (answer === 'ok') return;
      if (Date.now() > end) throw new Error(`the key never waited for a touch (${answer})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('the tray menu lists the apps of the config with their virtual addresses, VNet on', async () => {
    const m = await app!.waitUntil(
      'menu',
      (e) => e.icon === 'on' && (e.items as { id: string }[]).some((i) => i.id === 'app:hello.pineach.test'),
    );
    const items = m.items as { id: string; text: string; detail?: string }[];
    expect(items.filter((i) => i.id.startsWith('app:')).map((i) => i.text)).to.deep.equal([
      'hello.corp.test',
      'echo.corp.test',
      'hello.each.test',
      'hello.pin.test',
      'hello.pineach.test',
    ]);
    expect(items.find((i) => i.id === 'app:hello.corp.test')?.detail).to.match(/^100\.\d+\.\d+\.\d+$/);
    expect(items.find((i) => i.id === 'status')?.text).to.match(/^VNet on · 5 apps/);
    await openMenu();
    await display!.screenshot('vnet-01-menu-apps', [384, 0, 640, 600]);
    await closeMenu();
  });

  it('curl by name raises the touch prompt; touching the key closes it and the page arrives', async () => {
    const from = app!.events.length;
    const fetched = curl('http://hello.corp.test/');
    const shown = await promptWindows(from, (e) => e.touch === true);
    expect(shown.touchTitle).to.equal(`Touch your security key to connect to corp (${ADDR.bastionOuter})`);
    expect(shown.cancel).to.not.equal(null);
    await app!.waitUntil('menu', (e) => e.icon === 'needs-touch', from);
    await display!.screenshot('vnet-02-touch-prompt');
    await touch();
    await promptWindows(from, (e) => e.touch === false);
    const r = await fetched;
    expect(r.out).to.equal(PAGE);
    await app!.waitUntil('menu', (e) => e.icon === 'on', app!.events.length - 1);
  });

  it('Cancel in the touch window makes the waiting curl fail at once (no timeout)', async () => {
    const from = app!.events.length;
    const fetched = curl('http://hello.each.test/'); // policy "connection": a touch per connection
    const shown = await promptWindows(from, (e) => e.touch === true);
    expect(shown.touchTitle).to.equal(`Touch your security key to connect to each (${ADDR.bastionOuter})`);
    await click(shown.cancel as { x: number; y: number; width: number; height: number });
    await promptWindows(from, (e) => e.touch === false);
    const r = await fetched;
    expect(r.ok).to.equal(false);
    // The connection is reset when the request is cancelled; curl's own 90 s limit never comes.
    expect(r.out).to.not.match(/timed out/i);
    expect(r.out).to.match(/reset|Failed to connect|Couldn't connect|Recv failure|Empty reply/i);
  });

  it('the PIN dialog of a verify-required key: a wrong PIN, then the right one (and a touch)', async () => {
    let from = app!.events.length;
    let fetched = curl('http://hello.pin.test/');
    const first = await promptWindows(from, (e) => (e.dialog as { kind?: string } | null)?.kind === 'pin');
    const dialog = first.dialog as { title: string; warning: string | null };
    expect(dialog.title).to.match(/^Enter the PIN of /);
    expect(dialog.warning).to.equal('8 attempts left.');
    await new Promise((r) => setTimeout(r, 300)); // let it paint (the screenshot only)
    await display!.screenshot('vnet-03-pin-dialog');
    await typePin(WRONG_PIN);
    await promptWindows(from, (e) => e.dialog === null);

    // A wrong PIN is never retried by us: the request fails, and the next one asks again, with
    // one attempt fewer. (Whether the daemon asks again within the same curl or not, the next
    // dialog says 7.)
    from = app!.events.length;
    const again = promptWindows(from, (e) => (e.dialog as { kind?: string } | null)?.kind === 'pin');
    const firstTry = await Promise.race([fetched.then((r) => ({ done: r })), again.then(() => null)]);
    if (firstTry !== null) {
      expect(firstTry.done.ok).to.equal(false);
      fetched = curl('http://hello.pin.test/');
    }
    const second = await again;
    // The dialog after a wrong PIN says so.
    expect((second.dialog as { warning: string }).warning).to.equal('Wrong PIN. 7 tries left.');
    await new Promise((r) => setTimeout(r, 300));
    await display!.screenshot('vnet-04-pin-dialog-retries');
    await typePin(PIN);
    await promptWindows(from, (e) => e.touch === true); // verify-required: PIN and touch
    await touch();
    expect((await fetched).out).to.equal(PAGE);
    expect(app!.stderr.join('\n')).to.not.include(PIN); // the PIN is never logged
  });

  it('two requests at once: one touch window says "1 more waiting"; each touch answers one', async () => {
    const from = app!.events.length;
    // Policy "connection": each of the two connections signs in on its own, so two key requests.
    const both = Promise.all([curl('http://hello.each.test/'), curl('http://hello.each.test/')]);
    const shown = await promptWindows(from, (e) => e.touch === true && e.waiting === '1 more waiting');
    expect(shown.touchTitle).to.equal(`Touch your security key to connect to each (${ADDR.bastionOuter})`);
    // The menu says so too (it is redrawn at most every 200 ms: wait for the report that does).
    await app!.waitUntil(
      'menu',
      (e) =>
        e.icon === 'needs-touch' &&
        (e.items as { id: string; text: string }[]).some(
          (i) => i.id === 'prompts' && i.text === 'Touch your security key (1 more waiting)',
        ),
      from,
    );
    await new Promise((r) => setTimeout(r, 300)); // let it paint (the screenshot only)
    await display!.screenshot('vnet-05-touch-one-more-waiting');
    let mark = app!.events.length;
    await touch();
    // The second request's turn: its own touch window, nothing more waiting behind it.
    await promptWindows(mark, (e) => e.touch === true && e.waiting === null);
    mark = app!.events.length;
    await touch();
    await promptWindows(mark, (e) => e.touch === false && e.dialog === null);
    const [a, b] = await both;
    expect(a.out).to.equal(PAGE);
    expect(b.out).to.equal(PAGE);
  });

  it('Cancel in the PIN dialog fails the waiting curl at once and costs no PIN attempt', async () => {
    // Twice: the second dialog still counts 8 attempts (the right PIN before reset the count).
    for (let round = 0; round < 2; round++) {
      const from = app!.events.length;
      const fetched = curl('http://hello.pineach.test/');
      const shown = await promptWindows(from, (e) => (e.dialog as { kind?: string } | null)?.kind === 'pin');
      expect((shown.dialog as { warning: string }).warning).to.equal('8 attempts left.');
      await click(shown.cancel as { x: number; y: number; width: number; height: number });
      await promptWindows(from, (e) => e.dialog === null);
      const r = await fetched;
      expect(r.ok).to.equal(false);
      expect(r.out).to.not.match(/timed out/i);
    }
  });

  it('no key plugged in: "Insert your security key" (window and notification) until it is plugged in, then the touch', async () => {
    expect(await keyControl(control, 'unplug')).to.equal('ok');
    const from = app!.events.length;
    const fetched = curl('http://hello.each.test/'); // policy "connection": this connection signs in
    const shown = await promptWindows(from, (e) => e.insert === true);
    expect(shown.touchTitle).to.equal(`Insert your security key to connect to each (${ADDR.bastionOuter})`);
    expect(shown.cancel).to.not.equal(null);
    const note = await app!.waitUntil('notification', (e) => e.kind === 'insert', from);
    expect(note.title).to.equal(shown.touchTitle);
    await app!.waitUntil('menu', (e) => e.icon === 'needs-touch', from);
    await new Promise((r) => setTimeout(r, 300)); // let it paint (the screenshot only)
    await display!.screenshot('vnet-06-insert-key');
    expect(await keyControl(control, 'plug')).to.equal('ok');
    const touchShown = await promptWindows(from, (e) => e.touch === true && e.insert !== true);
    expect(touchShown.touchTitle).to.equal(
      `Touch your security key to connect to each (${ADDR.bastionOuter})`,
    );
    await touch();
    expect((await fetched).out).to.equal(PAGE);
  });

  it('Cancel in the "insert your key" window makes the waiting curl fail at once', async () => {
    expect(await keyControl(control, 'unplug')).to.equal('ok');
    try {
      const from = app!.events.length;
      const fetched = curl('http://hello.each.test/');
      const shown = await promptWindows(from, (e) => e.insert === true);
      await click(shown.cancel as { x: number; y: number; width: number; height: number });
      await promptWindows(from, (e) => e.touch === false);
      const r = await fetched;
      expect(r.ok).to.equal(false);
      expect(r.out).to.not.match(/timed out/i);
    } finally {
      expect(await keyControl(control, 'plug')).to.equal('ok');
    }
  });

  it('the status window shows the connection with its bytes', async () => {
    // Through corp's session (touched already; a new session would ask again: touch it then).
    const from = app!.events.length;
    const fetched = curl('http://hello.corp.test/');
    // Only while this curl waits: a touch window of a later test is not this one's to touch.
    let waiting = true;
    promptWindows(from, (e) => waiting && e.touch === true)
      .then(() => touch())
      .catch(() => undefined); // no new session: nothing to touch
    const r = await fetched.finally(() => (waiting = false));
    expect(r.out).to.equal(PAGE);

    await openMenu();
    // From the bottom (Quit, Reload, Open Config, Start at Login, Diagnostics, Status…): the top part
    // changes with the state, these do not.
    expect(app!.lastMenu().navigable.slice(-6)[0]).to.equal('status-window');
    await display!.xdotool('key', ...new Array<string>(6).fill('Up'), 'Return');
    const row = (e: ProbeEvent): string[] | undefined =>
      (e.connections as string[][]).find((c) => c[0] === 'hello.corp.test' && c[5].startsWith('closed'));
    const w = await app!.waitUntil('status-window', (e) => e.visible === true);
    const shown = row(w) ? w : await app!.waitUntil('status-update', (e) => row(e) !== undefined);
    const [, port, , sent, received] = row(shown)!;
    expect(port).to.equal('80');
    // curl's request up, the page (with its headers) down.
    expect(sent).to.match(/^\d+ B$/);
    expect(Number(sent.split(' ')[0])).to.be.greaterThan(50);
    expect(received).to.match(/^\d+ B$/);
    expect(Number(received.split(' ')[0])).to.be.greaterThan(PAGE.length);
  });

  it('an open connection: its client process (curl) and its bytes so far, live while the window is shown', async () => {
    // A long-lived connection: curl's telnet client to the echo app, kept open by its stdin.
    const from = app!.events.length;
    const client = stack!.ns.spawn('curl', ['-4', '-sS', '-N', 'telnet://echo.corp.test:7'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let echoed = '';
    client.stdout!.on('data', (d: Buffer) => (echoed += d.toString()));
    // Only while this connection is set up: a touch window of a later test is not this one's.
    let waiting = true;
    promptWindows(from, (e) => waiting && e.touch === true)
      .then(() => touch())
      .catch(() => undefined);
    try {
      const open = (e: ProbeEvent): string[] | undefined =>
        (e.connections as string[][]).find((c) => c[0] === 'echo.corp.test' && !c[5].startsWith('closed'));
      const seen = await app!.waitUntil(
        'status-update',
        (e) => open(e)?.[2].startsWith('curl (') === true,
        from,
      );
      waiting = false;
      const [, port, proc] = open(seen)!;
      expect(port).to.equal(String(ECHO_PORT));
      expect(proc).to.equal(`curl (${client.pid})`);
      // Bytes while it is open (the daemon counted them only at close before): one line up, echoed
      // down (on top of what curl's telnet option negotiation sent and got back, if anything).
      const bytes = (cell: string): number => (/^\d+ B$/.test(cell) ? Number(cell.split(' ')[0]) : NaN);
      const [sent0, received0] = [bytes(open(seen)![3]), bytes(open(seen)![4])];
      const line = 'live bytes through VNet\n';
      client.stdin!.write(line);
      const live = await app!.waitUntil(
        'status-update',
        (e) => {
          const c = open(e);
          return (
            c !== undefined && bytes(c[3]) >= sent0 + line.length && bytes(c[4]) >= received0 + line.length
          );
        },
        from,
      );
      expect(open(live)![2]).to.equal(`curl (${client.pid})`);
      expect(echoed).to.include('live bytes through VNet');
      await new Promise((r) => setTimeout(r, 300));
      await display!.screenshot('vnet-07-status-window');
    } finally {
      waiting = false;
      await stopProcess(client);
    }
  });

  it('Diagnostics… shows the keyvnet diag report', async () => {
    await openMenu();
    expect(app!.lastMenu().navigable.slice(-5)[0]).to.equal('diagnostics');
    await display!.xdotool('key', ...new Array<string>(5).fill('Up'), 'Return');
    expect(await app!.waitFor('diagnostics')).to.include({ visible: true, running: true });
    await app!.waitUntil('diagnostics', (e) => e.done === true);
    await new Promise((r) => setTimeout(r, 300));
    await display!.screenshot('vnet-08-diagnostics');
  });

  it('keyvnet key enroll and pin change prompt in the app’s touch window and PIN dialog', async () => {
    // The Diagnostics window of the test before is still open: its OK (Return, the pointer on it).
    const diag = await display!.findWindow('^KeyVNet$'); // the only window titled so now
    const geo = Object.fromEntries(
      (await display!.xdotool('getwindowgeometry', '--shell', diag))
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    await display!.xdotool(
      'mousemove',
      String(Number(geo.X) + Math.floor(Number(geo.WIDTH) / 2)),
      String(Number(geo.Y) + Math.floor(Number(geo.HEIGHT) / 2)),
    );
    await display!.xdotool('key', 'Return');
    // No KEYVNET_VIRTUAL_KEY for the command: without the app it would find no key (exit 6).
    const file = join(topo!.dir, 'user', '.ssh', 'id_from_cli');
    let from = app!.events.length;
    const enroll = keyvnetIn(topo!.laptop, ['--agent-socket', agentControl, 'key', 'enroll', '-f', file]);
    const shown = await promptWindows(from, (e) => e.touch === true);
    expect(shown.touchTitle).to.equal('Touch your security key to create an SSH key');
    await new Promise((r) => setTimeout(r, 300)); // let it paint (the screenshot only)
    await display!.screenshot('vnet-08-cli-enroll-touch');
    await touch();
    const e = await enroll;
    expect(e.code, e.stderr).to.equal(0);
    expect(e.stdout).to.contain(`Saved ${file} and ${file}.pub`);
    expect(e.stderr).to.contain('The KeyVNet agent asks: Touch your security key to create an SSH key');

    // The new PIN is asked twice by the app; the command never sees it.
    from = app!.events.length;
    const change = keyvnetIn(topo!.laptop, ['--agent-socket', agentControl, 'key', 'pin', 'change']);
    const titled = (t: RegExp) => (ev: ProbeEvent) =>
      t.test((ev.dialog as { title?: string } | null)?.title ?? '');
    await promptWindows(from, titled(/^Enter the PIN of KeyVNet virtual key$/));
    await typePin(PIN);
    await promptWindows(from, titled(/^Choose a new PIN for KeyVNet virtual key/));
    await new Promise((r) => setTimeout(r, 300));
    await display!.screenshot('vnet-09-cli-new-pin');
    await typePin('24682468');
    await promptWindows(from, titled(/^Enter the new PIN of KeyVNet virtual key again$/));
    await typePin('24682468');
    const c = await change;
    expect(c.code, c.stderr).to.equal(0);
    expect(c.stdout).to.equal('PIN changed on KeyVNet virtual key.\n');
    expect(c.stdout + c.stderr).to.not.contain('24682468');
  });
});

describe('the demo with a display starts the menu-bar app (root, Xvfb + trayer)', function () {
  this.timeout(300_000);
  let display: VirtualDisplay | null = null;

  before(async function () {
    requireNetns(this, 'the demo with the menu-bar app');
    requireOrSkip(this, 'the demo with the menu-bar app', whyNoGui());
    display = await VirtualDisplay.start();
    display.startTray();
  });

  after(async () => {
    await display?.stop();
  });

  it('scripts/demo-product.ts --once: the app in the tray, its touch prompt, the page, one touch', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo-product.ts', '--once'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: display!.env(),
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(code, output).to.equal(0);
      expect(output).to.include('your menu-bar app (look at the tray)');
      expect(output).to.include('[agent] tray: icon shown');
      expect(output).to.include('[agent] status: VNet on · 2 apps (icon on)');
      const curl = output.split('== curl http://hello.corp.test/')[1] ?? '';
      expect(curl).to.include(
        '[agent] prompt: touch Touch your security key to connect to corp (10.201.1.1)',
      );
      expect(curl).to.include('[agent] prompt: done');
      expect(output).to.include('demo: all expected outcomes happened');
    } finally {
      await stopProcess(child);
    }
  });
});
