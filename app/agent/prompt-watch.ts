// The agent's prompter with a window on it: every prompt is passed on unchanged to the front end's
// prompter (the GUI's touch window and PIN dialog, or the headless terminal), and announced as a
// 'prompt' event with its purpose and words. The control socket uses it to tell the `keyvnet` command
// what the agent is asking for its request ("Touch your security key to create an SSH key"), without
// the answer (a PIN) ever leaving the prompter.
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
import { insertKeyPromptText, pinPromptText, touchPromptText } from '../ui/prompt-text';

export interface PromptNote {
  kind: 'touch' | 'touch-done' | 'pin' | 'pin-done' | 'insert';
  purpose: Purpose;
  /** The prompt's title (plain text, as the front end shows it). */
  title: string;
}

export class WatchedPrompter extends EventEmitter<{ prompt: [PromptNote] }> implements UserPrompter {
  askPassphrase?: (req: PassphrasePrompt) => Promise<string | null>;
  confirm?: (req: ConfirmPrompt) => Promise<boolean>;
  // Optional like the others: a front end without it makes a missing key fail at once.
  insertKey?: (req: InsertKeyPrompt) => void;

  constructor(readonly inner: UserPrompter) {
    super();
    if (inner.askPassphrase) this.askPassphrase = (req) => inner.askPassphrase!(req);
    if (inner.confirm) this.confirm = (req) => inner.confirm!(req);
    if (inner.insertKey)
      this.insertKey = (req) => {
        this.emit('prompt', { kind: 'insert', purpose: req.purpose, title: insertKeyPromptText(req).title });
        inner.insertKey!(req);
      };
  }

  async askPin(req: PinPrompt): Promise<string | null> {
    this.emit('prompt', { kind: 'pin', purpose: req.purpose, title: pinPromptText(req).title });
    try {
      return await this.inner.askPin(req);
    } finally {
      this.emit('prompt', { kind: 'pin-done', purpose: req.purpose, title: '' });
    }
  }

  touchNeeded(req: TouchPrompt): void {
    this.emit('prompt', { kind: 'touch', purpose: req.purpose, title: touchPromptText(req).title });
    this.inner.touchNeeded(req);
  }

  touchDone(req: TouchPrompt): void {
    this.emit('prompt', { kind: 'touch-done', purpose: req.purpose, title: '' });
    this.inner.touchDone(req);
  }
}
