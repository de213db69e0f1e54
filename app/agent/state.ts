// What the agent knows and shows: the one state object both front ends (menu bar, headless) render.
// AgentCore (agent.ts) keeps it and emits 'state' with a fresh copy on every change, plus 'event' for
// each daemon event (connections, refusals, DNS misses, bastion states, errors).
import type { BastionStateInfo, ConnectionInfo, VNetEvent, VNetStatus } from '../../ipc/messages';

export interface ConfiguredApp {
  name: string;
  /** 'direct' or a bastion name. */
  via: string;
  /** Allowed ports as the user wrote them ("80", "8000-8100"); empty = all. */
  ports: string[];
  description: string | null;
  /** Where the app is reached from the bastion, "host:port" or "host". */
  target: string;
}

export interface AgentState {
  /** The daemon link: 'connecting' (retrying), 'connected', or 'unavailable' with daemonError. */
  daemon: 'connecting' | 'connected' | 'unavailable';
  daemonError: string | null;
  /** Whether the user wants VNet on (the menu's switch); the agent brings it up whenever it can. */
  wantUp: boolean;
  /** The daemon's view of VNet, null while not connected. */
  vnet: VNetStatus | null;
  config: {
    path: string;
    /** The last load or reload error (file:line: field: ...), null when the running config is valid. */
    error: string | null;
    apps: ConfiguredApp[];
    bastions: Array<{ name: string; host: string; user: string; policy: 'session' | 'connection' }>;
    zones: string[];
  };
  /** Live connections (from daemon events), newest first. */
  connections: ConnectionInfo[];
  /** The last closed connections, newest first (at most 20). */
  recent: Array<ConnectionInfo & { closedAt: number }>;
  bastions: BastionStateInfo[];
  /** The last errors and refusals, newest first (at most 50). */
  errors: Array<{ at: number; message: string }>;
  /** The ssh-agent socket the agent serves (SSH_AUTH_SOCK), or null. */
  sshAgentSocket: string | null;
}

export type { VNetEvent };
