// The prompts waiting for the user, as the menu, the icon and the notifications see them: what the
// prompter shows now (tracked by wrapping it) plus the requests queued behind it on the key (the
// RequestQueue of app/fido/request-queue.ts), which the menu can cancel.
import { EventEmitter } from 'node:events';
import type {
  ConfirmPrompt,
  InsertKeyPrompt,
  PassphrasePrompt,
  PinPrompt,
  Purpose,
  TouchPrompt,
  UserPrompter,
} from '../fido/api';
import type { RequestInfo } from '../fido/request-queue';
import {
  cleanField,
  confirmPromptText,
  insertKeyPromptText,
  passphrasePromptText,
  pinPromptText,
  purposeAction,
  touchPromptText,
} from './prompt-text';

export interface QueuedPrompt {
  /** The request's id in the RequestQueue (cancel by it). */
  id: number;
  /** On screen: insert (no key), touch, pin, passphrase, confirm; 'waiting': queued behind another. */
  kind: 'insert' | 'touch' | 'pin' | 'passphrase' | 'confirm' | 'waiting';
  keyLabel: string;
  /** The prompt's own title ("Touch your security key to connect to corp (bastion…)"). */
  title: string;
  /** Its detail lines (user, key, who asked). */
  detail: string;
  /** One short line: "Connect to corp (bastion.corp.example.com)". */
  what: string;
  /** The bastion the request is for, when known (the menu marks it). */
  bastion: string | null;
  /** Since when it waits (ms since the epoch). */
  since: number;
}

/** What the UI reads: the queue, first = on screen; 'change' after every change. */
export interface PromptQueueView {
  list(): QueuedPrompt[];
  /** Cancels a request (its prompt closes, its waiting connections fail at once). */
  cancel(id: number): void;
  on(event: 'change', listener: () => void): unknown;
}

/** The request queue the tracker lists and cancels through (RequestQueue fits). */
export interface RequestSource {
  list(): RequestInfo[];
  cancel(id: number): boolean;
  on(event: 'change', listener: () => void): unknown;
}

const ON_SCREEN = new Set<QueuedPrompt['kind']>(['insert', 'touch', 'pin', 'passphrase', 'confirm']);

export function isOnScreen(p: QueuedPrompt): boolean {
  return ON_SCREEN.has(p.kind);
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function what(p: Purpose): string {
  return capital(purposeAction(p));
}

/**
 * Wraps a UserPrompter and keeps the list of what it is showing, so the icon can say "needs
 * touch", the menu can count and cancel, and a touch gets a notification exactly while it waits.
 */
export class PromptTracker extends EventEmitter<{ change: [] }> implements PromptQueueView {
  private readonly shown = new Map<string, QueuedPrompt>();
  /** Cancel of the "insert your key" prompts out (they wait outside the request queue), by id. */
  private readonly insertCancels = new Map<number, () => void>();
  /** The prompter to hand to the security-key layer: the same behaviour, tracked. */
  readonly prompter: UserPrompter;

  constructor(
    private readonly inner: UserPrompter,
    private readonly requests: RequestSource | null = null,
    private readonly now: () => number = Date.now,
  ) {
    super();
    requests?.on('change', () => this.emit('change'));
    const p: UserPrompter = {
      touchNeeded: (req: TouchPrompt) => {
        this.inner.touchNeeded(req);
        if (req.signal.aborted) return;
        const t = touchPromptText(req);
        this.add(
          `touch:${req.requestId}`,
          'touch',
          req.requestId,
          req.keyLabel,
          req.purpose,
          t.title,
          t.detail,
        );
        req.signal.addEventListener('abort', () => this.remove(`touch:${req.requestId}`), { once: true });
      },
      touchDone: (req: TouchPrompt) => {
        this.inner.touchDone(req);
        this.remove(`touch:${req.requestId}`);
      },
      askPin: (req: PinPrompt) => {
        const t = pinPromptText(req);
        return this.track('pin', req, req.keyLabel, t.title, t.detail, () => this.inner.askPin(req));
      },
    };
    const wrapped = this.inner;
    if (wrapped.insertKey) {
      p.insertKey = (req: InsertKeyPrompt) => {
        wrapped.insertKey!(req);
        if (req.signal.aborted) return;
        const key = `insert:${req.requestId}`;
        const t = insertKeyPromptText(req);
        this.insertCancels.set(req.requestId, req.cancel);
        this.add(key, 'insert', req.requestId, '', req.purpose, t.title, t.detail);
        req.signal.addEventListener(
          'abort',
          () => {
            this.insertCancels.delete(req.requestId);
            this.remove(key);
          },
          { once: true },
        );
      };
    }
    if (wrapped.askPassphrase) {
      p.askPassphrase = (req: PassphrasePrompt) => {
        const t = passphrasePromptText(req);
        return this.track('passphrase', req, cleanField(req.file), t.title, t.detail, () =>
          wrapped.askPassphrase!(req),
        );
      };
    }
    if (wrapped.confirm) {
      p.confirm = (req: ConfirmPrompt) => {
        const t = confirmPromptText(req);
        return this.track('confirm', req, req.keyComment, t.title, t.detail, () => wrapped.confirm!(req));
      };
    }
    this.prompter = p;
  }

  list(): QueuedPrompt[] {
    const out = [...this.shown.values()].map((p) => ({ ...p }));
    const onScreen = new Set(out.map((p) => p.id));
    for (const r of this.requests?.list() ?? []) {
      if (r.state !== 'queued' || onScreen.has(r.id)) continue;
      out.push({
        id: r.id,
        kind: 'waiting',
        keyLabel: r.keyLabel,
        title: what(r.purpose),
        detail: '',
        what: what(r.purpose),
        bastion: r.purpose.bastion ?? null,
        since: this.now(),
      });
    }
    return out;
  }

  cancel(id: number): void {
    const insert = this.insertCancels.get(id);
    if (insert) insert();
    else this.requests?.cancel(id);
  }

  private track<T>(
    kind: QueuedPrompt['kind'],
    req: { requestId: number; purpose: Purpose },
    keyLabel: string,
    title: string,
    detail: string,
    ask: () => Promise<T>,
  ): Promise<T> {
    const key = `${kind}:${req.requestId}:${this.now()}:${Math.random()}`;
    this.add(key, kind, req.requestId, keyLabel, req.purpose, title, detail);
    const done = (): void => this.remove(key);
    const answer = ask();
    answer.then(done, done);
    return answer;
  }

  private add(
    key: string,
    kind: QueuedPrompt['kind'],
    id: number,
    keyLabel: string,
    purpose: Purpose,
    title: string,
    detail: string,
  ): void {
    this.shown.delete(key);
    this.shown.set(key, {
      id,
      kind,
      keyLabel,
      title,
      detail,
      what: what(purpose),
      bastion: purpose.bastion ?? null,
      since: this.now(),
    });
    this.emit('change');
  }

  private remove(key: string): void {
    if (this.shown.delete(key)) this.emit('change');
  }
}

/** "Touch your security key" / "Enter your PIN" plus "2 more waiting", for the menu's top line. */
export function promptSummary(queue: readonly QueuedPrompt[]): string | null {
  if (queue.length === 0) return null;
  const first = queue.find(isOnScreen) ?? queue[0];
  const head = {
    insert: 'Insert your security key',
    touch: 'Touch your security key',
    pin: 'Enter your security key PIN',
    passphrase: 'Enter a key file passphrase',
    confirm: 'Confirm the use of an SSH key',
    waiting: 'A security key request is waiting',
  }[first.kind];
  return queue.length > 1 ? `${head} (${queue.length - 1} more waiting)` : head;
}
