// The headless agent's prompter: the terminal prompts (on stderr, PIN from stdin), plus one stdout
// line per prompt so scripts and tests can follow them ("prompt: touch …", "prompt: pin …",
// "prompt: insert …", "prompt: done"). Never prints a PIN.
import type { InsertKeyPrompt, PinPrompt, TouchPrompt, UserPrompter } from '../fido/api';
import { insertKeyPromptText, pinPromptText, touchPromptText } from '../ui/prompt-text';
import type { TerminalPrompter } from './prompts';

export class ReportingPrompter implements UserPrompter {
  constructor(
    private readonly terminal: TerminalPrompter,
    private readonly out: (line: string) => void = (l) => console.log(l),
  ) {}

  askPin(req: PinPrompt): Promise<string | null> {
    const t = pinPromptText(req);
    this.out(
      `prompt: pin ${t.title}${req.retriesLeft !== null ? ` (${req.retriesLeft} attempts left)` : ''}`,
    );
    return this.terminal.askPin(req);
  }

  touchNeeded(req: TouchPrompt): void {
    this.out(`prompt: touch ${touchPromptText(req).title}`);
    this.terminal.touchNeeded(req);
  }

  touchDone(req: TouchPrompt): void {
    this.out('prompt: done');
    this.terminal.touchDone(req);
  }

  insertKey(req: InsertKeyPrompt): void {
    if (req.signal.aborted) return;
    this.out(`prompt: insert ${insertKeyPromptText(req).title}`);
    req.signal.addEventListener('abort', () => this.out('prompt: done'), { once: true });
    this.terminal.insertKey(req);
  }

  askPassphrase = (
    req: Parameters<NonNullable<UserPrompter['askPassphrase']>>[0],
  ): Promise<string | null> => {
    this.out(`prompt: passphrase ${req.file}`);
    return this.terminal.askPassphrase?.(req) ?? Promise.resolve(null);
  };

  confirm = (req: Parameters<NonNullable<UserPrompter['confirm']>>[0]): Promise<boolean> => {
    this.out(`prompt: confirm ${req.keyComment}`);
    return this.terminal.confirm?.(req) ?? Promise.resolve(false);
  };
}
