// The menu-bar (macOS) / system-tray (Linux) icon and its menu. UI only: it renders the menu model
// (menu-model.ts) it is given and emits the actions the user picks; gui-app.ts wires it to the agent.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { QAction, QIcon, QMenu, QSystemTrayIcon } from '@nodegui/nodegui';
import { ICON_STATES, type IconState } from './icon-state';
import type { MenuAction, MenuItem } from './menu-model';
import type { NodeGui } from './qt-runtime';

export const ASSETS_DIR = join(__dirname, 'assets');

export interface TrayEvents {
  action: [action: MenuAction];
  /** The menu has just been shown / hidden (for the --ui-probe report). */
  'menu-shown': [];
  'menu-hidden': [];
}

/** macOS: template images (the menu bar tints them); elsewhere coloured tiles that read on any panel. */
export function trayIconFile(state: IconState, platform: NodeJS.Platform = process.platform): string {
  return join(ASSETS_DIR, platform === 'darwin' ? `tray-${state}-template.svg` : `tray-${state}.svg`);
}

/** A QAction's text is not plain: '&' marks a mnemonic. Double it so names show as written. */
export function actionText(text: string, detail: string | undefined, platform = process.platform): string {
  const t = text.replace(/&/g, '&&');
  if (detail === undefined || detail === '') return t;
  const d = detail.replace(/&/g, '&&');
  // After a tab Qt draws text right-aligned in the shortcut column; macOS' native menus would read
  // it as a key shortcut, so there it follows the name.
  return platform === 'darwin' ? `${t}    ${d}` : `${t}\t${d}`;
}

/** The shape of a menu (kinds and ids), to tell a text update from a rebuild. */
function shapeOf(items: readonly MenuItem[]): string {
  return items
    .map((i) => (i.kind === 'separator' ? '-' : i.kind === 'submenu' ? `${i.id}[${shapeOf(i.items)}]` : i.id))
    .join(',');
}

interface Rendered {
  shape: string;
  /** By item id: the action and, for submenus, their QMenu. */
  actions: Map<string, QAction>;
  menus: QMenu[];
}

export class Tray extends EventEmitter<TrayEvents> {
  private readonly icon: QSystemTrayIcon;
  private readonly menu: QMenu;
  private readonly icons: Record<IconState, QIcon>;
  private rendered: Rendered = { shape: '', actions: new Map(), menus: [] };
  /** A rebuild asked for while the menu is open waits until it closes (items must not vanish under the pointer). */
  private pending: MenuItem[] | null = null;
  private menuOpen = false;
  private iconState: IconState = 'off';
  private iconSet = false;

  constructor(private readonly qt: NodeGui) {
    super();
    this.icons = Object.fromEntries(
      ICON_STATES.map((s) => {
        const icon = new qt.QIcon(trayIconFile(s));
        if (process.platform === 'darwin') icon.setIsMask(true); // a template image
        return [s, icon];
      }),
    ) as Record<IconState, QIcon>;
    this.menu = new qt.QMenu();
    this.menu.addEventListener(qt.WidgetEventTypes.Show, () => {
      this.menuOpen = true;
      this.emit('menu-shown');
    });
    this.menu.addEventListener(qt.WidgetEventTypes.Hide, () => {
      this.menuOpen = false;
      this.emit('menu-hidden');
      const next = this.pending;
      this.pending = null;
      if (next) setImmediate(() => this.setMenu(next));
    });

    this.icon = new qt.QSystemTrayIcon();
    this.icon.setContextMenu(this.menu);
    this.icon.addEventListener('activated', (reason) => {
      // Qt opens the menu on a right click; a left click opens it too, as a macOS menu-bar item
      // does (where Qt already does so itself).
      if (reason !== qt.QSystemTrayIconActivationReason.Trigger || process.platform === 'darwin') return;
      const at = new qt.QCursor().pos();
      this.menu.popup(new qt.QPoint(at.x, at.y));
    });
    this.setIcon('off', 'KeyVNet');
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

  isMenuOpen(): boolean {
    return this.menuOpen;
  }

  currentIcon(): IconState {
    return this.iconState;
  }

  setIcon(state: IconState, tooltip: string): void {
    if (state !== this.iconState || !this.iconSet) this.icon.setIcon(this.icons[state]);
    this.iconSet = true;
    this.iconState = state;
    this.icon.setToolTip(tooltip);
  }

  /** The app icon for balloons and windows. */
  appIcon(): QIcon {
    return new this.qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg'));
  }

  /**
   * Shows the model: texts, enabled and checked states are updated in place; a changed shape
   * (items added or removed) rebuilds the menu, after it closes if it is open.
   */
  setMenu(items: MenuItem[]): void {
    const shape = shapeOf(items);
    if (shape === this.rendered.shape) {
      this.update(items);
      return;
    }
    if (this.menuOpen) {
      this.pending = items;
      this.update(items); // what still exists shows fresh values meanwhile
      return;
    }
    this.menu.clear();
    // The old actions and submenus have no Qt parent: free them, or every rebuild would leak some.
    for (const a of this.rendered.actions.values()) a.deleteLater();
    for (const m of this.rendered.menus) m.deleteLater();
    this.current.clear();
    this.rendered = { shape, actions: new Map(), menus: [] };
    this.build(this.menu, items);
  }

  /** A balloon next to the icon (macOS: Notification Center; X11 without a notification service: Qt's own). */
  showMessage(title: string, body: string, timeoutMs: number): void {
    this.icon.showMessage(title, body, this.appIcon(), timeoutMs);
  }

  /** Hides the balloon if it is still up (Qt hides it on an empty message). */
  clearMessage(): void {
    this.icon.showMessage('', '', this.appIcon(), 1);
  }

  /** The prompter's balloon (prompts.ts); gui-app.ts sends notifications through app/notify instead. */
  notify(title: string, message: string, timeoutMs = 10_000): void {
    this.showMessage(title, message, timeoutMs);
  }

  clearNotification(): void {
    this.clearMessage();
  }

  private build(menu: QMenu, items: readonly MenuItem[]): void {
    const qt = this.qt;
    for (const item of items) {
      if (item.kind === 'separator') {
        menu.addSeparator();
        continue;
      }
      const action = new qt.QAction();
      this.rendered.actions.set(item.id, action);
      if (item.kind === 'label' && item.header) {
        const font = action.font();
        font.setBold(true);
        action.setFont(font);
      }
      if (item.kind === 'submenu') {
        const sub = new qt.QMenu();
        this.rendered.menus.push(sub);
        this.build(sub, item.items);
        action.setMenu(sub);
      }
      if (item.kind === 'action') {
        if (item.checked !== undefined) action.setCheckable(true);
        // Read the model at click time (not the closure's item): updates replace it in place.
        action.addEventListener('triggered', () => {
          const current = this.current.get(item.id);
          if (current?.kind === 'action') this.emit('action', current.action);
        });
      }
      menu.addAction(action);
    }
    this.update(items);
  }

  /** The latest model item of each id, for clicks. */
  private readonly current = new Map<string, MenuItem>();

  private update(items: readonly MenuItem[]): void {
    for (const item of items) {
      if (item.kind === 'separator') continue;
      this.current.set(item.id, item);
      const action = this.rendered.actions.get(item.id);
      if (!action) continue;
      action.setText(actionText(item.text, item.detail));
      if (item.kind === 'label') action.setEnabled(false);
      if (item.kind === 'action') {
        action.setEnabled(item.enabled);
        if (item.checked !== undefined) action.setChecked(item.checked);
      }
      if (item.kind === 'submenu') this.update(item.items);
    }
  }
}
