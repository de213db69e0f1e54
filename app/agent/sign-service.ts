// The daemon's `key/sign` requests, and `keyvnet diag --auth`'s `key/sign-userauth` on the control
// socket: an SSH login to a bastion, signed by the user's security key after a touch (and the PIN for
// verify-required keys), with the prompt saying which bastion it is for and who asked.
//
// The daemon is root and could do much, but it can make us sign only what we check here (and so can a
// keyvnet command): the key must be the one the config names for that bastion, and the data must be an
// SSH publickey login request (RFC 4252 §7) for that bastion's user with that key, never a file
// signature or another user's login.
import type { SignParams } from '../../ipc/messages';
import { RpcError, rpcFailure } from '../../ipc/rpc';
import { ErrorCodes } from '../../ipc/messages';
import type { KeySource, Purpose } from '../fido/api';
import { FidoError } from '../fido/api';
import { encodePublicKeyBlob } from '../ssh/keys';
import { describeSignError, signWithSkKey } from '../ssh/signer';
import { SshReader } from '../ssh/wire';
import type { AppDirectory } from './directory';

const SSH_MSG_USERAUTH_REQUEST = 50;

/** What an SSH userauth "publickey" signature covers (the fields we check). */
export interface UserauthRequest {
  user: string;
  service: string;
  algorithm: string;
  keyBlob: Buffer;
}

/** Parses the data of a publickey userauth signature; throws with a reason when it is anything else. */
export function parseUserauthData(data: Buffer): UserauthRequest {
  const r = new SshReader(data, 'SSH login request');
  r.string('session identifier');
  if (r.byte('message type') !== SSH_MSG_USERAUTH_REQUEST) throw new Error('not an SSH login request');
  const user = r.text('user name');
  const service = r.text('service name');
  if (r.text('method name') !== 'publickey') throw new Error('not a publickey login request');
  if (r.byte('has signature') !== 1) throw new Error('not a signed publickey request');
  const algorithm = r.text('algorithm');
  const keyBlob = r.string('public key');
  r.end();
  return { user, service, algorithm, keyBlob };
}

export interface SignServiceOptions {
  directory: () => AppDirectory | null;
  /** The security key to sign with (rejects with a sentence when none is plugged in). */
  securityKey: KeySource;
  log?: (msg: string) => void;
}

/** A login signature asked for: bastion (by its configured name), key and the data to sign. */
export interface LoginRequest {
  bastion: string;
  /** The public key line of the key to sign with. */
  publicKey: string;
  data: Buffer;
}

/** Refusals: asked for something the config does not allow (nothing was signed, nothing prompted). */
export const REFUSAL_REASONS = ['no-config', 'no-bastion', 'wrong-key', 'not-a-login'] as const;

export class SignService {
  constructor(private readonly opts: SignServiceOptions) {}

  /** The daemon's key/sign (its purpose's host and user are not trusted: the config's are shown). */
  async sign(p: SignParams, signal: AbortSignal): Promise<{ signature: string }> {
    const sig = await this.signLogin(
      { bastion: p.purpose.bastion, publicKey: p.publicKey, data: Buffer.from(p.data, 'base64') },
      signal,
      (login) => ({ ...login, requester: 'daemon' }),
    );
    return { signature: sig.toString('base64') };
  }

  /**
   * Checks the request against the config, then signs it. `purposeOf` makes the purpose the prompts
   * show from the login's configured fields (who asked: the daemon, or a keyvnet command). Rejects
   * with an RpcError: a refusal (REFUSAL_REASONS), 'cancelled', 'no-key' or the key's reason.
   */
  async signLogin(
    r: LoginRequest,
    signal: AbortSignal,
    purposeOf: (login: { what: 'ssh-login'; bastion: string; host: string; user: string }) => Purpose,
  ): Promise<Buffer> {
    const dir = this.opts.directory();
    if (!dir) throw this.refuse('the agent has no valid configuration', 'no-config');
    const b = dir.bastionConfig(r.bastion);
    if (!b) throw this.refuse(`no bastion "${r.bastion}" in the configuration`, 'no-bastion');
    if (!dir.isKeyOf(b, r.publicKey))
      throw this.refuse(`the key asked for is not the key configured for bastion ${b.name}`, 'wrong-key');
    const data = r.data;
    let req: UserauthRequest;
    try {
      req = parseUserauthData(data);
    } catch (err) {
      throw this.refuse((err as Error).message, 'not-a-login');
    }
    const key = dir.signingKey(b);
    if (
      req.user !== b.user ||
      req.service !== 'ssh-connection' ||
      !req.keyBlob.equals(encodePublicKeyBlob(key))
    )
      throw this.refuse(
        `the login is for ${req.user} with another key or service, not ${b.user}@${b.host} with the configured key`,
        'not-a-login',
      );
    const purpose = purposeOf({ what: 'ssh-login', bastion: b.name, host: b.host, user: b.user });
    const sk = await this.opts
      .securityKey({ rpId: key.application, credentialId: key.keyHandle, ctx: { purpose, signal } })
      .catch((err: Error) => {
        // Cancel in "Insert your security key": cancelled like a touch prompt's, not a failed login.
        if (err instanceof FidoError && err.code === 'cancelled')
          throw new RpcError(err.message, ErrorCodes.Cancelled, 'cancelled');
        throw rpcFailure(err.message, 'no-key');
      });
    const who = purpose.process
      ? ` (for ${purpose.process.name ?? 'a command'}, pid ${purpose.process.pid})`
      : '';
    try {
      const sig = await signWithSkKey(sk, key, data, {
        purpose,
        signal,
      });
      this.opts.log?.(`signed a login to ${b.user}@${b.host} for bastion ${b.name}${who}`);
      return sig;
    } catch (err) {
      const why = describeSignError(err);
      this.opts.log?.(`login to ${b.name} not signed${who}: ${why}`);
      if (err instanceof FidoError && err.code === 'cancelled')
        throw new RpcError(why, ErrorCodes.Cancelled, 'cancelled');
      throw rpcFailure(why, err instanceof FidoError ? err.code : 'error');
    }
  }

  /** "refusing to sign: <why>", logged. */
  private refuse(why: string, reason: (typeof REFUSAL_REASONS)[number]): RpcError {
    this.opts.log?.(`refused to sign a login: ${why}`);
    return rpcFailure(`refusing to sign: ${why}`, reason);
  }
}
