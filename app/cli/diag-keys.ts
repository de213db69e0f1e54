// The security key for `keyvnet diag`: its key check and its `--auth` sign-ins go to the running agent
// when one answers on the control socket (the same detection, --no-agent and --agent-socket as
// `keyvnet key …`), so the agent, which owns the key, prompts on its own screen (GUI or headless) and
// signs only what it would sign for the daemon (app/agent/sign-service.ts); the PIN never reaches this
// command. Without an agent the command opens the key itself, with prompts on this terminal.
import { REFUSAL_REASONS } from '../agent/sign-service';
import { asKeyOpError, chooseKey, listKeyRows, type KeyAccess } from '../agent/key-operations';
import { SignRefusedError, type LoginSigner } from '../diag/bastion-paths';
import type { PluggedKeyInfo } from '../diag/run';
import type { AnySecurityKey } from '../fido/open';
import { publicKeyLine } from '../ssh/keys';
import { signWithSkKey } from '../ssh/signer';
import { RpcError } from '../../ipc/rpc';
import { askAgent, controlSocketOf, openAgent } from './agent-link';
import type { CliContext, GlobalOptions } from './context';
import { CliError } from './exit-codes';

export interface DiagKeys {
  /** 'agent' or 'terminal': who asks the key, and prompts. */
  kind: 'agent' | 'terminal';
  /** A line of the key check's evidence: where the key was asked. */
  via: string;
  /** The plugged-in keys and what they say (no touch, no PIN). */
  securityKeys(): Promise<PluggedKeyInfo[]>;
  /** Signs the sign-ins of --auth. */
  signer: LoginSigner;
  /** Releases what the command opened (the key held for the sign-ins); call when the report is done. */
  close(): void;
}

/**
 * The running agent's keys when an agent answers, else the terminal's (`terminalKeys()` is called only
 * then). A socket that answers but cannot be used (not our uid's, no hello) is said and passed over:
 * a diagnosis still runs, with the key from this terminal.
 */
export async function diagKeys(
  ctx: CliContext,
  g: GlobalOptions,
  terminalKeys: () => KeyAccess,
): Promise<DiagKeys> {
  let why: string;
  try {
    const found = await openAgent(ctx, g);
    if (found) {
      // Asked to learn that the agent runs; each request later has a connection of its own (askAgent).
      found.peer.close('done');
      return agentKeys(ctx, g, `asked through the KeyVNet agent (pid ${found.pid}, ${found.path})`);
    }
    why = g.agent === false ? '--no-agent' : `no KeyVNet agent at ${controlSocketOf(ctx, g)}`;
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    why = err.message;
    ctx.err(`keyvnet: ${why}; using the security key from this terminal\n`);
  }
  return localDiagKeys(terminalKeys(), (m) => ctx.err(`${m}\n`), `opened by this command (${why})`);
}

/** key/list and key/sign-userauth at the agent; its refusals are SignRefusedErrors. */
function agentKeys(ctx: CliContext, g: GlobalOptions, via: string): DiagKeys {
  return {
    kind: 'agent',
    via,
    securityKeys: async () => (await askAgent(ctx, g, 'key/list', {})).keys,
    signer: {
      sign: async (bastion, key, data, signal) => {
        try {
          const { signature } = await askAgent(
            ctx,
            g,
            'key/sign-userauth',
            { bastion: bastion.name, publicKey: publicKeyLine(key), data: data.toString('base64') },
            signal,
          );
          return Buffer.from(signature, 'base64');
        } catch (err) {
          if (err instanceof RpcError && (REFUSAL_REASONS as readonly string[]).includes(err.reason))
            throw new SignRefusedError(`the KeyVNet agent is ${err.message}`);
          throw err;
        }
      },
    },
    close: () => undefined,
  };
}

/**
 * The keys as this command opens them (prompts on its terminal): one key for every sign-in, opened at
 * the first one and held open until close().
 */
export function localDiagKeys(keys: KeyAccess, note: (m: string) => void, via: string): DiagKeys {
  let release = (): void => {};
  const done = new Promise<void>((resolve) => (release = resolve));
  let opened: Promise<AnySecurityKey> | null = null;
  const open = async (): Promise<AnySecurityKey> => {
    const chosen = await chooseKey(keys, undefined, note);
    return new Promise<AnySecurityKey>((resolve, reject) => {
      keys
        .use(chosen, async (sk) => {
          resolve(sk);
          await done;
        })
        .catch((err: unknown) => reject(asKeyOpError(err)));
    });
  };
  return {
    kind: 'terminal',
    via,
    securityKeys: async () =>
      (await listKeyRows(keys)).map((r) => ({ path: r.path, info: r.info, error: r.error })),
    signer: {
      sign: async (b, key, data, signal) =>
        signWithSkKey(await (opened ??= open()), key, data, {
          purpose: { what: 'ssh-login', bastion: b.name, host: b.host, user: b.user, requester: 'app' },
          signal,
        }),
    },
    close: () => release(),
  };
}
