// "Open Config…" on a first run: there is no config file yet. Rather than an editor error, create
// it with the README's example, every line commented out, so the person sees what to write and an
// unedited file still loads (no apps). Never overwrites an existing file.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const EXAMPLE_CONFIG = join(__dirname, '..', 'config', 'example.toml');

/** Every line that is not already a comment or blank becomes one. Pure. */
export function commentedOut(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.trim() === '' || l.trimStart().startsWith('#') ? l : `# ${l}`))
    .join('\n');
}

/** Creates `path` from the commented example when it does not exist; true when it created it. */
export function ensureConfigFile(path: string, example: string = EXAMPLE_CONFIG): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const head = '# KeyVNet configuration. Uncomment and edit the example below; KeyVNet reloads on save.\n\n';
  writeFileSync(path, head + commentedOut(readFileSync(example, 'utf8')), { flag: 'wx', mode: 0o600 });
  return true;
}
