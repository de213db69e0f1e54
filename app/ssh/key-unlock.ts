// Opens key files for the agent, asking for passphrases through the prompter. A file's passphrase
// is asked once per agent run: the decrypted key (public fields, application, flags and key handle;
// the secret stays on the security key) is kept in memory, the passphrase is never kept or written.
// Asking goes through the RequestQueue, so the UI lists "passphrase for <file>" and can cancel it.
import { readFileSync, statSync } from 'node:fs';
import { FidoError, type OperationContext, type UserPrompter } from '../fido/api';
import { requestQueue, type RequestQueue } from '../fido/request-queue';
import { parsePrivateKeyFile, WrongPassphraseError } from './keyfile';
import type { SkKey, SkPublicKey } from './keys';

/** Wrong passphrases allowed per request before giving up (a key file has no lockout of its own). */
const MAX_ATTEMPTS = 3;

/** A key file whose passphrase has not been given yet: listed by its public key, opened on use. */
export interface LockedSkKey {
  locked: true;
  file: string;
  publicKey: SkPublicKey;
  comment: string;
  unlock(ctx: OperationContext): Promise<SkKey>;
}

export type AgentKey = SkKey | LockedSkKey;

export function isLocked(k: AgentKey): k is LockedSkKey {
  return 'locked' in k && k.locked === true;
}

export class KeyFileUnlocker {
  private readonly cache = new Map<string, SkKey>();

  constructor(
    private readonly prompter: UserPrompter,
    private readonly queue: RequestQueue = requestQueue,
  ) {}

  /** The key already opened in this run, if any (the file must not have changed since). */
  cached(file: string): SkKey | undefined {
    return this.cache.get(cacheKey(file));
  }

  /** The full key from `file`, asking its passphrase when it has one and it is not cached. */
  async open(file: string, ctx: OperationContext): Promise<SkKey> {
    const id = cacheKey(file);
    const hit = this.cache.get(id);
    if (hit) return hit;
    const parsed = parsePrivateKeyFile(readFileSync(file, 'utf8'));
    if (!parsed.encrypted) return parsed.open();
    const ask = this.prompter.askPassphrase?.bind(this.prompter);
    if (!ask)
      throw new FidoError('unsupported', `${file} is protected by a passphrase and nothing can ask for it.`);
    // One passphrase dialog per file at a time: the lane is the file.
    const key = await this.queue.run(laneFor(file), file, ctx, async (r) => {
      const again = this.cache.get(id); // asked and answered while we queued
      if (again) return again;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const pass = await ask({ requestId: r.id, file, attempt, purpose: ctx.purpose, signal: r.signal });
        r.signal.throwIfAborted();
        if (pass === null) throw new FidoError('cancelled', `No passphrase was given for ${file}.`);
        try {
          return parsed.open(pass);
        } catch (err) {
          if (!(err instanceof WrongPassphraseError)) throw err;
        }
      }
      throw new FidoError('cancelled', `Wrong passphrase for ${file} (${MAX_ATTEMPTS} attempts).`);
    });
    this.cache.set(id, key);
    return key;
  }

  /** Forget every opened key (e.g. `ssh-add -D`, or the user locking the agent). */
  forget(): void {
    this.cache.clear();
  }
}

const lanes = new Map<string, object>();
function laneFor(file: string): object {
  let lane = lanes.get(file);
  if (!lane) lanes.set(file, (lane = {}));
  return lane;
}

function cacheKey(file: string): string {
  const st = statSync(file);
  return `${file}\0${st.mtimeMs}\0${st.size}`;
}
