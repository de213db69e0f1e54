// The tray menu as data, built from the agent's state: tray.ts renders it with Qt, tests read it
// without Qt. Pure: the same inputs give the same menu.
import type { AgentState } from '../agent/state';
import { appUrl } from './app-links';
import { ellipsize, formatAgo, formatBytes, formatClock, formatDuration } from './format';
import { isOnScreen, promptSummary, type QueuedPrompt } from './prompt-queue';

export type MenuAction =
  | { type: 'vnet'; on: boolean }
  | { type: 'disconnect-bastion'; name: string }
  | { type: 'cancel-request'; id: number }
  | { type: 'copy'; text: string }
  | { type: 'open-url'; url: string }
  | { type: 'status-window' }
  | { type: 'diagnostics' }
  | { type: 'start-at-login'; enabled: boolean }
  | { type: 'open-config' }
  | { type: 'reload-config' }
  | { type: 'quit' };

export type MenuItem =
  /** Greyed information (status lines, section headers, connections). */
  | { kind: 'label'; id: string; text: string; detail?: string; header?: boolean }
  | {
      kind: 'action';
      id: string;
      text: string;
      /** A right-aligned second column (an address, a size). */
      detail?: string;
      enabled: boolean;
      /** Set for checkboxes. */
      checked?: boolean;
      action: MenuAction;
    }
  | { kind: 'submenu'; id: string; text: string; detail?: string; items: MenuItem[] }
  | { kind: 'separator' };

export interface MenuInputs {
  state: AgentState;
  prompts: readonly QueuedPrompt[];
  /** The real start-at-login state (null: unknown / unsupported here; the item is disabled). */
  startAtLogin: boolean | null;
  /** macOS: registered, but the user must still allow it in System Settings. */
  loginNeedsApproval?: boolean;
  now: number;
}

/** Menus do not wrap: longer texts are cut (the status window shows them whole). */
export const MENU_TEXT_MAX = 64;
export const MENU_MAX_APPS = 12;
export const MENU_MAX_CONNECTIONS = 5;

export interface StatusLine {
  title: string;
  detail: string | null;
}

/** The top line of the menu (and of the status window). */
export function statusLine(state: AgentState): StatusLine {
  if (state.daemon === 'connecting') return { title: 'Connecting to the KeyVNet service…', detail: null };
  if (state.daemon === 'unavailable') {
    return { title: 'KeyVNet service unavailable', detail: state.daemonError };
  }
  const v = state.vnet;
  if (v === null) return { title: 'VNet off', detail: null };
  switch (v.state) {
    case 'up': {
      const apps = state.config.apps.length;
      const conns = state.connections.length;
      const parts = [`${apps} ${apps === 1 ? 'app' : 'apps'}`];
      if (conns > 0) parts.push(`${conns} ${conns === 1 ? 'connection' : 'connections'}`);
      return { title: `VNet on · ${parts.join(' · ')}`, detail: null };
    }
    case 'starting':
      return { title: 'VNet starting…', detail: null };
    case 'stopping':
      return { title: 'VNet stopping…', detail: null };
    case 'error':
      return { title: 'VNet stopped', detail: v.error };
    case 'down':
      return { title: state.wantUp ? 'VNet starting…' : 'VNet off', detail: v.error };
  }
}

/** "connected since 14:02", "touch your key", "error: host key changed", ... */
export function bastionStateText(
  state: AgentState,
  name: string,
  prompts: readonly QueuedPrompt[],
  now: number,
): string {
  const prompt = prompts.find((p) => p.bastion === name);
  if (prompt)
    return prompt.kind === 'waiting'
      ? 'waiting for your security key'
      : prompt.kind === 'insert'
        ? 'insert your security key'
        : 'touch your security key';
  const b = state.bastions.find((x) => x.name === name);
  if (!b) return 'not connected';
  switch (b.state) {
    case 'idle':
      return 'not connected';
    case 'connecting':
      return 'connecting…';
    case 'connected':
      return `connected since ${formatClock(b.since, now)}`;
    case 'error':
      return `error: ${b.reason ?? 'unknown'}`;
  }
}

export function buildMenu({ state, prompts, startAtLogin, loginNeedsApproval, now }: MenuInputs): MenuItem[] {
  const items: MenuItem[] = [];
  const sep = (): void => {
    if (items.length > 0 && items[items.length - 1].kind !== 'separator') items.push({ kind: 'separator' });
  };
  const cut = (t: string): string => ellipsize(t, MENU_TEXT_MAX);

  // Status and the switch.
  const status = statusLine(state);
  items.push({ kind: 'label', id: 'status', text: cut(status.title) });
  if (status.detail) items.push({ kind: 'label', id: 'status-detail', text: cut(status.detail) });
  const waiting = promptSummary(prompts);
  if (waiting) {
    items.push({ kind: 'label', id: 'prompts', text: waiting });
    // The one on screen (or the first waiting): cancelling fails its connections at once.
    const first = prompts.find(isOnScreen) ?? prompts[0];
    items.push({ kind: 'label', id: 'prompt-what', text: cut(first.what) });
    items.push({
      kind: 'action',
      id: 'cancel-request',
      text: 'Cancel This Request',
      enabled: true,
      action: { type: 'cancel-request', id: first.id },
    });
  }
  if (state.config.error) {
    items.push({ kind: 'label', id: 'config-error', text: cut(`Config error: ${state.config.error}`) });
  }
  items.push({
    kind: 'action',
    id: 'vnet',
    text: state.wantUp ? 'Turn VNet Off' : 'Turn VNet On',
    // Off is always possible; on needs the service.
    enabled: state.wantUp || state.daemon === 'connected',
    action: { type: 'vnet', on: !state.wantUp },
  });

  // Bastions.
  if (state.config.bastions.length > 0) {
    sep();
    items.push({ kind: 'label', id: 'bastions', text: 'Bastions', header: true });
    for (const b of state.config.bastions) {
      const live = state.bastions.find((x) => x.name === b.name);
      const text = bastionStateText(state, b.name, prompts, now);
      const sub: MenuItem[] = [
        { kind: 'label', id: `bastion:${b.name}:host`, text: cut(`${b.user}@${b.host}`) },
      ];
      if (live && live.state === 'connected') {
        const touches = `${live.touches} ${live.touches === 1 ? 'touch' : 'touches'}`;
        sub.push({
          kind: 'label',
          id: `bastion:${b.name}:session`,
          text: `Up ${formatDuration(now - live.since)} · ${touches} · ${live.policy} policy`,
        });
      }
      if (live?.state === 'error' && live.reason) {
        sub.push({ kind: 'label', id: `bastion:${b.name}:reason`, text: cut(live.reason) });
      }
      sub.push({ kind: 'separator' });
      sub.push({
        kind: 'action',
        id: `bastion:${b.name}:disconnect`,
        text: 'Disconnect',
        enabled: live !== undefined && (live.state === 'connected' || live.state === 'connecting'),
        action: { type: 'disconnect-bastion', name: b.name },
      });
      items.push({ kind: 'submenu', id: `bastion:${b.name}`, text: cut(`${b.name} — ${text}`), items: sub });
    }
  }

  // Apps: a click copies the name; web apps also get "Open in Browser".
  const apps = state.config.apps;
  if (apps.length > 0) {
    sep();
    items.push({
      kind: 'label',
      id: 'apps',
      text: 'Apps — click to copy the name',
      header: true,
    });
    for (const app of apps.slice(0, MENU_MAX_APPS)) {
      const addr = state.vnet?.state === 'up' ? state.vnet.apps[app.name]?.v4 : undefined;
      items.push({
        kind: 'action',
        id: `app:${app.name}`,
        text: cut(app.name),
        detail: addr ?? '',
        enabled: true,
        action: { type: 'copy', text: app.name },
      });
    }
    if (apps.length > MENU_MAX_APPS) {
      items.push({
        kind: 'label',
        id: 'apps-more',
        text: `${apps.length - MENU_MAX_APPS} more in Status…`,
      });
    }
    const web = apps.flatMap((app) => {
      const url = appUrl(app);
      return url === null ? [] : [{ app, url }];
    });
    if (web.length > 0) {
      items.push({
        kind: 'submenu',
        id: 'open',
        text: 'Open in Browser',
        items: web.map(({ app, url }) => ({
          kind: 'action' as const,
          id: `open:${app.name}`,
          text: cut(url),
          enabled: state.vnet?.state === 'up',
          action: { type: 'open-url' as const, url },
        })),
      });
    }
  }

  // The last connections: live ones first, then the recently closed.
  const conns: MenuItem[] = [];
  for (const c of state.connections.slice(0, MENU_MAX_CONNECTIONS)) {
    conns.push({
      kind: 'label',
      id: `conn:${c.id}`,
      text: cut(`${c.fqdn}:${c.port}`),
      detail: `↑ ${formatBytes(c.bytesUp)}  ↓ ${formatBytes(c.bytesDown)}`,
    });
  }
  for (const c of state.recent.slice(0, MENU_MAX_CONNECTIONS - conns.length)) {
    conns.push({
      kind: 'label',
      id: `conn:${c.id}`,
      text: cut(`${c.fqdn}:${c.port}`),
      detail: `closed ${formatAgo(c.closedAt, now)}`,
    });
  }
  if (conns.length > 0) {
    sep();
    items.push({ kind: 'label', id: 'connections', text: 'Recent Connections', header: true });
    items.push(...conns);
  }

  sep();
  items.push({
    kind: 'action',
    id: 'status-window',
    text: 'Status…',
    enabled: true,
    action: { type: 'status-window' },
  });
  items.push({
    kind: 'action',
    id: 'diagnostics',
    text: 'Diagnostics…',
    enabled: true,
    action: { type: 'diagnostics' },
  });
  sep();
  items.push({
    kind: 'action',
    id: 'start-at-login',
    text: 'Start at Login',
    enabled: startAtLogin !== null,
    checked: startAtLogin ?? false,
    action: { type: 'start-at-login', enabled: !(startAtLogin ?? false) },
  });
  if (loginNeedsApproval) {
    items.push({
      kind: 'label',
      id: 'login-approval',
      text: 'Allow KeyVNet in System Settings › General › Login Items',
    });
  }
  items.push({
    kind: 'action',
    id: 'open-config',
    text: 'Open Config…',
    enabled: true,
    action: { type: 'open-config' },
  });
  items.push({
    kind: 'action',
    id: 'reload-config',
    text: 'Reload Config',
    enabled: true,
    action: { type: 'reload-config' },
  });
  sep();
  items.push({ kind: 'action', id: 'quit', text: 'Quit KeyVNet', enabled: true, action: { type: 'quit' } });
  return items;
}

/** What Diagnostics… says until the keyvnet command (the CLI issue) brings its report. */
export const DIAGNOSTICS_PLACEHOLDER =
  'Diagnostics are coming with the keyvnet command. Until then, Status… shows the live state.';

/** The ids of the items a keyboard can reach, in order (enabled actions and submenus). */
export function navigableIds(items: readonly MenuItem[]): string[] {
  return items.flatMap((i) => ((i.kind === 'action' && i.enabled) || i.kind === 'submenu' ? [i.id] : []));
}
