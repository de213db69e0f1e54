// agent, daemon (run | install | uninstall): start the two halves of KeyVNet, or install the daemon
// as a system service.
import { Command, Option } from 'commander';
import { defaultDaemonSocketDir } from '../../../ipc/socket-path';
import { DEFAULT_STATE_DIR } from '../../../systemext/daemon-config';
import { entryPoint, runEntryPoint, tsxNodeArgs } from '../entry-points';
import { CliError, Exit, type ExitCode } from '../exit-codes';
import type { Runner } from '../program';
import { applyInstall, applyUninstall, installPlan, uninstallPlan } from '../service/install';

export function registerAgentCommands(program: Command, runner: Runner): void {
  const { ctx } = runner;

  program
    .command('agent')
    .description('run the KeyVNet agent (the menu-bar app, or --headless on a terminal)')
    .option('--headless', 'no GUI: status and prompts on the terminal')
    .allowExcessArguments(false)
    .action(async (opts: { headless?: boolean }, cmd: Command) => {
      // The global --config, --socket and --agent-socket reach the agent as its own flags.
      const g = runner.globals(cmd);
      const args = opts.headless ? ['--headless'] : [];
      if (g.config ?? ctx.env.KEYVNET_CONFIG) args.push('--config', (g.config ?? ctx.env.KEYVNET_CONFIG)!);
      if (g.socket ?? ctx.env.KEYVNET_SOCKET)
        args.push('--daemon-socket', (g.socket ?? ctx.env.KEYVNET_SOCKET)!);
      if (g.agentSocket ?? ctx.env.KEYVNET_AGENT_SOCKET)
        args.push('--agent-socket', (g.agentSocket ?? ctx.env.KEYVNET_AGENT_SOCKET)!);
      const code = await runEntryPoint(entryPoint(ctx.root, 'agent'), args);
      runner.exitCode = code as ExitCode;
    });

  const daemon = program
    .command('daemon')
    .description('run the privileged daemon, or install it as a system service (root)');

  daemon
    .command('run')
    .description('run the daemon in the foreground (root); stops cleanly on Ctrl-C')
    .option('--allow-uid <uid>', 'the user whose agent may connect (Linux: default $SUDO_UID)')
    .option(
      '--socket-dir <dir>',
      `directory of daemon.sock (default ${defaultDaemonSocketDir(ctx.platform)})`,
    )
    .option('--state-dir <dir>', `state directory (default ${DEFAULT_STATE_DIR})`)
    .option('--tun-name <name>', 'tun interface name (Linux)')
    .action(async (opts: { allowUid?: string; socketDir?: string; stateDir?: string; tunName?: string }) => {
      const args: string[] = [];
      const uid = opts.allowUid ?? ctx.env.SUDO_UID;
      if (uid !== undefined) args.push('--allow-uid', uid);
      if (opts.socketDir) args.push('--socket-dir', opts.socketDir);
      if (opts.stateDir) args.push('--state-dir', opts.stateDir);
      if (opts.tunName) args.push('--tun-name', opts.tunName);
      const code = await runEntryPoint(entryPoint(ctx.root, 'daemon'), args);
      runner.exitCode = code as ExitCode;
    });

  daemon
    .command('install')
    .description('install and start the daemon as a system service (systemd unit / launchd LaunchDaemon)')
    .option('--allow-uid <uid>', 'the user whose agent may connect (Linux: required, default $SUDO_UID)')
    .option('--socket-dir <dir>', 'directory of daemon.sock', defaultDaemonSocketDir(ctx.platform))
    .option('--state-dir <dir>', 'state directory', DEFAULT_STATE_DIR)
    .option('--print', 'print the unit file and the commands, change nothing')
    .addOption(
      new Option('--root <dir>', 'write the unit under this directory and run no command (packaging, tests)')
        .default('/')
        .hideHelp(),
    )
    .action(
      (opts: { allowUid?: string; socketDir: string; stateDir: string; print?: boolean; root: string }) => {
        const uidText = opts.allowUid ?? ctx.env.SUDO_UID;
        if (uidText !== undefined && !/^\d{1,10}$/.test(uidText))
          throw new CliError(`--allow-uid wants a numeric uid, got "${uidText}"`, Exit.Usage);
        if (ctx.platform === 'linux' && uidText === undefined)
          throw new CliError(
            '--allow-uid is required on Linux (the uid of the user whose agent may connect)',
            Exit.Usage,
          );
        const plan = installPlan(ctx.platform, {
          node: process.execPath,
          nodeArgs: tsxNodeArgs(),
          daemonScript: entryPoint(ctx.root, 'daemon'),
          allowUid: uidText === undefined ? null : Number(uidText),
          socketDir: opts.socketDir,
          stateDir: opts.stateDir,
        });
        if (opts.print) {
          ctx.out(`# ${plan.path}\n${plan.content}\n`);
          for (const c of plan.commands) ctx.out(`${c.join(' ')}\n`);
          return;
        }
        mustBeRoot(opts.root);
        const r = applyInstall(plan, opts.root);
        ctx.out(`wrote ${r.file}\n`);
        if (!r.ran) for (const c of r.commands) ctx.out(`to start it: ${c.join(' ')}\n`);
        else ctx.out('the daemon service is installed and started\n');
      },
    );

  daemon
    .command('uninstall')
    .description('stop the daemon service and remove it')
    .addOption(
      new Option('--root <dir>', 'remove the unit under this directory, run no command')
        .default('/')
        .hideHelp(),
    )
    .action((opts: { root: string }) => {
      mustBeRoot(opts.root);
      const r = applyUninstall(uninstallPlan(ctx.platform), opts.root);
      ctx.out(`removed ${r.file}\n`);
    });

  function mustBeRoot(root: string): void {
    if (root === '/' && process.getuid?.() !== 0)
      throw new CliError('installing a system service needs root: run it with sudo', Exit.Failure);
  }
}
