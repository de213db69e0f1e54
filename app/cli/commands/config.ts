// config (check | path | edit | import-ssh HOST): the user's config.toml from the terminal.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, formatProblem } from '../../config/error';
import { parseConfig } from '../../config/load';
import { checkConfig, CONFIG_TEMPLATE, configPathOf } from '../config-file';
import { CliError, Exit } from '../exit-codes';
import { bastionToml, ImportError, importSshHost } from '../import-ssh';
import { printJson } from '../json';
import type { Runner } from '../program';

export function registerConfigCommands(program: Command, runner: Runner): void {
  const { ctx } = runner;
  const config = program.command('config').description('check, locate, edit or extend your config file');

  config
    .command('path')
    .description('print the path of the config file')
    .option('--json', 'print JSON: {"path", "exists"}')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const path = configPathOf(ctx, runner.globals(cmd));
      if (opts.json) printJson(ctx.out, { path, exists: existsSync(path) });
      else ctx.out(`${path}\n`);
    });

  config
    .command('check')
    .description('check the config file; every problem as file:line: field: message (exit code 4)')
    .option(
      '--json',
      'print JSON: {"path", "valid", "problems": [{file, line, column?, field, message}], "summary"}',
    )
    .action((opts: { json?: boolean }, cmd: Command) => {
      const path = configPathOf(ctx, runner.globals(cmd));
      const r = checkConfig(path);
      const summary = r.ok
        ? { bastions: r.config.bastions.length, zones: r.config.zones.length, apps: r.config.apps.length }
        : null;
      if (opts.json) {
        printJson(ctx.out, { path, valid: r.ok, problems: r.ok ? [] : r.problems, summary });
      } else if (r.ok) {
        ctx.out(
          `${path}: OK (${summary!.bastions} bastions, ${summary!.zones} zones, ${summary!.apps} apps)\n`,
        );
      } else {
        for (const p of r.problems) ctx.err(`${formatProblem(p)}\n`);
        ctx.err(`${path}: ${r.problems.length} ${r.problems.length === 1 ? 'problem' : 'problems'}\n`);
      }
      if (!r.ok) runner.exitCode = Exit.ConfigInvalid;
    });

  config
    .command('edit')
    .description(
      'open the config file in $VISUAL or $EDITOR (created from a template if missing), then check it',
    )
    .action((_opts: unknown, cmd: Command) => {
      const path = configPathOf(ctx, runner.globals(cmd));
      if (!existsSync(path)) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, CONFIG_TEMPLATE, { mode: 0o600, flag: 'wx' });
        ctx.err(`created ${path}\n`);
      }
      const editor = ctx.env.VISUAL || ctx.env.EDITOR || (ctx.platform === 'darwin' ? 'open -W -t' : 'vi');
      // Like git: the editor setting is a shell command line; the path is passed as "$1".
      const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'sh', path], { stdio: 'inherit' });
      if (r.status !== 0) throw new CliError(`the editor (${editor}) failed`, Exit.Failure);
      const check = checkConfig(path);
      if (check.ok) {
        ctx.out(`${path}: OK\n`);
        return;
      }
      for (const p of check.problems) ctx.err(`${formatProblem(p)}\n`);
      runner.exitCode = Exit.ConfigInvalid;
    });

  config
    .command('import-ssh')
    .argument('<host>', 'a Host alias from your ssh config')
    .description('turn a Host entry of ~/.ssh/config (and its known_hosts keys) into [[bastion]] tables')
    .option('--ssh-config <path>', 'the ssh config to read', join(homedir(), '.ssh', 'config'))
    .option('--write', 'append the tables to the config file (after checking the result)')
    .option(
      '--json',
      'print JSON: {"bastions": [{name, host, port, user, key, hostKeys, jump, notes}], "toml"}',
    )
    .action((host: string, opts: { sshConfig: string; write?: boolean; json?: boolean }, cmd: Command) => {
      let text: string;
      try {
        text = readFileSync(opts.sshConfig, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${opts.sshConfig}: ${(err as Error).message}`, Exit.Failure);
      }
      const home = homedir();
      let result;
      try {
        result = importSshHost({
          sshConfig: text,
          host,
          localUser: safeUserName(),
          knownHosts: (p) => {
            try {
              return readFileSync(p.startsWith('~/') ? join(home, p.slice(2)) : p, 'utf8');
            } catch {
              return null;
            }
          },
        });
      } catch (err) {
        if (err instanceof ImportError) throw new CliError(err.message, Exit.Failure);
        throw err;
      }
      const toml = bastionToml(result.bastions, opts.sshConfig);
      if (opts.json) printJson(ctx.out, { bastions: result.bastions, toml });
      else if (!opts.write) ctx.out(toml);
      for (const w of result.warnings) ctx.err(`note: ${w}\n`);
      if (!opts.write) return;

      const path = configPathOf(ctx, runner.globals(cmd));
      const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
      const combined = existing === '' ? toml : `${existing.replace(/\n*$/, '\n')}\n${toml}`;
      try {
        // Key and known_hosts files are not required yet: the user may copy the key afterwards.
        parseConfig(combined, path, { checkFiles: false });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        throw new CliError(
          `not written: ${path} would not be valid with these tables`,
          Exit.ConfigInvalid,
          err.problems.map(formatProblem),
        );
      }
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      if (existing === '') writeFileSync(path, combined, { mode: 0o600 });
      else appendFileSync(path, combined.slice(existing.length));
      ctx.out(`added ${result.bastions.map((b) => `[[bastion]] ${b.name}`).join(', ')} to ${path}\n`);
    });
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'user';
  }
}
