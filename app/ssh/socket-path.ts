// Where the agent's socket lives. Pure (platform, environment and uid are arguments) so it is testable.
// Linux: $XDG_RUNTIME_DIR/keyvnet/agent.sock — the per-user runtime directory (0700, tmpfs, removed
// at logout). Without it, a per-user directory under /tmp.
// macOS: $TMPDIR/keyvnet/agent.sock — $TMPDIR is the per-user 0700 directory under /var/folders
// that launchd sets. A Group Containers path would be reachable by the app's extensions, but it is
// long enough to overflow sun_path (104 bytes on macOS) with long user names, and nothing but the
// user's own ssh needs this socket.
import { join } from 'node:path';

export function defaultAgentSocketPath(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  uid: number = process.getuid?.() ?? 0,
): string {
  return join(agentRuntimeDir(platform, env, uid), 'agent.sock');
}

/**
 * The agent's control socket, for `keyvnet key …` (app/agent/control-server.ts), beside the ssh-agent
 * socket in the same private directory: `control.sock`.
 */
export function defaultControlSocketPath(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  uid: number = process.getuid?.() ?? 0,
): string {
  return join(agentRuntimeDir(platform, env, uid), 'control.sock');
}

function agentRuntimeDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, uid: number): string {
  if (platform === 'darwin' && env.TMPDIR) return join(env.TMPDIR, 'keyvnet');
  if (platform !== 'darwin' && env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'keyvnet');
  return join('/tmp', `keyvnet-${uid}`);
}

/** The line to give users for their shell profile. */
export function sshAuthSockExport(path: string): string {
  return `export SSH_AUTH_SOCK='${path.replace(/'/g, "'\\''")}'`;
}
