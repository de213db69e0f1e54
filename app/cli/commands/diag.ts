// diag: find what breaks a VNet (routes, resolver, firewall, daemon, agent, bastions, key). The key
// check and the --auth sign-ins go through the running agent when there is one (diag-keys.ts).
import type { Command } from 'commander';
import { formatReport, runDiagnostics } from '../../diag';
import { TerminalPrompter } from '../../headless/prompts';
import { defaultAgentSocketPath } from '../../ssh/socket-path';
import { configPathOf } from '../config-file';
import { socketPathOf } from '../context';
import { diagKeys } from '../diag-keys';
import { Exit } from '../exit-codes';
import { printJson } from '../json';
import type { Runner } from '../program';
import { localKeys } from '../security-keys';

export function registerDiagCommand(program: Command, runner: Runner): void {
  const { ctx } = runner;
  program
    .command('diag')
    .description(
      'check routes, DNS, firewall, the daemon, the agent, each bastion and the key (exit 5 if a check fails)',
    )
    .option(
      '--json',
      'print JSON: {"at", "platform", "checks": [{id, title, status, evidence, fix}], "summary"}',
    )
    .option(
      '--auth',
      'also sign in to each bastion with your security key (a touch each; at the running agent when there is one)',
    )
    .action(async (opts: { json?: boolean; auth?: boolean }, cmd: Command) => {
      const g = runner.globals(cmd);
      const keys = await diagKeys(ctx, g, () => localKeys(ctx, new TerminalPrompter()));
      const report = await runDiagnostics({
        configPath: configPathOf(ctx, g),
        daemonSocketPath: socketPathOf(ctx, g),
        agentSocketPath: ctx.env.KEYVNET_SSH_AUTH_SOCK ?? defaultAgentSocketPath(ctx.platform, ctx.env),
        version: ctx.version,
        platform: ctx.platform,
        daemonUid: ctx.env.KEYVNET_DAEMON_UID ? Number(ctx.env.KEYVNET_DAEMON_UID) : 0,
        securityKeys: () => keys.securityKeys(),
        keysVia: keys.via,
        signer: opts.auth ? keys.signer : undefined,
        onProgress: opts.json ? undefined : (what) => ctx.err(`checking ${what}…\n`),
      }).finally(() => keys.close());
      if (opts.json) printJson(ctx.out, report);
      else ctx.out(formatReport(report));
      if (report.summary.fail > 0) runner.exitCode = Exit.DiagFailed;
    });
}
