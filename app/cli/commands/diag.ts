// diag: find what breaks a VNet (routes, resolver, firewall, daemon, agent, bastions, key).
import type { Command } from 'commander';
import { describeKey } from '../../diag/key-info';
import { formatReport, runDiagnostics, type PluggedKeyInfo } from '../../diag';
import { defaultAgentSocketPath } from '../../ssh/socket-path';
import { configPathOf } from '../config-file';
import { socketPathOf } from '../context';
import { Exit } from '../exit-codes';
import { printJson } from '../json';
import type { Runner } from '../program';
import { chooseKey, pluggedKeys } from '../security-keys';
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
      const securityKeys = async (): Promise<PluggedKeyInfo[]> => {
        const out: PluggedKeyInfo[] = [];
        for (const k of await pluggedKeys(ctx)) {
          try {
            const sk = await k.open(new TerminalPrompter());
            try {
              out.push({ path: k.info.path, info: await describeKey(sk), error: null });
            } finally {
              await sk.close().catch(() => undefined);
            }
          } catch (err) {
            out.push({ path: k.info.path, info: null, error: (err as Error).message });
          }
        }
        return out;
      };
      // One key for every sign-in, opened at the first one (prompts on the terminal) and closed after.
      const opened: { key: Promise<AnySecurityKey> | null } = { key: null };
      const authKey = (): Promise<AnySecurityKey> =>
        (opened.key ??= chooseKey(ctx, undefined).then((k) => k.open(new TerminalPrompter())));
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
      });
      if (opened.key) await (await opened.key.catch(() => null))?.close().catch(() => undefined);
      if (opts.json) printJson(ctx.out, report);
      else ctx.out(formatReport(report));
      if (report.summary.fail > 0) runner.exitCode = Exit.DiagFailed;
    });
}
