// The menu-bar app's controller: agent state and prompt queue in; tray menu, icon, status window
// and notifications out; menu actions back to the agent. Views are pure models (menu-model.ts,
// status-model.ts, icon-state.ts, ../notify/policy.ts); this file only connects them to Qt.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { AgentState, VNetEvent } from '../agent/state';
import type { LoginItem } from '../login/login-item';
import { NotificationPolicy, type NotifyDecision } from '../notify/policy';
import type { NotificationSender } from '../notify/sender';
import type { AgentControl } from './agent-control';
import { ensureConfigFile } from './config-file';
import { iconState, iconTooltip } from './icon-state';
import { InfoWindow } from './info-window';
import {
  buildMenu,
  DIAGNOSTICS_PLACEHOLDER,
  navigableIds,
  type MenuAction,
  type MenuItem,
} from './menu-model';
import type { PromptQueueView } from './prompt-queue';
import type { NodeGui } from './qt-runtime';
import { buildStatus } from './status-model';
import { StatusWindow } from './status-window';
import { ASSETS_DIR, type Tray } from './tray';

/** At most this often (ms) the menu, icon and status window are redrawn from a stream of states. */
export const MIN_RENDER_MS = 200;

export type Probe = (event: string, fields?: Record<string, unknown>) => void;

/** Until the agent's first 'state': it is on its way to the service. */
export function initialState(): AgentState {
  return {
    daemon: 'connecting',
    daemonError: null,
    wantUp: false,
    vnet: null,
    config: { path: '', error: null, apps: [], bastions: [], zones: [] },
    connections: [],
    recent: [],
    bastions: [],
    errors: [],
    sshAgentSocket: null,
  };
}

/** Menu items flattened for the probe: what a test can see and where the keyboard can go. */
function probeItems(items: readonly MenuItem[]): Array<Record<string, unknown>> {
  return items.flatMap((i): Array<Record<string, unknown>> => {
    if (i.kind === 'separator') return [];
    const own: Record<string, unknown> = { id: i.id, kind: i.kind, text: i.text };
    if (i.kind !== 'submenu' && i.detail) own.detail = i.detail;
    if (i.kind === 'action') {
      own.enabled = i.enabled;
      if (i.checked !== undefined) own.checked = i.checked;
    }
    return i.kind === 'submenu' ? [own, ...probeItems(i.items)] : [own];
  });
}

export interface MenuBarAppDeps {
  qt: NodeGui;
  tray: Tray;
  agent: AgentControl;
  prompts: PromptQueueView;
  sender: NotificationSender;
  loginItem: LoginItem | null;
  probe: Probe;
  /** Ends the process (after the agent stopped). */
  exit: (code: number) => void;
}

export class MenuBarApp {
  private state: AgentState = initialState();
  private readonly policy = new NotificationPolicy();
  private readonly statusWindow: StatusWindow;
  private readonly info: InfoWindow;
  private startAtLogin: boolean | null = null;
  private loginNeedsApproval = false;
  private lastProbe = '';
  private lastStatusProbe = '';
  private ticker: NodeJS.Timeout | null = null;
  /** A vnet/connections request is out (the status window refreshes the live bytes). */
  private refreshing = false;
  /** The status window's connection poll runs (see pollConnections). */
  private polling = false;
  private renderTimer: NodeJS.Timeout | null = null;
  private lastRender = 0;
  private stopping = false;
  /** False until the agent's first state: the placeholder is no "previous" state to compare with. */
  private received = false;

  constructor(private readonly d: MenuBarAppDeps) {
    this.statusWindow = new StatusWindow(d.qt, () => this.act({ type: 'vnet', on: !this.state.wantUp }));
    this.info = new InfoWindow(d.qt, 'KeyVNet');
    this.readStartAtLogin();
    d.agent.on('state', (s) => this.onState(s));
    d.agent.on('event', (e) => this.onEvent(e));
    d.prompts.on('change', () => {
      this.deliver(this.policy.onPrompts(d.prompts.list()));
      this.scheduleRender();
    });
    d.tray.on('action', (a) => this.act(a));
    d.tray.on('menu-shown', () => {
      d.probe('menu-shown');
      // The checkbox shows the real thing, which the user may have changed elsewhere.
      if (this.readStartAtLogin()) this.render();
      this.tick();
    });
    d.tray.on('menu-hidden', () => d.probe('menu-hidden'));
    this.render();
  }

  /** Report a blocked PIN (FidoError 'pin-blocked' / 'pin-auth-blocked') as a notification. */
  pinBlocked(code: string, keyLabel: string): void {
    this.deliver([this.policy.pinBlocked(code, keyLabel)]);
  }

  /** VNet down and the agent stopped (bounded), then exit. */
  async quit(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.d.probe('exit', { reason: 'quit' });
    const deadline = new Promise<void>((r) => setTimeout(r, 5000).unref());
    try {
      await Promise.race([Promise.resolve(this.d.agent.stop()), deadline]);
    } catch (err) {
      console.error(`keyvnet: stopping the agent: ${(err as Error).message}`);
    }
    this.d.exit(code);
  }

  private onState(next: AgentState): void {
    const prev = this.state;
    this.state = next;
    this.deliver(this.policy.onState(this.received ? prev : null, next));
    this.received = true;
    this.scheduleRender();
  }

  private onEvent(e: VNetEvent): void {
    this.deliver(this.policy.onEvent(e));
  }

  private deliver(decisions: NotifyDecision[]): void {
    for (const d of decisions) {
      if ('show' in d) {
        this.d.probe('notification', { kind: d.show.kind, title: d.show.title, body: d.show.body });
        this.d.sender.show(d.show);
      } else {
        this.d.probe('notification-withdrawn', { key: d.withdraw });
        this.d.sender.withdraw(d.withdraw);
      }
    }
  }

  /** True when the value changed. */
  private readStartAtLogin(): boolean {
    let now: boolean | null = null;
    let approval = false;
    try {
      const status = this.d.loginItem?.status() ?? null;
      now = status === null ? null : status !== 'disabled';
      approval = status === 'requires-approval';
    } catch (err) {
      console.error(`keyvnet: reading start at login: ${(err as Error).message}`);
    }
    const changed = now !== this.startAtLogin || approval !== this.loginNeedsApproval;
    this.startAtLogin = now;
    this.loginNeedsApproval = approval;
    return changed;
  }

  /**
   * Renders now, or once MIN_RENDER_MS after the last render: a burst of connections (a state per
   * daemon event) costs a few menu updates, not hundreds.
   */
  private scheduleRender(): void {
    if (this.renderTimer !== null) return;
    const wait = this.lastRender + MIN_RENDER_MS - Date.now();
    if (wait <= 0) return this.render();
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      this.render();
    }, wait);
  }

  private render(): void {
    if (this.renderTimer !== null) {
      clearTimeout(this.renderTimer);
      this.renderTimer = null;
    }
    this.lastRender = Date.now();
    const now = Date.now();
    const prompts = this.d.prompts.list();
    const items = buildMenu({
      state: this.state,
      prompts,
      startAtLogin: this.startAtLogin,
      loginNeedsApproval: this.loginNeedsApproval,
      now,
    });
    const icon = iconState(this.state, prompts);
    this.d.tray.setIcon(icon, iconTooltip(icon));
    this.d.tray.setMenu(items);
    if (this.statusWindow.isVisible()) {
      this.statusWindow.update(buildStatus(this.state, prompts, now), this.state.wantUp);
      const snap = JSON.stringify(this.statusWindow.snapshot());
      if (snap !== this.lastStatusProbe) {
        this.lastStatusProbe = snap;
        this.d.probe('status-update', JSON.parse(snap) as Record<string, unknown>);
      }
    }
    const report = JSON.stringify({ icon, items: probeItems(items), navigable: navigableIds(items) });
    if (report !== this.lastProbe) {
      this.lastProbe = report;
      this.d.probe('menu', JSON.parse(report) as Record<string, unknown>);
    }
  }

  /** Ages and durations move on their own: refresh once a second while someone looks. */
  private tick(): void {
    if (this.ticker !== null) return;
    this.ticker = setInterval(() => {
      this.pollConnections(this.statusWindow.isVisible());
      if (!this.d.tray.isMenuOpen() && !this.statusWindow.isVisible()) {
        clearInterval(this.ticker!);
        this.ticker = null;
        return;
      }
      this.render();
    }, 1000);
  }

  /**
   * While the status window is shown, the open connections' bytes so far are asked from the daemon
   * once a second (from tick()); hidden, never. Reported as `connections-poll` when it starts or stops.
   */
  private pollConnections(on: boolean): void {
    if (on !== this.polling) {
      this.polling = on;
      this.d.probe('connections-poll', { running: on });
    }
    if (on) this.refreshConnections();
  }

  /** The live bytes of open connections, one daemon request at a time (the state event renders). */
  private refreshConnections(): void {
    const refresh = this.d.agent.refreshConnections?.bind(this.d.agent);
    if (!refresh || this.refreshing) return;
    this.refreshing = true;
    refresh()
      .catch((err: unknown) => console.error(`keyvnet: listing connections: ${(err as Error).message}`))
      .finally(() => (this.refreshing = false));
  }

  private act(a: MenuAction): void {
    this.d.probe('action', { ...a, name: a.type });
    const agent = this.d.agent;
    const attempt = (what: string, f: () => unknown): void => {
      try {
        Promise.resolve(f()).catch((err: unknown) => this.failed(what, err));
      } catch (err) {
        this.failed(what, err);
      }
    };
    switch (a.type) {
      case 'vnet':
        return attempt(a.on ? 'turning VNet on' : 'turning VNet off', () => agent.setVNet(a.on));
      case 'cancel-request':
        this.d.prompts.cancel(a.id);
        return;
      case 'disconnect-bastion':
        return attempt(`disconnecting ${a.name}`, () => agent.disconnectBastion(a.name));
      case 'reload-config':
        return attempt('reloading the config', () => agent.reloadConfig());
      case 'copy':
        this.d.qt.QApplication.clipboard()?.setText(a.text);
        this.d.probe('copied', { text: this.d.qt.QApplication.clipboard()?.text() ?? null });
        return;
      case 'open-url':
        return this.open(a.url);
      case 'open-config':
        return attempt('opening the config', () => {
          const path = agent.openConfigPath();
          if (ensureConfigFile(path)) this.d.probe('config-created', { path });
          this.open(path);
        });
      case 'status-window': {
        const now = Date.now();
        this.statusWindow.update(buildStatus(this.state, this.d.prompts.list(), now), this.state.wantUp);
        this.statusWindow.show();
        this.d.probe('status-window', this.statusWindow.snapshot());
        this.pollConnections(true);
        this.tick();
        return;
      }
      case 'diagnostics': {
        const run = agent.diagnostics?.bind(agent);
        this.info.show('Diagnostics', run ? 'Running the checks…' : DIAGNOSTICS_PLACEHOLDER);
        this.d.probe('diagnostics', { visible: this.info.isVisible(), running: !!run });
        if (!run) return;
        // The same report as `keyvnet diag` (app/diag); the window shows it when the checks are done.
        run().then(
          (report) => {
            this.info.showReport('Diagnostics', report);
            this.d.probe('diagnostics', { visible: this.info.isVisible(), done: true });
          },
          (err: unknown) =>
            this.info.show('Diagnostics', `The checks could not run: ${(err as Error).message}`),
        );
        return;
      }
      case 'start-at-login':
        attempt('changing start at login', () => {
          if (this.d.loginItem === null) throw new Error('not supported on this system');
          this.d.loginItem.setEnabled(a.enabled);
        });
        this.readStartAtLogin();
        this.d.probe('start-at-login', {
          enabled: this.startAtLogin,
          where: this.d.loginItem?.where ?? null,
        });
        this.render();
        return;
      case 'quit':
        void this.quit(0);
        return;
    }
  }

  private failed(what: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`keyvnet: ${what}: ${message}`);
    this.d.probe('action-failed', { what, message });
    this.info.show(`Problem ${what}`, message);
  }

  /** The default browser or editor; arguments are passed as is (no shell). */
  private open(target: string): void {
    const [cmd, args] =
      process.platform === 'darwin'
        ? ['open', target.startsWith('/') ? ['-t', target] : [target]]
        : ['xdg-open', [target]];
    this.d.probe('open', { target });
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
    child.on('error', (err) => this.failed(`opening ${target}`, err));
    // xdg-open says "no method available" by its status: show that too, not only spawn errors.
    child.on('exit', (code) => {
      if (code) this.failed(`opening ${target}`, new Error(`${cmd} exited with status ${code}`));
    });
    child.unref();
  }
}

/** The icon file notifications and the autostart entry show. */
export const APP_ICON_PNG = join(ASSETS_DIR, 'keyvnet.png');
