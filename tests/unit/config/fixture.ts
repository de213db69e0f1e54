// Temp homes with a security-key file, and config files in them, for the config tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePrivateKeyFile } from '../../../app/ssh/keyfile';
import { publicKeyLine, SK_ED25519_TYPE, type SkKey } from '../../../app/ssh/keys';

export const SK_KEY: SkKey = {
  type: SK_ED25519_TYPE,
  publicKey: Buffer.alloc(32, 7),
  application: 'ssh:',
  flags: 1,
  keyHandle: Buffer.alloc(16, 1),
  comment: 'test',
};

/** A real ed25519 host key line (ssh-keygen's output format). */
export const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

export interface TempHome {
  home: string;
  /** Writes config.toml in the home and returns its path. */
  write(text: string, name?: string): string;
  remove(): void;
}

/** A temp home with ~/.ssh/id_ed25519_sk(.pub). */
export function tempHome(): TempHome {
  const home = mkdtempSync(join(tmpdir(), 'keyvnet-config-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  writeFileSync(join(home, '.ssh', 'id_ed25519_sk'), writePrivateKeyFile(SK_KEY), { mode: 0o600 });
  writeFileSync(join(home, '.ssh', 'id_ed25519_sk.pub'), `${publicKeyLine(SK_KEY, 'test')}\n`);
  return {
    home,
    write(text, name = 'config.toml') {
      const path = join(home, name);
      writeFileSync(path, text);
      return path;
    },
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** Strips the common indentation, so configs can be written inline in tests. */
export function toml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const indent = Math.min(
    ...text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => /^ */.exec(l)![0].length),
  );
  return text
    .split('\n')
    .map((l) => l.slice(indent))
    .join('\n');
}
