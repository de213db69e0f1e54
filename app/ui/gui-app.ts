// The menu-bar app: tray icon and menu, status window, prompts and notifications, driven by the
// agent (AgentControl). Loaded lazily by app/main.ts in GUI mode only: nothing here runs at import.
//
// The agent is made by the caller, once the UI's prompter exists (the agent's security-key layer
// prompts through it):
//   runGui(opts, ({ prompter, pinBlocked }) => new AgentCore({ ..., prompter }))
import { EventEmitter } from 'node:events';
import type { Purpose, UserPrompter } from '../fido/api';
import { requestQueue } from '../fido/request-queue';
import { loginItemForPlatform } from '../login/login-item';
import { senderForPlatform } from '../notify/sender';
import type { AgentControl, AgentControlEvents } from './agent-control';
import { APP_ICON_PNG, initialState, MenuBarApp } from './menu-bar-app';
import { PromptTracker, type PromptQueueView } from './prompt-queue';
import { GuiPrompter } from './prompts';
import { loadNodeGui, trayStatus } from './qt-runtime';
import { Tray } from './tray';

export interface GuiOptions {
  /** Print machine-readable `KEYVNET-UI {json}` lines on stdout and exit after this many seconds
   *  or when stdin closes (tests, scripts). */
  probeSeconds: number | null;
  /** Show the touch window, then the PIN dialog (to look at them). */
  demoPrompts: boolean;
}

/** What the UI gives the agent it is about to drive. */
export interface GuiParts {
  /** For the security-key layer: the touch window and PIN dialog, tracked for the icon and menu. */
  prompter: UserPrompter;
  /** The prompts waiting, as the UI sees them (and cancels them). */
  prompts: PromptQueueView;
  /** A key's PIN got blocked (FidoError 'pin-blocked' / 'pin-auth-blocked'): tell the user. */
  pinBlocked(code: string, keyLabel: string): void;
}

export type ConnectAgent = (parts: GuiParts) => AgentControl;

export const PROBE_PREFIX = 'KEYVNET-UI ';

export function probeLine(event: string, fields: Record<string, unknown> = {}): string {
  return PROBE_PREFIX + JSON.stringify({ event, ...fields });
}

/** Until the lead's AgentCore is passed in: says so in the menu instead of pretending. */
class DetachedAgent extends EventEmitter<AgentControlEvents> implements AgentControl {
  constructor() {
    super();
    setImmediate(() =>
      this.emit('state', {
        ...initialState(),
        daemon: 'unavailable',
        daemonError: 'the agent core is not connected to this menu yet',
      }),
    );
  }
  setVNet(): void {
    throw new Error('the agent core is not connected to this menu yet');
  }
  reloadConfig(): void {}
  disconnectBastion(): void {}
  openConfigPath(): string {
    throw new Error('the agent core is not connected to this menu yet');
  }
  stop(): void {}
}

export function runGui(opts: GuiOptions, connectAgent: ConnectAgent = () => new DetachedAgent()): void {
  const qt = loadNodeGui();
  // A menu-bar app has no main window: closing a window must not end it.
  qt.QApplication.instance().setQuitOnLastWindowClosed(false);
  if (process.platform === 'darwin') {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('./dock.darwin') as typeof import('./dock.darwin')).hideDockIcon();
    } catch (err) {
      console.error(`keyvnet: could not hide the Dock icon: ${(err as Error).message}`);
    }
  }

  const probe = (event: string, fields?: Record<string, unknown>): void => {
    if (opts.probeSeconds !== null) console.log(probeLine(event, fields));
  };
  const exit = (code: number): void => {
    tray.hide();
    // QApplication::quit() only ends exec(), which the qode stand-in never runs: exit Node.
    process.exit(code);
  };

  const tray = new Tray(qt);
  // The prompter's own balloon stays off (null tray): notifications come from the policy, so a
  // touch is announced once, through the desktop's service, and withdrawn when answered.
  const gui = new GuiPrompter(qt, null);
  // The process's one request queue (app/fido/request-queue.ts): what waits on the key, cancellable.
  const tracker = new PromptTracker(gui, requestQueue);
  // Cancel in the touch window or a dialog cancels the request itself, as the menu's does.
  gui.onCancel = (id) => tracker.cancel(id);
  gui.onChange = () => probe('prompt-windows', { ...gui.visiblePrompts() });
  tracker.on('change', () => gui.setWaiting(Math.max(0, tracker.list().length - 1)));
  let app: MenuBarApp | null = null;
  const agent = connectAgent({
    prompter: tracker.prompter,
    prompts: tracker,
    pinBlocked: (code, label) => app?.pinBlocked(code, label),
  });
  app = new MenuBarApp({
    qt,
    tray,
    agent,
    prompts: tracker,
    sender: senderForPlatform(tray, APP_ICON_PNG),
    loginItem: loginItemForPlatform(),
    probe,
    exit,
  });
  const running = app;
  process.on('SIGINT', () => void running.quit(130));
  process.on('SIGTERM', () => void running.quit(143));

  tray.show();
  if (opts.probeSeconds !== null) startProbe(tray, opts.probeSeconds, exit);
  if (opts.demoPrompts) void demoPrompts(tracker.prompter, gui, probe);
}

/** Report, once, when the icon is really in a tray; then wait for stdin to close or time out. */
function startProbe(tray: Tray, seconds: number, exit: (code: number) => void): void {
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
    exit(reported ? 0 : 3);
  }, seconds * 1000);
  process.stdin.on('end', () => {
    clearInterval(poll);
    clearTimeout(deadline);
    console.log(probeLine('exit', { reason: 'stdin-closed', trayVisible: reported }));
    exit(reported ? 0 : 3);
  });
  process.stdin.resume();
  console.log(probeLine('started', { pid: process.pid }));
}

async function demoPrompts(
  prompter: UserPrompter,
  gui: GuiPrompter,
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
  probe('touch-window', { ...gui.visiblePrompts() });
  await new Promise((r) => setTimeout(r, 3000));
  prompter.touchDone(touch);
  probe('touch-done', { ...gui.visiblePrompts() });
  const pending = prompter.askPin({ requestId: 2, keyLabel, purpose, signal, retriesLeft: 3 });
  probe('pin-dialog');
  const pin = await pending;
  // Never print the PIN itself.
  console.error(
    `keyvnet: demo PIN dialog ${pin === null ? 'cancelled' : `gave ${[...pin].length} characters`}`,
  );
  probe('pin-result', { cancelled: pin === null, length: pin === null ? 0 : [...pin].length });
}
