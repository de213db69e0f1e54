// The ssh2 agent that offers the user's sk public key and has the user's agent (over the bridge)
// make the signature: a touch, and a PIN where the server requires it. ssh2 (as patched) sends
// the agent's sk signature blob unchanged, flags and counter included.
import { BaseAgent, utils, type ParsedKey, type SignCallback, type SigningRequestOptions } from 'ssh2';
import type { AgentBridge, BastionSpec } from './types';

export class BridgeAgent extends BaseAgent<ParsedKey> {
  /** Why the last signature failed (the agent's reason: touch denied, wrong PIN, cancelled…). */
  signError: Error | null = null;
  /** Signatures asked so far. */
  signs = 0;

  constructor(
    private readonly spec: BastionSpec,
    private readonly key: ParsedKey,
    private readonly bridge: AgentBridge,
    private readonly signal: AbortSignal,
    private readonly onSign: () => void = () => undefined,
  ) {
    super();
  }

  /** Parses the spec's public key; an Error says why it cannot be used. */
  static parseKey(publicKey: string): ParsedKey | Error {
    const k = utils.parseKey(publicKey);
    if (k instanceof Error) return k;
    if (!k.type.startsWith('sk-')) return new Error(`${k.type} is not a security key (sk-) key`);
    return k;
  }

  getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    cb(undefined, [this.key]);
  }

  sign(
    _pubKey: ParsedKey,
    data: Buffer,
    options: SigningRequestOptions | SignCallback,
    cb?: SignCallback,
  ): void {
    const done = (typeof options === 'function' ? options : cb)!;
    this.signs++;
    this.onSign();
    const purpose = { bastion: this.spec.name, host: this.spec.host, user: this.spec.user };
    this.bridge.sign({ publicKey: this.spec.publicKey, data, purpose }, this.signal).then(
      (sig) => done(undefined, sig),
      (err: unknown) => {
        this.signError = err instanceof Error ? err : new Error(String(err));
        done(this.signError);
      },
    );
  }
}
