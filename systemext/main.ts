// CLI entry of the root daemon:
//   node --import tsx systemext/main.ts --allow-uid 501 [--socket-dir DIR] [--state-dir DIR] [--tun-name NAME]
// It reads no user configuration: it listens on `<socket-dir>/daemon.sock` and waits for the user's
// agent, which pushes the configuration and says when VNet is to be up (ipc/messages.ts). Prints
// `READY {"socket": ...}` on stdout once listening; stops in order on SIGTERM/SIGINT (VNet down, OS
// configuration undone). Log lines go to stderr.
import packageJson from '../package.json';
import type { RpcPeer } from '../ipc/rpc';
import { RpcAgentBridge } from './agent-bridge';
import { AgentResolver } from './agent-resolver';
import { AgentServer } from './agent-server';
import { DAEMON_USAGE, parseDaemonArgs, UsageError, type DaemonSettings } from './daemon-config';
import { RoutingDialer } from './routing-dialer';
import { VNetController } from './vnet-controller';
import { stderrLog, type DaemonLog } from './vnet-instance';
import { DirectDialer } from './vnet';
import { SshDialer, type BastionState } from './ssh';

export interface RunningDaemon {
  server: AgentServer;
  controller: VNetController;
  stop(): Promise<void>;
}

/** Starts the daemon: the controller (VNet down until the agent asks) and the socket. */
export async function startDaemon(
  settings: DaemonSettings,
  opts: { log?: DaemonLog; version?: string; pingIntervalMs?: number; pingDeadMs?: number } = {},
): Promise<RunningDaemon> {
  const log = opts.log ?? stderrLog;
  let server: AgentServer | null = null;
  const agent = (): RpcPeer | null => server?.agent() ?? null;
  // Apps behind a bastion: one SSH session per bastion, signed by the agent's security key.
  const ssh = new SshDialer(new RpcAgentBridge(agent), {
    log: (level, msg) => {
      if (level !== 'debug') log(level, `ssh: ${msg}`);
    },
  });
  const controller: VNetController = new VNetController(settings, {
    resolver: new AgentResolver(agent, () => controller.zones()),
    dialer: new RoutingDialer(new DirectDialer(), ssh),
    log,
    bastions: () => ssh.states(),
    onDown: () => ssh.states().forEach((b) => ssh.disconnect(b.name)),
  });
  ssh.on('state', (bastion: BastionState) => controller.bastionChanged(bastion));
  ssh.on('error', () => {}); // reported through the engine's dial errors
  server = new AgentServer(settings, controller, {
    version: opts.version ?? packageJson.version,
    log,
    pingIntervalMs: opts.pingIntervalMs,
    pingDeadMs: opts.pingDeadMs,
    disconnectBastion: (name) => ssh.disconnect(name),
  });
  await server.listen();
  const srv = server;
  let stopping: Promise<void> | null = null;
  return {
    server: srv,
    controller,
    stop: () =>
      (stopping ??= (async () => {
        await controller.down('the daemon is stopping');
        await ssh.close();
        await srv.close();
      })()),
  };
}

async function main(argv: string[]): Promise<void> {
  let settings: DaemonSettings;
  try {
    settings = parseDaemonArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`keyvnet-daemon: ${err.message}\n${DAEMON_USAGE}\n`);
    process.exit(2);
  }
  if (process.getuid?.() !== 0) stderrLog('warn', 'not running as root: VNet will fail to open the tun');

  let daemon: RunningDaemon | null = null;
  let stopping = false;
  const keepAlive = setInterval(() => {}, 1 << 30);
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    stderrLog('info', `${signal}: stopping`);
    if (!daemon) return; // during start-up: stopped once startDaemon returns (below)
    void daemon.stop().then(() => {
      stderrLog('info', 'stopped');
      clearInterval(keepAlive);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Nothing a peer sends may take the daemon down: log what escaped and keep serving.
  process.on('uncaughtException', (err) => stderrLog('error', `uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => stderrLog('error', `unhandled rejection: ${String(err)}`));

  daemon = await startDaemon(settings);
  if (stopping) {
    await daemon.stop();
    process.exit(0);
  }
  stderrLog('info', `listening on ${daemon.server.socketPath} for uid ${settings.allowUid}`);
  process.stdout.write(`READY ${JSON.stringify({ socket: daemon.server.socketPath, pid: process.pid })}\n`);
}

// Run when started as a program: directly (tsx), or as the entry of a webpack bundle, where `module` is
// webpack's and never equals require.main.
declare const __webpack_require__: unknown;
if (typeof __webpack_require__ === 'function' || require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    stderrLog('error', err.message);
    process.exit(1);
  });
}
