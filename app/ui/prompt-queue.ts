// The prompts waiting for the user, as the menu, the icon and the queue view see them. The prompter
// (prompts.ts, and the prompt contract's queue) is the source; this file only describes and tracks.
import { EventEmitter } from 'node:events';
import type { UserPrompter } from '../fido/api';

export interface QueuedPrompt {
  id: number;
  /** touch: the key blinks; pin: the PIN dialog; insert-key: no key present yet. */
  kind: 'touch' | 'pin' | 'insert-key';
  keyLabel: string;
  /** One line: what the key is asked for ("Sign in to corp (bastion.corp.example.com)"). */
  what: string;
  /** The bastion the prompt is for, when known (the menu marks it "needs touch"). */
  bastion: string | null;
  /** Since when it waits (ms since the epoch). */
  since: number;
}

/** What the UI reads: the queue, first = on screen; 'change' after every change. */
export interface PromptQueueView {
  list(): QueuedPrompt[];
  on(event: 'change', listener: () => void): unknown;
}

/** A purpose as text, whether it is today's string or a structured purpose (what, host, bastion). */
export function purposeText(purpose: unknown): string {
  if (typeof purpose === 'string') return purpose;
  if (purpose !== null && typeof purpose === 'object') {
    const p = purpose as Record<string, unknown>;
    const what = typeof p.what === 'string' ? p.what : 'Use your security key';
    const host = typeof p.host === 'string' ? p.host : null;
    const bastion = typeof p.bastion === 'string' ? p.bastion : null;
    if (bastion !== null && host !== null) return `${what}: ${bastion} (${host})`;
    if (host !== null || bastion !== null) return `${what}: ${host ?? bastion}`;
    return what;
  }
  return 'Use your security key';
}

function purposeBastion(purpose: unknown): string | null {
  if (purpose !== null && typeof purpose === 'object') {
    const b = (purpose as Record<string, unknown>).bastion;
    return typeof b === 'string' ? b : null;
  }
  return null;
}

/**
 * Wraps a UserPrompter and keeps the queue of what it is showing, so the icon can say "needs touch"
 * and the menu can count waiting prompts. Until the prompt contract's own queue lands, this is it.
 */
export class PromptTracker extends EventEmitter<{ change: [] }> implements PromptQueueView {
  private readonly queue: QueuedPrompt[] = [];
  private nextId = 1;
  private touchId: number | null = null;

  constructor(
    private readonly inner: UserPrompter,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  list(): QueuedPrompt[] {
    return this.queue.map((p) => ({ ...p }));
  }

  /** The prompter to hand to the security-key layer: same behaviour, tracked. */
  readonly prompter: UserPrompter = {
    touchNeeded: (req) => {
      this.inner.touchNeeded(req);
      if (this.touchId !== null) this.remove(this.touchId);
      this.touchId = this.add('touch', req.keyLabel, (req as { purpose: unknown }).purpose);
    },
    touchDone: () => {
      this.inner.touchDone();
      if (this.touchId !== null) this.remove(this.touchId);
      this.touchId = null;
    },
    askPin: (req) => {
      const id = this.add('pin', req.keyLabel, (req as { purpose: unknown }).purpose);
      const done = (): void => this.remove(id);
      const answer = this.inner.askPin(req);
      answer.then(done, done);
      return answer;
    },
  };

  private add(kind: QueuedPrompt['kind'], keyLabel: string, purpose: unknown): number {
    const id = this.nextId++;
    this.queue.push({
      id,
      kind,
      keyLabel,
      what: purposeText(purpose),
      bastion: purposeBastion(purpose),
      since: this.now(),
    });
    this.emit('change');
    return id;
  }

  private remove(id: number): void {
    const i = this.queue.findIndex((p) => p.id === id);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.emit('change');
  }
}

/** "Touch your security key" / "Enter your PIN" plus "2 more waiting", for the menu's top line. */
export function promptSummary(queue: readonly QueuedPrompt[]): string | null {
  if (queue.length === 0) return null;
  const first = queue[0];
  const head =
    first.kind === 'touch'
      ? 'Touch your security key'
      : first.kind === 'pin'
        ? 'Enter your security key PIN'
        : 'Insert your security key';
  return queue.length > 1 ? `${head} (${queue.length - 1} more waiting)` : head;
}
