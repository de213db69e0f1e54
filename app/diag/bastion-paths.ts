// How `keyvnet diag` reaches a bastion: straight over TCP, or, for one with `jump`, over a
// direct-tcpip channel of its jump bastion's SSH session, as the daemon does. Forwarding needs that
// session signed in (a touch, and the PIN for verify-required keys), so it exists only under
// `--auth`; without it a jumped bastion cannot be checked and the report says why. Sessions are
// opened with the daemon's own session code (host key checked before anything is signed), once per
// bastion: the session of a jump serves every bastion behind it and its own sign-in check. The login
// signature comes from a LoginSigner: the running agent (which checks and prompts as for the daemon),
// or the security key opened by the command itself (app/cli/diag-keys.ts chooses).
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BastionSession } from '../../systemext/ssh/session';
import type { BastionSpec } from '../../systemext/ssh/types';
import type { BastionConfig } from '../config/types';
import { readPrivateKeyFile } from '../ssh/keyfile';
import { publicKeyLine, type SkKey } from '../ssh/keys';

/** A sign-in: touch, PIN, key exchange over a jump chain. */
export const SIGN_IN_DEADLINE_MS = 90_000;
/** A TCP connect, or opening a channel through a jump (the jump bastion connecting onwards). */
export const CHANNEL_DEADLINE_MS = 10_000;
const MAX_JUMPS = 8;

export interface DiagBastion {
  config: BastionConfig;
  /** "type base64" host keys expected (host_keys, or from known_hosts). */
  expectedKeys: string[];
}

export interface SignedIn {
  session: BastionSession;
  key: SkKey;
  /** Signatures (touches) the sign-in took. */
  signatures: number;
}

/** Who signs the login of a sign-in (a touch, and the PIN for verify-required keys). */
export interface LoginSigner {
  /**
   * The SSH signature of `data`, the publickey userauth request of a sign-in to `bastion` as its
   * user with `key`. Rejects with SignRefusedError when the signer will not sign it at all.
   */
  sign(bastion: BastionConfig, key: SkKey, data: Buffer, signal: AbortSignal): Promise<Buffer>;
}

/** The signer refused the login (e.g. the running agent's config has no such bastion): nothing was signed. */
export class SignRefusedError extends Error {
  override name = 'SignRefusedError';
}

/** The private key file could not be read: nothing was signed. */
export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** The jump bastion could not be signed in to (its own checks say why). */
export class JumpError extends Error {
  override name = 'JumpError';
  constructor(
    readonly jump: string,
    cause: Error,
  ) {
    super(`through ${jump}: signing in to ${jump} failed: ${cause.message}`);
  }
}

export class BastionPaths {
  private readonly signedIn = new Map<string, Promise<SignedIn>>();

  constructor(
    private readonly bastions: Map<string, DiagBastion>,
    /** Who signs the sign-ins (`--auth`), or null: no sign-in, no jumps. */
    private readonly signer: LoginSigner | null,
  ) {}

  get canSignIn(): boolean {
    return this.signer !== null;
  }

  /** A stream to `to`'s SSH port: TCP, or a channel through its jump's signed-in session. */
  async open(to: { host: string; port: number; jump: string | null }, depth = 0): Promise<Duplex> {
    const signal = AbortSignal.timeout(CHANNEL_DEADLINE_MS);
    if (to.jump === null) return tcp(to.host, to.port, signal);
    let via: SignedIn;
    try {
      via = await this.signIn(to.jump, depth + 1);
    } catch (err) {
      throw new JumpError(to.jump, err as Error);
    }
    return via.session.openChannel(to.host, to.port, CHANNEL_DEADLINE_MS, signal);
  }

  /** Bastion `name` signed in with its sk key, once (reached through its own jump, if any). */
  signIn(name: string, depth = 0): Promise<SignedIn> {
    let p = this.signedIn.get(name);
    if (!p) {
      p = this.open_(name, depth);
      this.signedIn.set(name, p);
    }
    return p;
  }

  /** Hangs up every session opened. */
  close(): void {
    for (const p of this.signedIn.values()) void p.then((s) => s.session.close()).catch(() => undefined);
  }

  private async open_(name: string, depth: number): Promise<SignedIn> {
    if (depth > MAX_JUMPS) throw new Error(`more than ${MAX_JUMPS} jumps (a loop?)`);
    const signer = this.signer;
    if (!signer) throw new Error('signing in needs --auth');
    const d = this.bastions.get(name);
    if (!d) throw new Error(`no bastion "${name}" in the config`);
    const b = d.config;
    let key: SkKey;
    try {
      key = readPrivateKeyFile(readFileSync(b.keyPath, 'utf8'));
    } catch (err) {
      throw new KeyFileError(`${b.keyPath}: ${(err as Error).message}`);
    }
    const spec: BastionSpec = {
      name: b.name,
      host: b.host,
      port: b.port,
      user: b.user,
      hostKeys: d.expectedKeys,
      publicKey: publicKeyLine(key, key.comment),
      policy: 'connection',
      keepaliveSec: 0,
      maxSessionAgeSec: 0,
      jump: b.jump,
    };
    const sock = await this.open(b, depth);
    let signatures = 0;
    let refused: SignRefusedError | null = null;
    const session = await BastionSession.open({
      spec,
      signal: AbortSignal.timeout(SIGN_IN_DEADLINE_MS),
      sock,
      onSign: () => signatures++,
      bridge: {
        bastion: async () => spec,
        sign: (req, s) =>
          signer.sign(b, key, req.data, s).catch((err: unknown) => {
            if (err instanceof SignRefusedError) refused = err;
            throw err;
          }),
      },
    }).catch((err: unknown) => {
      // The session words it "signing in … failed"; a refusal is said as the signer said it.
      throw refused ?? err;
    });
    return { session, key, signatures };
  }
}

function tcp(host: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const onAbort = (): void => {
      s.destroy();
      reject(new Error('timed out'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(s);
    });
    s.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}
