// The menu-bar app for real: Xvfb + trayer as the desktop, the app started through
// scripts/run-app.sh (the qode stand-in + NodeGui + Debian's Qt), real X input through xdotool.
// The app reports what is on screen with `--ui-probe` lines (see app/ui/gui-app.ts).
// Also, without any X: `--headless` never loads Qt.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { AppRun, ROOT, VirtualDisplay, stopProcess } from './fixtures/app/gui-session';
import { requireOrSkip } from '../helpers/privileges';

const execFileP = promisify(execFile);
const ADDON = join(ROOT, 'node_modules/@nodegui/nodegui/build/Release/nodegui_core.node');
const BUILD = join(ROOT, 'scripts/qode-standin/build.sh');
const MAIN = join(ROOT, 'app/main.ts');
const FORBID_QT = join(__dirname, 'fixtures/app/forbid-nodegui.ts');

function onPath(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let guiCache: string | null | undefined;
/** Why the GUI tests cannot run here, or null when they can. */
function whyNoGui(): string | null {
  if (guiCache !== undefined) return guiCache;
  guiCache = (() => {
    if (process.platform !== 'linux') return `the Xvfb GUI test is Linux-only (this is ${process.platform})`;
    for (const [bin, pkg] of [
      ['Xvfb', 'xvfb'],
      ['trayer', 'trayer'],
      ['xdotool', 'xdotool'],
      ['g++', 'g++'],
      ['pkg-config', 'pkg-config'],
    ]) {
      if (!onPath(bin)) return `${bin} is not installed (apt-get install ${pkg})`;
    }
    if (!existsSync(ADDON)) return `NodeGui's addon is not built (${ADDON}; see scripts/setup.sh)`;
    try {
      execFileSync(BUILD, { stdio: 'pipe' });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      return `the qode stand-in does not build: ${e.stderr?.toString().trim() || e.message}`;
    }
    return null;
  })();
  return guiCache;
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

  it('tray menu: Connect and Start at login emit their events, Quit exits', async () => {
    app = AppRun.start(display!, ['--ui-probe=300']);
    const icon = ((await app.waitFor('tray-visible')).icons as { x: number; y: number; width: number }[])[0];
    const x = String(icon.x + Math.floor(icon.width / 2));
    const y = String(icon.y + Math.floor(icon.width / 2));
    // The menu grabs the keyboard while open: walk it with arrow keys, never with coordinates.
    // Items: status (disabled), Connect, Disconnect (disabled), Start at login, Quit KeyVNet.
    await display!.xdotool('mousemove', x, y, 'click', '3');
    await app.waitFor('menu-shown', 0);
    await display!.xdotool('key', 'Down', 'Return');
    expect(await app.waitFor('action', 0)).to.deep.equal({ event: 'action', name: 'connect' });
    await app.waitFor('menu-hidden', 0); // a click while it closes would only close it

    // A left click opens the menu too. (Two right clicks in a row could make a double click.)
    await display!.xdotool('mousemove', x, y, 'click', '1');
    await app.waitFor('menu-shown', 1);
    await display!.xdotool('key', 'Down', 'Down', 'Return');
    expect(await app.waitFor('action', 1)).to.deep.equal({
      event: 'action',
      name: 'start-at-login',
      enabled: true,
    });
    await app.waitFor('menu-hidden', 1);

    await display!.xdotool('mousemove', x, y, 'click', '3');
    await app.waitFor('menu-shown', 2);
    await display!.xdotool('key', 'Up', 'Return');
    expect(await app.waitFor('exit')).to.include({ reason: 'quit' });
    expect((await app.exit).code).to.equal(0);
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
    expect(stdout).to.include('VNet: not connected');
    expect(stdout).to.include('PIN: 4 characters entered');
    expect(stderr).to.include('Touch your security key');
    expect(stdout + stderr).not.to.include('4321');
  });

  it('--headless: end of input cancels the PIN prompt', async () => {
    const { stdout } = await node(['--headless', '--demo-prompts'], '');
    expect(stdout).to.include('PIN: cancelled');
  });

  it('--headless keeps running until SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', FORBID_QT, MAIN, '--headless'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('VNet: not connected')) resolve();
        });
        child.once('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exit).to.equal(0);
      expect(out).to.include('stopping');
    } finally {
      await stopProcess(child);
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
