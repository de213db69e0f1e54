// The menu-bar app: tray icon + prompts, wired to (for now) placeholder agent actions.
// Loaded lazily by app/main.ts in GUI mode only, so nothing here may run at import time.
import type { Purpose } from '../fido/api';
import { GuiPrompter } from './prompts';
import { loadNodeGui, trayStatus } from './qt-runtime';
import { Tray, type TrayState } from './tray';

export interface GuiOptions {
  /** Print machine-readable `KEYVNET-UI {json}` lines on stdout and exit after this many seconds
   *  or when stdin closes (tests, scripts). */
  probeSeconds: number | null;
  /** Show the touch window, then the PIN dialog (to look at them). */
  demoPrompts: boolean;
}

export const PROBE_PREFIX = 'KEYVNET-UI ';

export function probeLine(event: string, fields: Record<string, unknown> = {}): string {
  return PROBE_PREFIX + JSON.stringify({ event, ...fields });
}

export function runGui(opts: GuiOptions): void {
  const qt = loadNodeGui();
  // A menu-bar app has no main window: closing a prompt must not end it.
  qt.QApplication.instance().setQuitOnLastWindowClosed(false);

  const state: TrayState = { status: 'VNet: not connected', connected: false, startAtLogin: false };
  const tray = new Tray(qt, state);
  const prompter = new GuiPrompter(qt, tray);
  const probe = (event: string, fields?: Record<string, unknown>): void => {
    if (opts.probeSeconds !== null) console.log(probeLine(event, fields));
  };
  const quit = (code: number): never => {
    tray.hide();
    // QApplication::quit() only ends exec(), which the qode stand-in never runs: exit Node.
    process.exit(code);
  };

  tray.on('connect', () => {
    probe('action', { name: 'connect' });
    // Placeholder until the daemon link exists: say so rather than pretend.
    console.error('keyvnet: connect requested (the daemon link is not wired yet)');
    state.status = 'VNet: not connected (no daemon link yet)';
    tray.update(state);
  });
  tray.on('disconnect', () => {
    probe('action', { name: 'disconnect' });
    console.error('keyvnet: disconnect requested');
  });
  tray.on('start-at-login', (enabled) => {
    probe('action', { name: 'start-at-login', enabled });
    state.startAtLogin = enabled; // placeholder hook: not persisted yet (launchd / XDG autostart)
    console.error(`keyvnet: start at login ${enabled ? 'enabled' : 'disabled'} (not persisted yet)`);
  });
  tray.on('menu-shown', () => probe('menu-shown'));
  tray.on('menu-hidden', () => probe('menu-hidden'));
  tray.on('quit', () => {
    probe('exit', { reason: 'quit' });
    quit(0);
  });
  process.on('SIGINT', () => quit(130));
  process.on('SIGTERM', () => quit(143));

  tray.show();
  if (opts.probeSeconds !== null) startProbe(tray, opts.probeSeconds, quit);
  if (opts.demoPrompts) void demoPrompts(prompter, probe);
}

/** Report, once, when the icon is really in a tray; then wait for stdin to close or time out. */
function startProbe(tray: Tray, seconds: number, quit: (code: number) => never): void {
  let reported = false;
  const poll = setInterval(() => {
    const status = trayStatus();
    // Without the stand-in (macOS, NodeGui's qode) the menu bar is always there.
    const available = status === null || status.available;
    const embedded = status === null || status.x11Icons.some((i) => i.visible && i.exposed);
    if (!reported && available && tray.isVisible() && embedded) {
      reported = true;
      clearInterval(poll);
      console.log(probeLine('tray-visible', { available, icons: status?.x11Icons ?? [] }));
    }
  }, 100);
  const deadline = setTimeout(() => {
    console.log(probeLine('exit', { reason: 'timeout', trayVisible: reported }));
    quit(reported ? 0 : 3);
  }, seconds * 1000);
  process.stdin.on('end', () => {
    clearInterval(poll);
    clearTimeout(deadline);
    console.log(probeLine('exit', { reason: 'stdin-closed', trayVisible: reported }));
    quit(reported ? 0 : 3);
  });
  process.stdin.resume();
  console.log(probeLine('started', { pid: process.pid }));
}

async function demoPrompts(
  prompter: GuiPrompter,
  probe: (event: string, fields?: Record<string, unknown>) => void,
): Promise<void> {
  const keyLabel = 'KeyVNet virtual key';
  const purpose: Purpose = {
    what: 'ssh-login',
    bastion: 'corp',
    host: 'bastion.corp.example.com',
    user: 'alice',
    requester: 'daemon',
  };
  const signal = new AbortController().signal;
  const touch = { requestId: 1, keyLabel, purpose, signal, fingerprint: false };
  prompter.touchNeeded(touch);
  probe('touch-window', prompter.visiblePrompts());
  await new Promise((r) => setTimeout(r, 3000));
  prompter.touchDone(touch);
  probe('touch-done', prompter.visiblePrompts());
  const pending = prompter.askPin({ requestId: 2, keyLabel, purpose, signal, retriesLeft: 3 });
  probe('pin-dialog');
  const pin = await pending;
  // Never print the PIN itself.
  console.error(
    `keyvnet: demo PIN dialog ${pin === null ? 'cancelled' : `gave ${[...pin].length} characters`}`,
  );
  probe('pin-result', { cancelled: pin === null, length: pin === null ? 0 : [...pin].length });
}
