// Reloads the config when its file changes. The directory is watched, not the file: editors save by
// writing a new file and renaming it over the old one, which a watch on the old file would miss.
// Events are debounced, the file re-loaded, and onChange called only when the result differs; an
// invalid file calls onError and the last good config stays in force.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadConfig, type LoadOptions } from './load';
import type { UserConfig } from './types';

export interface WatchOptions extends LoadOptions {
  /**
   * The config the caller runs now (from its own loadConfig). Without it, the watcher loads the file
   * at once and calls onChange (or onError) with that first result. Either way it re-checks the file
   * right after it starts watching, so an edit made in between is not lost.
   */
  current?: UserConfig;
  /** Quiet time after the last event before reloading (default 200 ms): one save is several events. */
  debounceMs?: number;
  /** After each reload: what it found. For logs and tests. */
  onSettled?: (outcome: 'changed' | 'unchanged' | 'error') => void;
}

/** Starts watching; returns a function that stops it. */
export function watchConfig(
  path: string,
  onChange: (config: UserConfig) => void,
  onError: (err: Error) => void,
  opts: WatchOptions = {},
): () => void {
  const { current, debounceMs = 200, onSettled, ...loadOptions } = opts;
  let last: UserConfig | undefined = current;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reload = (): void => {
    timer = undefined;
    if (closed) return;
    let next: UserConfig;
    try {
      next = loadConfig(path, loadOptions);
    } catch (err) {
      onError(err as Error);
      onSettled?.('error');
      return;
    }
    if (last !== undefined && isDeepStrictEqual(last, next)) {
      onSettled?.('unchanged');
      return;
    }
    last = next;
    onChange(next);
    onSettled?.('changed');
  };
  const schedule = (delay: number): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, delay);
  };

  const name = basename(path);
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
    // No name (some platforms) means "something changed here": reload; the comparison filters it.
    if (filename === null || filename === name) schedule(debounceMs);
  });
  watcher.on('error', (err) => onError(err));
  schedule(0);

  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
