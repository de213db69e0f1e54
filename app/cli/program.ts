// The `keyvnet` command line (commander): global options, the subcommand groups, and how errors turn
// into exit codes (exit-codes.ts). Each group registers itself from commands/*.ts.
import { Command, CommanderError } from 'commander';
import type { CliContext, GlobalOptions } from './context';
import { CliError, Exit, EXIT_CODE_HELP, type ExitCode } from './exit-codes';
import { registerAgentCommands } from './commands/agent';
import { registerConfigCommands } from './commands/config';
import { registerDiagCommand } from './commands/diag';
import { registerKeyCommands } from './commands/key';
import { registerSshAgentCommands } from './commands/ssh-agent';
import { registerVNetCommands } from './commands/vnet';

/** Passed to every group: the context, and a way to end with a code other than 0 without an error. */
export interface Runner {
  ctx: CliContext;
  exitCode: ExitCode;
  /** The global options (--socket, --config), from any subcommand. */
  globals(cmd: Command): GlobalOptions;
}

export function buildProgram(runner: Runner): Command {
  const { ctx } = runner;
  const program = new Command('keyvnet')
    .description('KeyVNet: a virtual network to internal apps through an SSH bastion and a security key.')
    .version(ctx.version, '-V, --version')
    .option('--socket <path>', 'the daemon socket (default: $KEYVNET_SOCKET or the platform default)')
    .option('--config <path>', 'the config file (default: $KEYVNET_CONFIG or the platform default)')
    .option(
      '--agent-socket <path>',
      "the running agent's control socket: key commands and diag prompt there (default: $KEYVNET_AGENT_SOCKET or the platform default)",
    )
    .option(
      '--no-agent',
      'key commands and diag use the security key from this terminal even when an agent runs',
    )
    .addHelpText('after', `\n${EXIT_CODE_HELP}\n`)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  // Subcommands inherit exitOverride and output settings only when set before they are added.
  registerVNetCommands(program, runner);
  registerAgentCommands(program, runner);
  registerKeyCommands(program, runner);
  registerSshAgentCommands(program, runner);
  registerConfigCommands(program, runner);
  registerDiagCommand(program, runner);
  return program;
}

/** Runs `keyvnet <argv>` (without node and script); resolves to the exit code, never throws. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const runner: Runner = {
    ctx,
    exitCode: Exit.Ok,
    globals: (cmd) => cmd.optsWithGlobals<GlobalOptions>(),
  };
  const program = buildProgram(runner);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return runner.exitCode;
  } catch (err) {
    return exitCodeOf(err, ctx);
  }
}

function exitCodeOf(err: unknown, ctx: CliContext): number {
  if (err instanceof CommanderError) {
    // Help and version (exit code 0) were printed by commander; anything else is a usage error it
    // has already reported (unknown command or option, missing argument, a group without a subcommand).
    return err.exitCode === 0 ? Exit.Ok : Exit.Usage;
  }
  if (err instanceof CliError) {
    ctx.err(`keyvnet: ${err.message}\n`);
    for (const d of err.details) ctx.err(`${d}\n`);
    return err.exitCode;
  }
  ctx.err(`keyvnet: ${(err as Error)?.message ?? String(err)}\n`);
  return Exit.Failure;
}
