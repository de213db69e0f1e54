// A CliContext that captures output, for running `keyvnet` in-process in tests.
import { resolve } from 'node:path';
import type { CliContext } from '../../../app/cli/context';
import { runCli } from '../../../app/cli/program';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  platform: NodeJS.Platform = 'linux',
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    // No running agent's control socket is reached unless a test names one.
    env: { HOME: '/nonexistent', KEYVNET_AGENT_SOCKET: '/nonexistent/control.sock', ...env },
    platform,
    version: '0.0.0-test',
    root: resolve(__dirname, '..', '..', '..'),
  };
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}
