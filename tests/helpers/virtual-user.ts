// A user's SSH keys on the project's virtual security key, for the end-to-end tests, the demo and the
// bench: enrols sk keys on a virtual key kept in `statePath` (which the agent opens later with
// `--virtual-key statePath`) and writes their key files as `ssh-keygen -t ecdsa-sk -f` would.
import { mkdirSync, writeFileSync } from 'node:fs';
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
