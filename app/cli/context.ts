// What every subcommand gets: where to write, the environment, and the paths chosen by global options.
// Tests build one with captured output; main.ts builds the real one.
import { resolve } from 'node:path';
import packageJson from '../../package.json';
import { daemonSocketPath, defaultDaemonSocketDir } from '../../ipc/socket-path';

export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  version: string;
  /** The directory of this checkout (for `agent` and `daemon run`, which start our entry points). */
  root: string;
}

/** Options every command shares (set on the program, read with optsWithGlobals). */
export interface GlobalOptions {
  socket?: string;
  config?: string;
  /** The agent's control socket (`--agent-socket`); `--no-agent` sets agent false. */
  agentSocket?: string;
  agent?: boolean;
}

export function realContext(): CliContext {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    platform: process.platform,
    version: packageJson.version,
    root: resolve(__dirname, '..', '..'),
  };
}

/** `--socket`, else $KEYVNET_SOCKET, else the platform's default daemon socket. */
export function socketPathOf(ctx: CliContext, g: GlobalOptions): string {
  return g.socket ?? ctx.env.KEYVNET_SOCKET ?? daemonSocketPath(defaultDaemonSocketDir(ctx.platform));
}
