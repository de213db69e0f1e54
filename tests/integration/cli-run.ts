// Runs bin/keyvnet inside a test namespace and returns its exit code and output (never throws on a
// non-zero exit: the exit codes are what the tests check).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { NetNs } from '../helpers/netns';

export const KEYVNET = join(__dirname, '..', '..', 'bin', 'keyvnet');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function keyvnetIn(ns: NetNs, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, KEYVNET, ...args],
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
