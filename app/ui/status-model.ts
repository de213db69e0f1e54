// The status window as data (status-window.ts renders it): apps with their virtual addresses, live
// connections, bastion sessions and the last errors. Pure.
import type { AgentState } from '../agent/state';
import type { ConnectionInfo } from '../../ipc/messages';
import { cleanField } from './prompt-text';
import { formatAgo, formatBytes, formatClock, formatDuration } from './format';
import { bastionStateText, statusLine, type StatusLine } from './menu-model';
import type { QueuedPrompt } from './prompt-queue';

export interface StatusModel {
  status: StatusLine;
  /** 'on' | 'off' | ... for the coloured dot next to the status. */
  tone: 'ok' | 'busy' | 'off' | 'bad';
  summary: string;
  apps: Array<{ name: string; address: string; via: string; ports: string }>;
  connections: Array<{ app: string; port: string; process: string; up: string; down: string; age: string }>;
  bastions: Array<{
    name: string;
    host: string;
    state: string;
    age: string;
    touches: string;
    policy: string;
  }>;
  errors: Array<{ when: string; message: string }>;
}

export const STATUS_MAX_ERRORS = 10;

export function buildStatus(state: AgentState, prompts: readonly QueuedPrompt[], now: number): StatusModel {
  const status = statusLine(state);
  const vnet = state.vnet;
  const up = vnet?.state === 'up';
  const tone: StatusModel['tone'] =
    state.daemon === 'unavailable' || vnet?.state === 'error'
      ? 'bad'
      : up
        ? 'ok'
        : state.wantUp
          ? 'busy'
          : 'off';
  const summary = up
    ? [vnet.ipv4Range, vnet.ipv6Range, vnet.tun].filter((x) => x !== null).join(' · ')
    : state.config.zones.length > 0
      ? `Zones: ${state.config.zones.join(', ')}`
      : '';

  return {
    status,
    tone,
    summary,
    apps: state.config.apps.map((a) => {
      const addr = up ? vnet.apps[a.name] : undefined;
      return {
        name: a.name,
        address: addr ? addr.v4 : '—',
        via: a.via,
        ports: a.ports.length === 0 ? 'all' : a.ports.join(', '),
      };
    }),
    // Live ones first (their bytes so far: the app asks the daemon every second while this window
    // is shown), then the recently closed with their final counts.
    connections: [
      ...state.connections.map((c) => ({
        app: c.fqdn,
        port: String(c.port),
        process: processText(c.process),
        up: formatBytes(c.bytesUp),
        down: formatBytes(c.bytesDown),
        age: formatDuration(now - c.openedAt),
      })),
      ...state.recent.map((c) => ({
        app: c.fqdn,
        port: String(c.port),
        process: processText(c.process),
        up: formatBytes(c.bytesUp),
        down: formatBytes(c.bytesDown),
        age: `closed ${formatAgo(c.closedAt, now)}`,
      })),
    ],
    bastions: state.config.bastions.map((b) => {
      const live = state.bastions.find((x) => x.name === b.name);
      const connected = live?.state === 'connected';
      return {
        name: b.name,
        host: `${b.user}@${b.host}`,
        state: bastionStateText(state, b.name, prompts, now),
        age: connected ? formatDuration(now - live.since) : '—',
        touches: live ? String(live.touches) : '0',
        policy: live?.policy ?? b.policy,
      };
    }),
    errors: state.errors.slice(0, STATUS_MAX_ERRORS).map((e) => ({
      when: `${formatClock(e.at, now)} (${formatAgo(e.at, now)})`,
      message: e.message,
    })),
  };
}

/** "curl (4051)", or "—" where the OS did not tell (names come from other processes: cleaned). */
export function processText(p: ConnectionInfo['process']): string {
  if (!p) return '—';
  return p.name ? `${cleanField(p.name)} (${p.pid})` : `pid ${p.pid}`;
}
