// A directory of sk key files (openssh-key-v1, one key per file, `<name>` + `<name>.pub`), as
// `ssh-keygen -t ecdsa-sk -f <dir>/<name>` would write them. The agent offers what it finds; a bad
// file is reported and skipped, never the reason the other keys go missing. Passphrase-protected
// files are offered by their public key and opened (through the KeyFileUnlocker's prompt) when used.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLocked, type AgentKey, type KeyFileUnlocker, type LockedSkKey } from './key-unlock';
import { parsePrivateKeyFile, writePrivateKeyFile } from './keyfile';
import { parsePublicKeyLine, publicKeyLine, SK_ECDSA_TYPE, type SkKey } from './keys';

export interface KeyFileProblem {
  file: string;
  message: string;
}

export class SkKeyDirectory {
  private readonly reported = new Set<string>();

  /**
   * `onProblem` hears about each bad file once (per change of the file). Without an `unlocker`,
   * passphrase-protected files are reported as problems.
   */
  constructor(
    readonly dir: string,
    private readonly onProblem: (p: KeyFileProblem) => void = () => undefined,
    private readonly unlocker?: KeyFileUnlocker,
  ) {}

  /** Every loadable key, in file-name order, plus what was wrong with the other files. */
  load(): { keys: AgentKey[]; problems: KeyFileProblem[] } {
    let names: string[];
    try {
      names = readdirSync(this.dir).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [], problems: [] };
      throw err;
    }
    const keys: AgentKey[] = [];
    const problems: KeyFileProblem[] = [];
    for (const name of names) {
      if (name.endsWith('.pub') || name.startsWith('.')) continue;
      const file = join(this.dir, name);
      const st = lstatSync(file);
      if (!st.isFile()) continue;
      const problem = (message: string): void => {
        problems.push({ file, message });
        const id = `${file}:${st.mtimeMs}:${message}`;
        if (!this.reported.has(id)) {
          this.reported.add(id);
          this.onProblem({ file, message });
        }
      };
      // Like ssh(1): a private key file others can read is refused, not silently used.
      if (process.platform !== 'win32' && st.mode & 0o077) {
        problem(`permissions ${(st.mode & 0o777).toString(8)} are too open; run chmod 600 ${file}`);
        continue;
      }
      try {
        const parsed = parsePrivateKeyFile(readFileSync(file, 'utf8'));
        if (!parsed.encrypted) keys.push(parsed.open());
        else if (!this.unlocker) problem('protected by a passphrase, and this agent cannot ask for it');
        else keys.push(this.unlocker.cached(file) ?? this.locked(file, parsed.publicKey));
      } catch (err) {
        problem((err as Error).message);
      }
    }
    return { keys, problems };
  }

  /** Just the keys (for SshAgentOptions.keys); locked ones open on first use. */
  keys(): AgentKey[] {
    return this.load().keys;
  }

  /** The keys that need no passphrase, or whose passphrase was given in this run. */
  openKeys(): SkKey[] {
    return this.keys().filter((k): k is SkKey => !isLocked(k));
  }

  private locked(file: string, publicKey: LockedSkKey['publicKey']): LockedSkKey {
    // The comment is inside the encrypted part; the .pub file next to it has it in the clear.
    let comment = file;
    try {
      comment = parsePublicKeyLine(readFileSync(`${file}.pub`, 'utf8').trim()).comment || file;
    } catch {
      /* no readable .pub: the path will do */
    }
    const unlocker = this.unlocker!;
    return { locked: true, file, publicKey, comment, unlock: (ctx) => unlocker.open(file, ctx) };
  }

  /**
   * Saves a newly enrolled key as `id_ecdsa_sk` / `id_ed25519_sk` (or with a number if taken) and
   * its `.pub`; returns the private key file's path. Never overwrites a file.
   */
  save(key: SkKey, passphrase?: string, baseName?: string): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const base = baseName ?? (key.type === SK_ECDSA_TYPE ? 'id_ecdsa_sk' : 'id_ed25519_sk');
    for (let n = 1; ; n++) {
      const file = join(this.dir, n === 1 ? base : `${base}${n}`);
      try {
        writeFileSync(file, writePrivateKeyFile(key, passphrase), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      writeFileSync(`${file}.pub`, `${publicKeyLine(key, key.comment)}\n`, { mode: 0o644 });
      return file;
    }
  }
}
