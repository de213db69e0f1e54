// The terminal side of UserPrompter (app/fido/api.ts), for `--headless` agents and CLI tools.
// Prompts go to stderr so stdout stays machine-readable. On a TTY the PIN is read in raw mode
// without echo; from a pipe one line is read (scripts, tests). Ctrl-C, Ctrl-D, Escape or end of
// input cancel (null): a PIN is never retried or guessed here. Questions are asked one at a time;
// a request that ends (its signal aborts) closes its question at once and the next one is asked.
import type { ConfirmPrompt, InsertKeyPrompt, PassphrasePrompt, UserPrompter } from '../fido/api';
import { SerialChain } from '../fido/serial';
import {
  confirmPromptText,
  insertKeyPromptText,
  passphrasePromptText,
  pinPromptText,
  touchPromptText,
  type PinPromptText,
  type PinRequest,
  type TouchRequest,
} from '../ui/prompt-text';

export interface TerminalPrompterOptions {
  input?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output?: NodeJS.WritableStream;
}

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const BACKSPACE = 0x08;
const ESC = 0x1b;
const DEL = 0x7f;

export class TerminalPrompter implements UserPrompter {
  private readonly input: NonNullable<TerminalPrompterOptions['input']>;
  private readonly output: NodeJS.WritableStream;
  /** Requests whose touch prompt is out. */
  private readonly touchShown = new Set<number>();
  private readonly questions = new SerialChain();
  /** Bytes read from a pipe beyond the first line, kept for the next askPin. */
  private pending = Buffer.alloc(0);
  private ended = false;

  constructor(opts: TerminalPrompterOptions = {}) {
    this.input = opts.input ?? process.stdin;
    this.output = opts.output ?? process.stderr;
  }

  touchNeeded(req: TouchRequest): void {
    if (req.signal.aborted) return;
    const text = touchPromptText(req);
    this.output.write(`${text.title}…\n${indent(text.detail)}\n`);
    this.touchShown.add(req.requestId);
  }

  touchDone(req: TouchRequest): void {
    if (this.touchShown.delete(req.requestId))
      this.output.write('Security key touched (or the request ended).\n');
  }

  /** No key plugged in: says so, once (the request polls for one; it ends by itself). */
  insertKey(req: InsertKeyPrompt): void {
    if (req.signal.aborted) return;
    const text = insertKeyPromptText(req);
    this.output.write(`${text.title}…\n${indent(text.detail)}\n`);
  }

  askPin(req: PinRequest): Promise<string | null> {
    return this.question(req.signal, pinPromptText(req), 'PIN');
  }

  askPassphrase(req: PassphrasePrompt): Promise<string | null> {
    return this.question(req.signal, passphrasePromptText(req), 'Passphrase');
  }

  async confirm(req: ConfirmPrompt): Promise<boolean> {
    const text = confirmPromptText(req);
    const answer = await this.question(req.signal, { ...text, warning: null }, 'Allow? [y/N]', true);
    return answer !== null && /^y(es)?$/i.test(answer.trim());
  }

  /** One question at a time; one whose request has ended is skipped, or closed if on screen. */
  private question(
    signal: AbortSignal,
    text: PinPromptText,
    label: string,
    echo = false,
  ): Promise<string | null> {
    return this.questions.run(async () => {
      if (signal.aborted) return null;
      this.output.write(`${text.title}\n${indent(text.detail)}\n`);
      if (text.warning !== null) this.output.write(`${text.warning}\n`);
      this.output.write(`${label}: `);
      const raw = !echo && this.input.isTTY === true && typeof this.input.setRawMode === 'function';
      return raw ? this.readRaw(signal) : this.readLine(signal);
    });
  }

  /** TTY: raw mode, nothing echoed, Backspace edits, Enter submits. */
  private readRaw(signal: AbortSignal): Promise<string | null> {
    const input = this.input;
    return new Promise((resolve) => {
      let pin = '';
      const done = (value: string | null, why = '(cancelled)'): void => {
        input.removeListener('data', onData);
        signal.removeEventListener('abort', onAbort);
        input.setRawMode?.(false);
        input.pause();
        this.output.write(value === null ? `${why}\n` : '\n');
        resolve(value);
      };
      const onAbort = (): void => done(null, '(the request ended)');
      const onData = (chunk: Buffer | string): void => {
        const chars = [...(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : chunk)];
        for (let i = 0; i < chars.length; i++) {
          const ch = chars[i];
          const code = ch.codePointAt(0) ?? 0;
          if (ch === '\r' || ch === '\n') return done(pin);
          if (code === CTRL_C || code === CTRL_D) return done(null);
          if (code === ESC) {
            // A lone Escape cancels; an escape sequence (arrow keys: ESC [ A) arrives in one chunk
            // and is skipped up to its final byte (ECMA-48 §5.4: 0x40..0x7E).
            if (i === chars.length - 1) return done(null);
            i++;
            if (chars[i] === '[' || chars[i] === 'O') {
              while (i + 1 < chars.length && !/[\x40-\x7e]/.test(chars[i + 1])) i++;
              i++;
            }
            continue;
          }
          if (code === BACKSPACE || code === DEL) pin = [...pin].slice(0, -1).join('');
          else if (code >= 0x20) pin += ch;
        }
      };
      input.setRawMode?.(true);
      input.on('data', onData);
      signal.addEventListener('abort', onAbort, { once: true });
      input.resume();
    });
  }

  /** Pipe: one line; end of input before a newline means cancel. */
  private readLine(signal: AbortSignal): Promise<string | null> {
    const input = this.input;
    return new Promise((resolve) => {
      const takeLine = (): boolean => {
        const nl = this.pending.indexOf(0x0a);
        if (nl < 0) return false;
        const line = this.pending.subarray(0, nl).toString('utf8').replace(/\r$/, '');
        this.pending = this.pending.subarray(nl + 1);
        finish(line);
        return true;
      };
      const onData = (chunk: Buffer | string): void => {
        this.pending = Buffer.concat([this.pending, Buffer.from(chunk)]);
        takeLine();
      };
      const onEnd = (): void => {
        this.ended = true;
        finish(null);
      };
      const onAbort = (): void => finish(null, '(the request ended)');
      const finish = (value: string | null, why = '(no answer: input ended)'): void => {
        input.removeListener('data', onData);
        input.removeListener('end', onEnd);
        signal.removeEventListener('abort', onAbort);
        input.pause();
        this.output.write(value === null ? `${why}\n` : '\n');
        resolve(value);
      };
      if (takeLine()) return;
      if (this.ended) return finish(null);
      input.on('data', onData);
      input.on('end', onEnd);
      signal.addEventListener('abort', onAbort, { once: true });
      input.resume();
    });
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
