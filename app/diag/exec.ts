// Running the system tools the checks read (ip, resolvectl, getent, iptables-save, nft, scutil,
// pfctl, netstat), each with a deadline; a missing tool is reported as such, never thrown.
import { execFile } from 'node:child_process';

export interface ExecResult {
  /** null: the tool is not installed. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export type Exec = (cmd: string, args: string[]) => Promise<ExecResult>;

export const realExec: Exec = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
      if (e && e.code === 'ENOENT')
        return resolve({ code: null, stdout: '', stderr: `${cmd}: not installed` });
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({
        code,
        stdout: String(stdout),
        stderr: String(stderr) || (e?.killed ? `${cmd}: timed out` : ''),
      });
    });
  });
