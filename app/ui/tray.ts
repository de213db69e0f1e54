// The menu-bar (macOS) / system-tray (Linux) icon and its menu. UI only: it shows the state it is
// given and emits what the user chose; app/main.ts wires it to the agent.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { QAction, QIcon, QMenu, QSystemTrayIcon } from '@nodegui/nodegui';
import type { NodeGui } from './qt-runtime';

export const ASSETS_DIR = join(__dirname, 'assets');

export interface TrayEvents {
  connect: [];
  disconnect: [];
  /** "Start at login" toggled; the agent decides how (launchd agent / XDG autostart). */
  'start-at-login': [enabled: boolean];
  quit: [];
  /** The menu has just been shown / hidden (for the --ui-probe report). */
  'menu-shown': [];
  'menu-hidden': [];
}

export interface TrayState {
  /** The disabled status line at the top of the menu, e.g. "VNet: not connected". */
  status: string;
  connected: boolean;
  startAtLogin: boolean;
}

export class Tray extends EventEmitter<TrayEvents> {
  private readonly icon: QSystemTrayIcon;
  private readonly menu: QMenu;
  private readonly statusAction: QAction;
  private readonly connectAction: QAction;
  private readonly disconnectAction: QAction;
  private readonly startAtLoginAction: QAction;
  private readonly icons: { idle: QIcon; connected: QIcon };

  constructor(qt: NodeGui, initial: TrayState) {
    super();
    this.icons = {
      idle: new qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg')),
      connected: new qt.QIcon(join(ASSETS_DIR, 'keyvnet-connected.svg')),
    };
    this.menu = new qt.QMenu();
    this.statusAction = this.addAction(qt, '');
    this.statusAction.setEnabled(false);
    this.menu.addSeparator();
    this.connectAction = this.addAction(qt, 'Connect', () => this.emit('connect'));
    this.disconnectAction = this.addAction(qt, 'Disconnect', () => this.emit('disconnect'));
    this.menu.addSeparator();
    this.startAtLoginAction = this.addAction(qt, 'Start at login');
    this.startAtLoginAction.setCheckable(true);
    // `toggled` would also fire for programmatic setChecked(); only the user's click is an event.
    this.startAtLoginAction.addEventListener('triggered', (checked) =>
      this.emit('start-at-login', Boolean(checked)),
    );
    this.menu.addSeparator();
    this.addAction(qt, 'Quit KeyVNet', () => this.emit('quit'));

    this.menu.addEventListener(qt.WidgetEventTypes.Show, () => this.emit('menu-shown'));
    this.menu.addEventListener(qt.WidgetEventTypes.Hide, () => this.emit('menu-hidden'));

    this.icon = new qt.QSystemTrayIcon();
    this.icon.setToolTip('KeyVNet');
    this.icon.setContextMenu(this.menu);
    this.icon.addEventListener('activated', (reason) => {
      // Qt opens the menu on a right click; a left click opens it too, as a macOS menu-bar item
      // does (where Qt already does so itself).
      if (reason !== qt.QSystemTrayIconActivationReason.Trigger || process.platform === 'darwin') return;
      const at = new qt.QCursor().pos();
      this.menu.popup(new qt.QPoint(at.x, at.y));
    });
    this.update(initial);
  }

  show(): void {
    this.icon.show();
  }

  hide(): void {
    this.icon.hide();
  }

  isVisible(): boolean {
    return this.icon.isVisible();
  }

  update(state: TrayState): void {
    this.statusAction.setText(state.status);
    this.connectAction.setEnabled(!state.connected);
    this.disconnectAction.setEnabled(state.connected);
    this.startAtLoginAction.setChecked(state.startAtLogin);
    this.icon.setIcon(state.connected ? this.icons.connected : this.icons.idle);
  }

  /** A balloon / notification next to the icon (where the platform has them). */
  notify(title: string, message: string, timeoutMs = 10_000): void {
    this.icon.showMessage(title, message, this.icons.idle, timeoutMs);
  }

  /** Hide the notification if it is still up (Qt hides its balloon on an empty message). */
  clearNotification(): void {
    this.icon.showMessage('', '', this.icons.idle, 1);
  }

  private addAction(qt: NodeGui, text: string, onTrigger?: () => void): QAction {
    const action = new qt.QAction();
    action.setText(text);
    if (onTrigger) action.addEventListener('triggered', onTrigger);
    this.menu.addAction(action);
    return action;
  }
}
