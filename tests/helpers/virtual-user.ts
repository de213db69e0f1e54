// A user's SSH keys on the project's virtual security key, for the end-to-end tests, the demo and the
// bench: enrols sk keys on a virtual key kept in `statePath` (which the agent opens later with
// `--virtual-key statePath`) and writes their key files as `ssh-keygen -t ecdsa-sk -f` would.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../app/fido/testing';
import { enrollSkKey } from '../../app/ssh/enroll';
import { writePrivateKeyFile } from '../../app/ssh/keyfile';
import { publicKeyLine, type SkKey } from '../../app/ssh/keys';

export interface KeyFileSpec {
  /** The private key file to write (its .pub beside it). */
  file: string;
  comment: string;
  verifyRequired?: boolean;
}

export async function enrollKeyFiles(
  statePath: string,
  specs: KeyFileSpec[],
  pin?: string,
): Promise<SkKey[]> {
  const va = new VirtualAuthenticator({ statePath, pin, touch: { mode: 'auto' } });
  const sk = await openVirtualSecurityKey(va, {
    askPin: async () => pin ?? null,
    touchNeeded: () => {},
    touchDone: () => {},
  });
  try {
    const keys: SkKey[] = [];
    for (const spec of specs) {
      const { key } = await enrollSkKey(
        sk,
        { comment: spec.comment, verifyRequired: spec.verifyRequired },
        { purpose: { what: 'enroll', requester: 'app' } },
      );
      mkdirSync(dirname(spec.file), { recursive: true, mode: 0o700 });
      writeFileSync(spec.file, writePrivateKeyFile(key), { mode: 0o600 });
      writeFileSync(`${spec.file}.pub`, `${publicKeyLine(key, key.comment)}\n`);
      keys.push(key);
    }
    return keys;
  } finally {
    await sk.close();
    va.unplug();
  }
}

/**
 * One line to an agent's `--virtual-key-control` socket (touch, deny, unplug, plug); its answer.
 * `guardMs` is a hang guard, never a timing assertion.
 */
export function virtualKeyControl(path: string, command: string, guardMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let got = '';
    const guard = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer to "${command}" on ${path}`));
    }, guardMs);
    sock.on('connect', () => sock.write(`${command}\n`));
    sock.on('data', (d: Buffer) => {
      got += d.toString();
      if (!got.includes('\n')) return;
      clearTimeout(guard);
      sock.end();
      resolve(got.trim());
    });
    sock.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
  });
}

/** Touches the key, retrying while it is not waiting yet (the prompt line can come first). */
export async function touchVirtualKey(path: string, guardMs = 60_000): Promise<void> {
  const end = Date.now() + guardMs;
  for (;;) {
    const answer = await virtualKeyControl(path, 'touch', guardMs);
    if (answer === 'ok') return;
    if (Date.now() > end) throw new Error(`the key never waited for a touch (${answer})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
