// diag: find what breaks a VNet (routes, resolver, firewall, daemon, agent, bastions, key).
import type { Command } from 'commander';
import { formatReport, runDiagnostics, type PluggedKeyInfo } from '../../diag';
import { defaultAgentSocketPath } from '../../ssh/socket-path';
import { configPathOf } from '../config-file';
import { socketPathOf } from '../context';
import { Exit } from '../exit-codes';
import { printJson } from '../json';
import type { Runner } from '../program';
import { localKeys } from '../security-keys';
import { asKeyOpError, chooseKey, listKeyRows } from '../../agent/key-operations';
import type { AnySecurityKey } from '../../fido/open';
import { TerminalPrompter } from '../../headless/prompts';

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
    .option('--auth', 'also sign in to each bastion with your security key (a touch each)')
    .action(async (opts: { json?: boolean; auth?: boolean }, cmd: Command) => {
      const g = runner.globals(cmd);
      const keys = localKeys(ctx, new TerminalPrompter());
      const securityKeys = async (): Promise<PluggedKeyInfo[]> =>
        (await listKeyRows(keys)).map((r) => ({ path: r.path, info: r.info, error: r.error }));
      // One key for every sign-in, opened at the first one (prompts on the terminal) and held open
      // until the report is done.
      let release = (): void => {};
      const done = new Promise<void>((resolve) => (release = resolve));
      let opened: Promise<AnySecurityKey> | null = null;
      const openKey = async (): Promise<AnySecurityKey> => {
        const chosen = await chooseKey(keys, undefined, (m) => ctx.err(`${m}\n`));
        return new Promise<AnySecurityKey>((resolve, reject) => {
          keys
            .use(chosen, async (sk) => {
              resolve(sk);
              await done;
            })
            .catch((err: unknown) => reject(asKeyOpError(err)));
        });
      };
      const authKey = (): Promise<AnySecurityKey> => (opened ??= openKey());
      const report = await runDiagnostics({
        configPath: configPathOf(ctx, g),
        daemonSocketPath: socketPathOf(ctx, g),
        agentSocketPath: ctx.env.KEYVNET_SSH_AUTH_SOCK ?? defaultAgentSocketPath(ctx.platform, ctx.env),
        version: ctx.version,
        platform: ctx.platform,
        daemonUid: ctx.env.KEYVNET_DAEMON_UID ? Number(ctx.env.KEYVNET_DAEMON_UID) : 0,
        securityKeys,
        authKey: opts.auth ? authKey : undefined,
        onProgress: opts.json ? undefined : (what) => ctx.err(`checking ${what}…\n`),
      }).finally(release);
      if (opts.json) printJson(ctx.out, report);
      else ctx.out(formatReport(report));
      if (report.summary.fail > 0) runner.exitCode = Exit.DiagFailed;
    });
}
