// Which of the five tray icons to show, from the agent's state and the prompt queue. Pure.
import type { AgentState } from '../agent/state';
import { isOnScreen, type QueuedPrompt } from './prompt-queue';

export type IconState = 'off' | 'connecting' | 'on' | 'needs-touch' | 'error';

export const ICON_STATES: readonly IconState[] = ['off', 'connecting', 'on', 'needs-touch', 'error'];

/**
 * In order of what matters most to the person looking at the menu bar:
 * a prompt waits for them; something they asked for is broken; it is on its way; it is on; it is off.
 */
export function iconState(state: AgentState, prompts: readonly QueuedPrompt[]): IconState {
  if (prompts.some(isOnScreen)) return 'needs-touch';
  if (!state.wantUp) return 'off';
  if (state.daemon === 'unavailable') return 'error';
  if (state.vnet?.state === 'error') return 'error';
  if (state.bastions.some((b) => b.state === 'error')) return 'error';
  if (state.daemon === 'connecting' || state.vnet === null) return 'connecting';
  if (state.vnet.state === 'up') return 'on';
  // down (not brought up yet), starting; stopping while the user wants it up means a restart.
  return 'connecting';
}

/** The tooltip of the tray icon (one line). */
export function iconTooltip(icon: IconState): string {
  switch (icon) {
    case 'off':
      return 'KeyVNet: VNet is off';
    case 'connecting':
      return 'KeyVNet: VNet is starting…';
    case 'on':
      return 'KeyVNet: VNet is on';
    case 'needs-touch':
      return 'KeyVNet: your security key is waiting';
    case 'error':
      return 'KeyVNet: something needs your attention';
  }
}
