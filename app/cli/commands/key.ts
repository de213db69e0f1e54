// key (list | enroll | import | pin set | pin change | resident list | resident import): the security
// key and the sk key files. Touch and PIN prompts go to the terminal (the agent has no control
// socket for the command yet: "through the running agent" comes later).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { describeKey, type KeyInfo } from '../../diag/key-info';
import { FidoError, type PinPrompt } from '../../fido/api';
import type { AnySecurityKey } from '../../fido/open';
import { TerminalPrompter } from '../../headless/prompts';
import { enrollSkKey } from '../../ssh/enroll';
import { listResidentSshKeys, type ResidentSshKey } from '../../ssh/resident';
import { readPrivateKeyFile, writePrivateKeyFile } from '../../ssh/keyfile';
import { authorizedKeysLine, describeFlags, fingerprint, publicKeyLine, SK_ECDSA_TYPE } from '../../ssh/keys';
import type { CliContext } from '../context';
import { CliError, Exit } from '../exit-codes';
import { table } from '../format';
import { printJson } from '../json';
import type { Runner } from '../program';
import { chooseKey, pluggedKeys } from '../security-keys';

/** A FidoError as an exit: cancelled → 8, key gone → 6, anything else → 1; the key's sentence is kept. */
export function fidoExit(err: unknown): Error {
  if (!(err instanceof FidoError)) return err as Error;
  if (err.code === 'cancelled' || err.code === 'pin-required')
    return new CliError(err.message, Exit.Cancelled);
  if (err.code === 'device-removed') return new CliError(err.message, Exit.NoSecurityKey);
  return new CliError(err.message, Exit.Failure);
}

async function withKey<T>(key: AnySecurityKey, fn: (k: AnySecurityKey) => Promise<T>): Promise<T> {
  try {
    return await fn(key);
  } catch (err) {
    throw fidoExit(err);
  } finally {
    await key.close().catch(() => undefined);
  }
}

export function formatKeyList(
  rows: Array<{ path: string; info: KeyInfo | null; error: string | null }>,
): string {
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
  const prompter = () => new TerminalPrompter();
  const key = program.command('key').description('your security key and its SSH keys');

  key
    .command('list')
    .description('list the plugged-in security keys: PIN, retries left, credProtect, resident key support')
    .option(
      '--json',
      'print JSON: {"keys": [{path, product, info: {label, kind, pinSet, pinRetries, credProtect, residentKeys, ...}, error}]}',
    )
    .action(async (opts: { json?: boolean }) => {
      const rows = [];
      for (const k of await pluggedKeys(ctx)) {
        try {
          const sk = await k.open(prompter());
          rows.push({
            path: k.info.path,
            product: k.info.product,
            info: await withKey(sk, describeKey),
            error: null,
          });
        } catch (err) {
          rows.push({
            path: k.info.path,
            product: k.info.product,
            info: null,
            error: (err as Error).message,
          });
        }
      }
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
      async (opts: {
        type: string;
        file?: string;
        resident?: boolean;
        verifyRequired?: boolean;
        touchRequired: boolean;
        application: string;
        comment?: string;
        device?: string;
        json?: boolean;
      }) => {
        if (opts.type !== 'ecdsa' && opts.type !== 'ed25519')
          throw new CliError(`--type wants ecdsa or ed25519, got "${opts.type}"`, Exit.Usage);
        const file =
          opts.file ?? join(homedir(), '.ssh', opts.type === 'ecdsa' ? 'id_ecdsa_sk' : 'id_ed25519_sk');
        const chosen = await chooseKey(ctx, opts.device);
        ctx.err(`Creating an ${opts.type}-sk key on ${chosen.info.product}…\n`);
        const sk = await chosen.open(prompter()).catch((err) => Promise.reject(fidoExit(err)));
        const { key: made } = await withKey(sk, (k) =>
          enrollSkKey(
            k,
            {
              algorithm: opts.type as 'ecdsa' | 'ed25519',
              application: opts.application,
              resident: !!opts.resident,
              verifyRequired: !!opts.verifyRequired,
              noTouchRequired: !opts.touchRequired,
              comment: opts.comment ?? '',
            },
            { purpose: { what: 'enroll', requester: 'app', keyComment: opts.comment } },
          ),
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
    .description('set the first PIN of a key that has none')
    .option('--device <path>', 'which key (from key list)')
    .action(async (opts: { device?: string }) => {
      const chosen = await chooseKey(ctx, opts.device);
      const p = prompter();
      const sk = await chosen.open(p).catch((err) => Promise.reject(fidoExit(err)));
      await withKey(sk, async (k) => {
        if (k.kind !== 'ctap2') throw new CliError('this key only speaks U2F: it has no PIN', Exit.Failure);
        if (k.pinSet === true)
          throw new CliError('the key already has a PIN: use keyvnet key pin change', Exit.Failure);
        if (k.pinSet === undefined) throw new CliError('this key does not support a PIN', Exit.Failure);
        const newPin = await askNewPin(ctx, p, k.label, 'set-pin');
        await k.setPin(newPin);
        ctx.out(`PIN set on ${k.label}.\n`);
      });
    });
  pin
    .command('change')
    .description('change the PIN (asks for the current one)')
    .option('--device <path>', 'which key (from key list)')
    .action(async (opts: { device?: string }) => {
      const chosen = await chooseKey(ctx, opts.device);
      const p = prompter();
      const sk = await chosen.open(p).catch((err) => Promise.reject(fidoExit(err)));
      await withKey(sk, async (k) => {
        if (k.kind !== 'ctap2') throw new CliError('this key only speaks U2F: it has no PIN', Exit.Failure);
        if (k.pinSet !== true)
          throw new CliError('the key has no PIN yet: use keyvnet key pin set', Exit.Failure);
        const retries = await k.getPinRetries();
        ctx.err('Current PIN:\n');
        const cur = await p.askPin(pinPrompt(k.label, 'change-pin', retries));
        if (cur === null) throw new CliError('no PIN entered', Exit.Cancelled);
        const next = await askNewPin(ctx, p, k.label, 'change-pin');
        await k.changePin(cur, next);
        ctx.out(`PIN changed on ${k.label}.\n`);
      });
    });

  const resident = key
    .command('resident')
    .description('SSH keys stored on the security key (like ssh-keygen -K)');
  /** The resident SSH keys of the chosen key (credential management: asks the PIN or fingerprint). */
  const residentKeys = async (device: string | undefined): Promise<ResidentSshKey[]> => {
    const chosen = await chooseKey(ctx, device);
    const sk = await chosen.open(prompter()).catch((err) => Promise.reject(fidoExit(err)));
    return withKey(sk, async (k) => {
      if (k.kind !== 'ctap2')
        throw new CliError('this key only speaks U2F: it stores no SSH keys', Exit.Failure);
      return listResidentSshKeys(k, { purpose: { what: 'list-resident', requester: 'app' } });
    });
  };
  resident
    .command('list')
    .description('list the resident SSH credentials on the key')
    .option('--device <path>', 'which key (from key list)')
    .option(
      '--json',
      'print JSON: {"keys": [{"type", "fingerprint", "application", "user", "flags", "publicKey"}]}',
    )
    .action(async (opts: { device?: string; json?: boolean }) => {
      const keys = (await residentKeys(opts.device)).map((r) => ({
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
    .action(async (opts: { device?: string; dir: string; json?: boolean }) => {
      const keys = await residentKeys(opts.device);
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

function pinPrompt(keyLabel: string, what: 'set-pin' | 'change-pin', retriesLeft: number | null): PinPrompt {
  return {
    requestId: 0,
    keyLabel,
    purpose: { what, requester: 'app' },
    signal: new AbortController().signal,
    retriesLeft,
  };
}

/** The new PIN, typed twice; a mismatch or an empty answer ends the command (nothing is sent to the key). */
async function askNewPin(
  ctx: CliContext,
  p: TerminalPrompter,
  label: string,
  what: 'set-pin' | 'change-pin',
): Promise<string> {
  ctx.err('New PIN (4 to 63 characters):\n');
  const first = await p.askPin(pinPrompt(label, what, null));
  if (first === null) throw new CliError('no PIN entered', Exit.Cancelled);
  if ([...first].length < 4 || Buffer.byteLength(first) > 63)
    throw new CliError('a security key PIN has 4 to 63 characters', Exit.Failure);
  ctx.err('The new PIN again:\n');
  const again = await p.askPin(pinPrompt(label, what, null));
  if (again === null) throw new CliError('no PIN entered', Exit.Cancelled);
  if (again !== first) throw new CliError('the two PINs differ; nothing was changed', Exit.Failure);
  return first;
}
