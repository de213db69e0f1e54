// key (list | enroll | import | pin set | pin change | resident list | resident import): the security
// key and the sk key files. When an agent runs, the operations that use the key go to it over its
// control socket (agent-link.ts): the agent owns the key and prompts on its own screen, and this
// command prints the progress it sends. Without one (or with --no-agent) the command opens the key
// itself, with prompts on this terminal. The operations themselves are app/agent/key-operations.ts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { RpcPeer } from '../../../ipc/rpc';
import {
  asKeyOpError,
  changePin,
  enrollKey,
  KeyOpError,
  listKeyRows,
  residentKeys,
  setPin,
  type EnrollSpec,
  type KeyAccess,
  type KeyOpContext,
  type KeyRow,
} from '../../agent/key-operations';
import { TerminalPrompter } from '../../headless/prompts';
import { readPrivateKeyFile, writePrivateKeyFile } from '../../ssh/keyfile';
import {
  authorizedKeysLine,
  describeFlags,
  fingerprint,
  publicKeyLine,
  SK_ECDSA_TYPE,
  type SkKey,
} from '../../ssh/keys';
import type { ResidentSshKey } from '../../ssh/resident';
import { atAgent, connectAgent } from '../agent-link';
import type { CliContext } from '../context';
import { CliError, Exit } from '../exit-codes';
import { table } from '../format';
import { printJson } from '../json';
import type { Runner } from '../program';
import { localKeys } from '../security-keys';

/** A key operation's failure as an exit: no key → 6, cancelled → 8, anything else → 1. */
export function keyExit(err: unknown): Error {
  const e = asKeyOpError(err);
  if (!(e instanceof KeyOpError)) return e;
  const code =
    e.reason === 'no-key' ? Exit.NoSecurityKey : e.reason === 'cancelled' ? Exit.Cancelled : Exit.Failure;
  return new CliError(e.message, code, e.details);
}

/** The terminal side of an operation run here: progress on stderr, the PIN from this terminal. */
function terminalOp(ctx: CliContext, terminal: TerminalPrompter): KeyOpContext {
  return {
    note: (m) => ctx.err(`${m}\n`),
    askPin: (req) => terminal.askPin(req),
    purpose: (what, extra) => ({ ...extra, what, requester: 'app' }),
  };
}

export function formatKeyList(rows: KeyRow[]): string {
  if (rows.length === 0) return 'No security key plugged in.\n';
  const yesNo = (b: boolean) => (b ? 'yes' : 'no');
  return (
    table(
      ['KEY', 'KIND', 'PIN', 'RETRIES', 'CREDPROTECT', 'RESIDENT', 'PATH'],
      rows.map(({ path, info, error }) =>
        info === null
          ? ['?', '-', '-', '-', '-', '-', `${path} (${error})`]
          : [
              info.label,
              info.kind,
              info.pinSet === null ? 'n/a' : info.pinSet ? 'set' : 'not set',
              info.pinRetries === null ? '-' : String(info.pinRetries),
              yesNo(info.credProtect),
              yesNo(info.residentKeys),
              path,
            ],
      ),
    ) + '\n'
  );
}

export function registerKeyCommands(program: Command, runner: Runner): void {
  const { ctx } = runner;
  const key = program.command('key').description('your security key and its SSH keys');

  /** At the running agent when one answers, else here with the terminal's prompts. */
  const run = async <T>(
    cmd: Command,
    atTheAgent: (peer: RpcPeer) => Promise<T>,
    here: (keys: KeyAccess, op: KeyOpContext) => Promise<T>,
  ): Promise<T> => {
    const peer = await connectAgent(ctx, runner.globals(cmd));
    if (peer) return atTheAgent(peer);
    const terminal = new TerminalPrompter();
    try {
      return await here(localKeys(ctx, terminal), terminalOp(ctx, terminal));
    } catch (err) {
      throw keyExit(err);
    }
  };

  key
    .command('list')
    .description('list the plugged-in security keys: PIN, retries left, credProtect, resident key support')
    .option(
      '--json',
      'print JSON: {"keys": [{path, product, info: {label, kind, pinSet, pinRetries, credProtect, residentKeys, ...}, error}]}',
    )
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const rows = await run(
        cmd,
        async (peer) => (await atAgent(peer, 'key/list', {})).keys,
        (keys) => listKeyRows(keys),
      );
      if (opts.json) printJson(ctx.out, { keys: rows });
      else ctx.out(formatKeyList(rows));
    });

  key
    .command('enroll')
    .description('create a new SSH key on the security key (like ssh-keygen -t ecdsa-sk) and save its files')
    .option('-t, --type <type>', 'ecdsa or ed25519', 'ecdsa')
    .option(
      '-f, --file <path>',
      'private key file (default ~/.ssh/id_ecdsa_sk or id_ed25519_sk); never overwritten',
    )
    .option('--resident', 'store the credential on the key (recoverable with resident import)')
    .option('--verify-required', 'every signature needs the PIN')
    .option('--no-touch-required', 'signatures need no touch (the server must allow it)')
    .option('--application <app>', 'FIDO application, starting with "ssh:"', 'ssh:')
    .option('-C, --comment <text>', 'comment in the public key')
    .option('--device <path>', 'which key (from key list)')
    .option('--json', 'print JSON: {"file", "publicKey", "fingerprint", "authorizedKeys", "flags"}')
    .action(
      async (
        opts: {
          type: string;
          file?: string;
          resident?: boolean;
          verifyRequired?: boolean;
          touchRequired: boolean;
          application: string;
          comment?: string;
          device?: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        if (opts.type !== 'ecdsa' && opts.type !== 'ed25519')
          throw new CliError(`--type wants ecdsa or ed25519, got "${opts.type}"`, Exit.Usage);
        const file =
          opts.file ?? join(homedir(), '.ssh', opts.type === 'ecdsa' ? 'id_ecdsa_sk' : 'id_ed25519_sk');
        // Said before the touch, not after it (the write below still never overwrites).
        if (existsSync(file))
          throw new CliError(`${file} exists; not overwritten (choose another with -f)`, Exit.Failure);
        const spec: EnrollSpec = {
          ...(opts.device !== undefined ? { device: opts.device } : {}),
          type: opts.type,
          application: opts.application,
          resident: !!opts.resident,
          verifyRequired: !!opts.verifyRequired,
          noTouchRequired: !opts.touchRequired,
          comment: opts.comment ?? '',
        };
        const made = await run(
          cmd,
          async (peer) => keyFromAgent((await atAgent(peer, 'key/enroll', spec)).privateKeyFile),
          (keys, op) => enrollKey(keys, spec, op),
        );
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        try {
          writeFileSync(file, writePrivateKeyFile(made), { mode: 0o600, flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST')
            throw new CliError(`${file} exists; not overwritten (choose another with -f)`, Exit.Failure);
          throw err;
        }
        writeFileSync(`${file}.pub`, `${publicKeyLine(made, made.comment)}\n`, { mode: 0o644 });
        const out = {
          file,
          publicKey: publicKeyLine(made, made.comment),
          fingerprint: fingerprint(made),
          authorizedKeys: authorizedKeysLine(made),
          flags: describeFlags(made.flags),
        };
        if (opts.json) printJson(ctx.out, out);
        else
          ctx.out(
            `Saved ${file} and ${file}.pub (${out.fingerprint}, ${out.flags}).\n` +
              `Add this line to ~/.ssh/authorized_keys on the bastion:\n${out.authorizedKeys}\n` +
              `Use it in config.toml: key = "${file}"\n`,
          );
      },
    );

  key
    .command('import')
    .argument('<file>', 'an sk private key file made by ssh-keygen (or by keyvnet key enroll)')
    .description('check an existing sk key file and show how to use it in config.toml')
    .option('--json', 'print JSON: {"file", "type", "fingerprint", "application", "flags", "publicKey"}')
    .action((file: string, opts: { json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`, Exit.Failure);
      }
      let k;
      try {
        k = readPrivateKeyFile(text);
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`, Exit.Failure);
      }
      const out = {
        file,
        type: k.type === SK_ECDSA_TYPE ? 'ecdsa-sk' : 'ed25519-sk',
        fingerprint: fingerprint(k),
        application: k.application,
        flags: describeFlags(k.flags),
        publicKey: publicKeyLine(k, k.comment),
      };
      if (opts.json) printJson(ctx.out, out);
      else
        ctx.out(
          `${file}: ${out.type} ${out.fingerprint} (${out.application}, ${out.flags})\nUse it in config.toml: key = "${file}"\n`,
        );
    });

  const pin = key.command('pin').description("set or change the security key's PIN");
  pin
    .command('set')
    .description('set the first PIN of a key that has none (typed twice)')
    .option('--device <path>', 'which key (from key list)')
    .action(async (opts: { device?: string }, cmd: Command) => {
      const label = await run(
        cmd,
        async (peer) => (await atAgent(peer, 'key/set-pin', deviceParam(opts.device))).keyLabel,
        (keys, op) => setPin(keys, opts.device, op),
      );
      ctx.out(`PIN set on ${label}.\n`);
    });
  pin
    .command('change')
    .description('change the PIN (asks for the current one, then the new one twice)')
    .option('--device <path>', 'which key (from key list)')
    .action(async (opts: { device?: string }, cmd: Command) => {
      const label = await run(
        cmd,
        async (peer) => (await atAgent(peer, 'key/change-pin', deviceParam(opts.device))).keyLabel,
        (keys, op) => changePin(keys, opts.device, op),
      );
      ctx.out(`PIN changed on ${label}.\n`);
    });

  const resident = key
    .command('resident')
    .description('SSH keys stored on the security key (like ssh-keygen -K)');
  /** The resident SSH keys of the chosen key (credential management: asks the PIN or fingerprint). */
  const residentOf = (cmd: Command, device: string | undefined): Promise<ResidentSshKey[]> =>
    run(
      cmd,
      async (peer) =>
        (await atAgent(peer, 'key/resident', deviceParam(device))).keys.map((r) => ({
          key: keyFromAgent(r.privateKeyFile),
          user: r.user,
          fileName: plainFileName(r.fileName),
        })),
      (keys, op) => residentKeys(keys, device, op),
    );
  resident
    .command('list')
    .description('list the resident SSH credentials on the key')
    .option('--device <path>', 'which key (from key list)')
    .option(
      '--json',
      'print JSON: {"keys": [{"type", "fingerprint", "application", "user", "flags", "publicKey"}]}',
    )
    .action(async (opts: { device?: string; json?: boolean }, cmd: Command) => {
      const keys = (await residentOf(cmd, opts.device)).map((r) => ({
        type: r.key.type === SK_ECDSA_TYPE ? 'ecdsa-sk' : 'ed25519-sk',
        fingerprint: fingerprint(r.key),
        application: r.key.application,
        user: r.user,
        flags: describeFlags(r.key.flags),
        publicKey: publicKeyLine(r.key),
      }));
      if (opts.json) return printJson(ctx.out, { keys });
      if (keys.length === 0) return ctx.out('No resident SSH keys on this key.\n');
      ctx.out(
        table(
          ['TYPE', 'FINGERPRINT', 'APPLICATION', 'USER', 'FLAGS'],
          keys.map((k) => [k.type, k.fingerprint, k.application, k.user || '-', k.flags]),
        ),
      );
    });
  resident
    .command('import')
    .description('save the resident SSH keys of the key as key files (like ssh-keygen -K)')
    .option('--device <path>', 'which key (from key list)')
    .option(
      '-d, --dir <dir>',
      'where to write the files (default: the current directory, as ssh-keygen -K)',
      '.',
    )
    .option('--json', 'print JSON: {"files": [{"file", "fingerprint"}]}')
    .action(async (opts: { device?: string; dir: string; json?: boolean }, cmd: Command) => {
      const keys = await residentOf(cmd, opts.device);
      mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
      const files: Array<{ file: string; fingerprint: string }> = [];
      for (const r of keys) {
        const file = join(opts.dir, r.fileName);
        try {
          writeFileSync(file, writePrivateKeyFile(r.key), { mode: 0o600, flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST')
            throw new CliError(`${file} exists; not overwritten (move it, or use --dir)`, Exit.Failure);
          throw err;
        }
        writeFileSync(`${file}.pub`, `${publicKeyLine(r.key)}\n`, { mode: 0o644 });
        files.push({ file, fingerprint: fingerprint(r.key) });
      }
      if (opts.json) return printJson(ctx.out, { files });
      if (files.length === 0) return ctx.out('No resident SSH keys on this key.\n');
      for (const f of files) ctx.out(`Saved ${f.file} and ${f.file}.pub (${f.fingerprint}).\n`);
    });
}

/** The agent names the files: a plain name, never a path out of --dir. */
function plainFileName(name: string): string {
  if (basename(name) !== name || name.startsWith('.') || name.length === 0)
    throw new CliError(`the agent sent a bad key file name "${name.slice(0, 80)}"`, Exit.Failure);
  return name;
}

function deviceParam(device: string | undefined): { device?: string } {
  return device !== undefined ? { device } : {};
}

/** A key file the agent sent, checked like any other (a resident file name is also checked by the caller). */
function keyFromAgent(text: string): SkKey {
  try {
    return readPrivateKeyFile(text);
  } catch (err) {
    throw new CliError(`the agent sent an unreadable key: ${(err as Error).message}`, Exit.Failure);
  }
}
