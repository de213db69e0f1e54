// A directory of sk key files (openssh-key-v1, one key per file, `<name>` + `<name>.pub`), as
// `ssh-keygen -t ecdsa-sk -f <dir>/<name>` would write them. The agent offers what it finds; a bad
// file is reported and skipped, never the reason the other keys go missing.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPrivateKeyFile, writePrivateKeyFile } from './keyfile';
import { publicKeyLine, SK_ECDSA_TYPE, type SkKey } from './keys';

export interface KeyFileProblem {
  file: string;
  message: string;
}

export class SkKeyDirectory {
  private readonly reported = new Set<string>();

  /** `onProblem` hears about each bad file once (per change of the file). */
  constructor(
    readonly dir: string,
    private readonly onProblem: (p: KeyFileProblem) => void = () => undefined,
  ) {}

  /** Every loadable key, in file-name order, plus what was wrong with the other files. */
  load(): { keys: SkKey[]; problems: KeyFileProblem[] } {
    let names: string[];
    try {
      names = readdirSync(this.dir).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { keys: [], problems: [] };
      throw err;
    }
    const keys: SkKey[] = [];
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
        keys.push(readPrivateKeyFile(readFileSync(file, 'utf8')));
      } catch (err) {
        problem((err as Error).message);
      }
    }
    return { keys, problems };
  }

  /** Just the keys (for SshAgentOptions.keys). */
  keys(): SkKey[] {
    return this.load().keys;
  }

  /**
   * Saves a newly enrolled key as `id_ecdsa_sk` / `id_ed25519_sk` (or with a number if taken) and
   * its `.pub`; returns the private key file's path. Never overwrites a file.
   */
  save(key: SkKey): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const base = key.type === SK_ECDSA_TYPE ? 'id_ecdsa_sk' : 'id_ed25519_sk';
    for (let n = 1; ; n++) {
      const file = join(this.dir, n === 1 ? base : `${base}${n}`);
      try {
        writeFileSync(file, writePrivateKeyFile(key), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      writeFileSync(`${file}.pub`, `${publicKeyLine(key, key.comment)}\n`, { mode: 0o644 });
      return file;
    }
  }
}
