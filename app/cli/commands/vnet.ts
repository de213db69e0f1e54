// status, connections, up, down: questions and orders to the daemon, as a 'cli' peer.
import type { Command } from 'commander';
import { loadConfigOrExit, configPathOf } from '../config-file';
import { socketPathOf } from '../context';
import { withDaemon, type DaemonLink } from '../daemon-link';
import { CliError, Exit } from '../exit-codes';
import { formatApps, formatConnections, formatStatus, type DaemonInfo } from '../format';
import { appsJson, connectionsJson, daemonDownJson, printJson, statusJson } from '../json';
import type { Runner } from '../program';

const info = (l: DaemonLink): DaemonInfo => ({
  socket: l.socketPath,
  version: l.daemon.version,
  pid: l.daemon.pid,
});

export function registerVNetCommands(program: Command, runner: Runner): void {
  const { ctx } = runner;

  program
    .command('status')
    .description('show whether VNet is up, its interface, DNS, zones and bastions')
    .option('--json', 'print JSON (fields: README "keyvnet --json")')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const socket = socketPathOf(ctx, runner.globals(cmd));
      try {
        await withDaemon(ctx, socket, async (link) => {
          const s = await link.peer.request('vnet/status', {}, { timeoutMs: 5000 });
          if (opts.json) printJson(ctx.out, statusJson(info(link), s));
          else ctx.out(formatStatus(info(link), s, Date.now()));
        });
      } catch (err) {
        // Scripts asking for JSON get a JSON answer even when the daemon is down (and exit code 3).
        if (opts.json && err instanceof CliError && err.exitCode === Exit.DaemonNotRunning) {
          printJson(ctx.out, daemonDownJson(socket, err.message));
        }
        throw err;
      }
    });

  program
    .command('connections')
    .description('list the open connections through VNet')
    .option(
      '--json',
      'print JSON: {"connections": [{id, fqdn, port, openedAt, bytesUp, bytesDown, via, process?}]}',
    )
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withDaemon(ctx, socketPathOf(ctx, runner.globals(cmd)), async (link) => {
        const { connections } = await link.peer.request('vnet/connections', {}, { timeoutMs: 5000 });
        if (opts.json) printJson(ctx.out, connectionsJson(connections));
        else ctx.out(formatConnections(connections, Date.now()));
      });
    });

  program
    .command('apps')
    .description('list the apps of your config, with their virtual addresses while VNet is up')
    .option('--json', 'print JSON: {"apps": [{name, via, target, ports, description, v4, v6}]}')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = runner.globals(cmd);
      const config = loadConfigOrExit(configPathOf(ctx, g));
      // Addresses exist only while VNet is up; without a daemon the list is still useful.
      let addresses: Record<string, { v4: string; v6: string | null }> = {};
      try {
        addresses = await withDaemon(ctx, socketPathOf(ctx, g), async (link) => {
          return (await link.peer.request('vnet/status', {}, { timeoutMs: 5000 })).apps;
        });
      } catch (err) {
        if (!(err instanceof CliError && err.exitCode === Exit.DaemonNotRunning)) throw err;
      }
      const list = appsJson(config.apps, addresses);
      if (opts.json) printJson(ctx.out, list);
      else ctx.out(formatApps(list.apps));
    });

  for (const [name, method, what] of [
    ['up', 'vnet/up', 'turn VNet on (needs the agent running)'],
    ['down', 'vnet/down', 'turn VNet off (the agent stays connected)'],
  ] as const) {
    program
      .command(name)
      .description(what)
      .option('--json', 'print the resulting status as JSON (as `status --json`)')
      .action(async (opts: { json?: boolean }, cmd: Command) => {
        await withDaemon(ctx, socketPathOf(ctx, runner.globals(cmd)), async (link) => {
          const s = await link.peer.request(method, {}, { timeoutMs: 30_000 });
          if (opts.json) printJson(ctx.out, statusJson(info(link), s));
          else ctx.out(formatStatus(info(link), s, Date.now()));
          if (method === 'vnet/up' && s.state !== 'up') {
            throw new CliError(`VNet did not come up: ${s.error ?? s.state}`, Exit.Failure);
          }
        });
      });
  }
}
