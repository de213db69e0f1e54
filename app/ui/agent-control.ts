// What the menu-bar UI needs from the agent: its state and events, and the few things a person can
// ask of it. AgentCore (app/agent/agent.ts) implements it; the UI tests drive a fake.
import type { AgentState, VNetEvent } from '../agent/state';

export interface AgentControlEvents {
  /** A fresh copy of the whole state on every change. */
  state: [state: AgentState];
  /** Each daemon event as it happens (for notifications). */
  event: [event: VNetEvent];
}

export interface AgentControl {
  // Overloads, not one generic signature: an EventEmitter<{...}> with more events (AgentCore's
  // 'log') then still fits.
  on(event: 'state', listener: (state: AgentState) => void): unknown;
  on(event: 'event', listener: (event: VNetEvent) => void): unknown;
  off(event: 'state', listener: (state: AgentState) => void): unknown;
  off(event: 'event', listener: (event: VNetEvent) => void): unknown;
  /** The menu's switch: the user wants VNet on (or off). */
  setVNet(on: boolean): Promise<void> | void;
  /** Read the config file again now (it is also watched). */
  reloadConfig(): Promise<void> | void;
  /** Close the bastion's SSH session(s); the next connection opens a new one (and asks for a touch). */
  disconnectBastion(name: string): Promise<void> | void;
  /** The config file's path, created with a commented template if missing, to open in an editor. */
  openConfigPath(): string;
  /** Ask the daemon for the open connections' bytes so far and processes (status window shown). */
  refreshConnections?(): Promise<void>;
  /** The diagnostics report (keyvnet diag's text), for Diagnostics…; absent = the placeholder. */
  diagnostics?(): Promise<string>;
  /** VNet down, daemon link closed: the app is quitting. */
  stop(): Promise<void> | void;
}
