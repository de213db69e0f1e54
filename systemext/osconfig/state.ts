// The small record of what we configured, written BEFORE changing the OS so that the next start
// after a crash (kill -9, power loss) can undo it. Kept in the daemon's state dir.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ResolverMode } from './types';

export interface OsState {
  version: 1;
  platform: 'linux' | 'darwin';
  pid: number;
  tunName: string;
  /** Interface addresses with prefix, e.g. `100.64.0.1/10`, `fd00::1/64`. */
  addresses: string[];
  /** Routed ranges, e.g. `100.64.0.0/10`. */
  routes: string[];
  resolver: ResolverMode;
  /** For netns-resolv-conf: the file we rewrote. For resolver-files: the directory. */
  resolverPath?: string;
  /** IP families whose UDP filter chain (udp-filter.linux.ts) was installed; absent in older files. */
  udpFilter?: (4 | 6)[];
}

export const STATE_FILE = 'osconfig-state.json';

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

/** Reads the state file; null when absent. A damaged file is reported and treated as absent. */
export function readState(path: string, onBad: (msg: string) => void): OsState | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const s = JSON.parse(text) as OsState;
    if (s.version !== 1 || typeof s.tunName !== 'string' || !Array.isArray(s.routes))
      throw new Error('bad shape');
    return s;
  } catch (err) {
    onBad(`ignoring damaged state file ${path}: ${(err as Error).message}`);
    return null;
  }
}

/** Atomic write (temp + rename) so a crash never leaves half a state file. */
export function writeState(path: string, state: OsState): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

export function removeState(path: string): void {
  rmSync(path, { force: true });
}
