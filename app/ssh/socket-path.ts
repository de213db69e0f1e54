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
  if (platform === 'darwin' && env.TMPDIR) return join(env.TMPDIR, 'keyvnet', 'agent.sock');
  if (platform !== 'darwin' && env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'keyvnet', 'agent.sock');
  return join('/tmp', `keyvnet-${uid}`, 'agent.sock');
}

/** The line to give users for their shell profile. */
export function sshAuthSockExport(path: string): string {
  return `export SSH_AUTH_SOCK='${path.replace(/'/g, "'\\''")}'`;
}
