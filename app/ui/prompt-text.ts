// The words of the touch and PIN prompts, shared by the GUI (app/ui/prompts.ts) and the terminal
// (app/headless/prompts.ts) so both say the same thing. Pure: no I/O, unit-tested.
import type { UserPrompter } from '../fido/api';

export type PinRequest = Parameters<UserPrompter['askPin']>[0];
export type TouchRequest = Parameters<UserPrompter['touchNeeded']>[0];

export interface PinPromptText {
  title: string;
  /** Which key and what for. */
  detail: string;
  /** "Wrong PIN" and the attempts left, or null when there is nothing to warn about. */
  warning: string | null;
}

export function pinPromptText(req: PinRequest): PinPromptText {
  const parts: string[] = [];
  if (req.wrongBefore) parts.push('Wrong PIN.');
  if (req.retriesLeft !== null) {
    const n = req.retriesLeft;
    parts.push(`${n} ${n === 1 ? 'attempt' : 'attempts'} left.`);
    // CTAP2 §6.5.5.7: at zero retries the key blocks its PIN and must be reset.
    if (n === 1) parts.push('Another wrong PIN blocks the key.');
  }
  return {
    title: `Enter the PIN of ${req.keyLabel}`,
    detail: req.purpose,
    warning: parts.length > 0 ? parts.join(' ') : null,
  };
}

export interface TouchPromptText {
  title: string;
  detail: string;
}

export function touchPromptText(req: TouchRequest): TouchPromptText {
  return { title: 'Touch your security key', detail: `${req.purpose} (${req.keyLabel})` };
}
