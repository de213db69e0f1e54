// Headless prompts for the terminal: touch notices on stderr and the PIN read from the controlling
// TTY without echo (never from stdin, which may be a pipe carrying data). The GUI prompter replaces
// this in the menu-bar app.
import { openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import type { UserPrompter } from '../fido/api';

export class TerminalPrompter implements UserPrompter {
  constructor(private readonly out: NodeJS.WritableStream = process.stderr) {}

  touchNeeded(req: { keyLabel: string; purpose: string }): void {
    this.out.write(`Touch your security key (${req.keyLabel}) to confirm: ${req.purpose}…\n`);
  }

  touchDone(): void {
    /* nothing to hide on a terminal */
  }

  async askPin(req: {
    keyLabel: string;
    purpose: string;
    retriesLeft: number | null;
    wrongBefore: boolean;
  }): Promise<string | null> {
    const left = req.retriesLeft === null ? '' : ` (${req.retriesLeft} tries left)`;
    const again = req.wrongBefore ? 'Wrong PIN. ' : '';
    return readSecretFromTty(`${again}PIN for ${req.keyLabel}${left} to ${req.purpose}: `);
  }
}

/** Reads a line from /dev/tty with echo off. Resolves null on Ctrl-C / Ctrl-D or when there is no TTY. */
export function readSecretFromTty(prompt: string): Promise<string | null> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return Promise.resolve(null);
  }
  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  output.write(prompt);
  input.setRawMode(true);
  return new Promise((resolve) => {
    let secret = '';
    const finish = (value: string | null): void => {
      input.setRawMode(false);
      input.off('data', onData);
      output.write('\n');
      input.destroy(); // closes fd
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(secret);
        if (ch === '\u0003' || ch === '\u0004') return finish(null);
        if (ch === '\u007f' || ch === '\b') secret = secret.slice(0, -1);
        else secret += ch;
      }
    };
    input.on('data', onData);
  });
}
