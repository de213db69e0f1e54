// ssh-agent (path | env): where the agent serves your sk keys to ssh, and the line for your shell.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultAgentSocketPath } from '../../ssh/socket-path';
import { CliError, Exit } from '../exit-codes';
import { printJson } from '../json';
import type { Runner } from '../program';

/** The line that sets SSH_AUTH_SOCK in a shell: sh/bash/zsh, fish or csh/tcsh. */
export function envLine(path: string, shell: 'sh' | 'fish' | 'csh'): string {
  const sq = `'${path.replace(/'/g, "'\\''")}'`;
  if (shell === 'fish') return `set -gx SSH_AUTH_SOCK ${sq};`;
  if (shell === 'csh') return `setenv SSH_AUTH_SOCK ${sq};`;
  return `SSH_AUTH_SOCK=${sq}; export SSH_AUTH_SOCK;`;
}

/** The shell family from $SHELL (default sh). */
export function shellOf(shellPath: string | undefined): 'sh' | 'fish' | 'csh' {
  const base = (shellPath ?? '').split('/').pop() ?? '';
  if (base === 'fish') return 'fish';
  if (base === 'csh' || base === 'tcsh') return 'csh';
  return 'sh';
}

export function registerSshAgentCommands(program: Command, runner: Runner): void {
  const { ctx } = runner;
  const agentSocket = (): string =>
    ctx.env.KEYVNET_SSH_AUTH_SOCK ?? defaultAgentSocketPath(ctx.platform, ctx.env);

  const cmd = program
    .command('ssh-agent')
    .description("the agent's ssh-agent socket: use your security key with ssh and git");

  cmd
    .command('path')
    .description('print the socket path (for IdentityAgent in ~/.ssh/config)')
    .option('--json', 'print JSON: {"socket", "present"}')
    .action((opts: { json?: boolean }) => {
      const socket = agentSocket();
      if (opts.json) printJson(ctx.out, { socket, present: existsSync(socket) });
      else ctx.out(`${socket}\n`);
    });

  cmd
    .command('env')
    .description('print the line that points SSH_AUTH_SOCK at the agent: eval "$(keyvnet ssh-agent env)"')
    .option('--shell <shell>', 'sh, fish or csh (default: from $SHELL)')
    .action((opts: { shell?: string }) => {
      const shell = opts.shell ?? shellOf(ctx.env.SHELL);
      if (shell !== 'sh' && shell !== 'fish' && shell !== 'csh')
        throw new CliError(`--shell wants sh, fish or csh, got "${shell}"`, Exit.Usage);
      const socket = agentSocket();
      ctx.out(`${envLine(socket, shell)}\n`);
      if (!existsSync(socket))
        ctx.err(`note: nothing listens on ${socket} yet: start the agent (keyvnet agent)\n`);
    });
}
