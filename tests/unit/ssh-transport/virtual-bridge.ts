// The "fake client app" of the SSH transport tests: an in-process AgentBridge that signs with an sk
// key enrolled on the project's virtual authenticator (same CTAPHID/CTAP2 code as a USB key), with
// a scripted PIN prompter. It records every sign request so tests can count touches.
import type { Ctap2SecurityKey, TouchPrompt, UserPrompter } from '../../../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { touchPromptText } from '../../../app/ui/prompt-text';
import { enrollSkKey, type EnrollOptions } from '../../../app/ssh/enroll';
import { publicKeyLine, type SkKey } from '../../../app/ssh/keys';
import { describeSignError, signWithSkKey } from '../../../app/ssh/signer';
import type { AgentBridge, BastionSpec, SignPurpose } from '../../../systemext/ssh/types';
import { DialError } from '../../../systemext/vnet/dialer';

export const TEST_PIN = '4711';

/** Answers PIN prompts from a script; records the touch prompts it was shown. */
export class ScriptedPrompter implements UserPrompter {
  pins: (string | null)[] = [];
  touches: string[] = [];
  async askPin(): Promise<string | null> {
    return this.pins.length ? this.pins.shift()! : null;
  }
  touchNeeded(req: TouchPrompt): void {
    this.touches.push(touchPromptText(req).title);
  }
  touchDone(): void {}
}

export class VirtualKey {
  private constructor(
    readonly va: VirtualAuthenticator,
    readonly sk: Ctap2SecurityKey,
    readonly prompter: ScriptedPrompter,
  ) {}

  static async open(): Promise<VirtualKey> {
    const va = new VirtualAuthenticator({ pin: TEST_PIN, touchTimeoutMs: 5000 });
    const prompter = new ScriptedPrompter();
    const sk = await openVirtualSecurityKey(va, prompter);
    return new VirtualKey(va, sk, prompter);
  }

  async enroll(opts: EnrollOptions): Promise<SkKey> {
    this.va.setTouchPolicy({ mode: 'auto' });
    this.prompter.pins = opts.verifyRequired ? [TEST_PIN] : [];
    const { key } = await enrollSkKey(this.sk, opts, { purpose: { what: 'enroll', requester: 'app' } });
    this.prompter.pins = [];
    return key;
  }

  async close(): Promise<void> {
    await this.sk.close().catch(() => undefined);
    this.va.unplug();
  }
}

export interface SignRecord {
  purpose: SignPurpose;
  ok: boolean;
}

/** AgentBridge over in-memory bastion specs and one virtual key. */
export class VirtualBridge implements AgentBridge {
  readonly specs = new Map<string, BastionSpec>();
  readonly signs: SignRecord[] = [];
  /** Called before each signature; a test can hold or fail it to force an interleaving. */
  beforeSign: (purpose: SignPurpose, signal: AbortSignal) => Promise<void> = async () => undefined;

  constructor(
    readonly vkey: VirtualKey,
    public key: SkKey,
  ) {}

  get publicKey(): string {
    return publicKeyLine(this.key, this.key.comment);
  }

  async bastion(name: string): Promise<BastionSpec | null> {
    return this.specs.get(name) ?? null;
  }

  async sign(
    req: { publicKey: string; data: Buffer; purpose: SignPurpose },
    signal: AbortSignal,
  ): Promise<Buffer> {
    try {
      await this.beforeSign(req.purpose, signal);
      if (req.publicKey.split(' ')[1] !== this.publicKey.split(' ')[1]) throw new Error('unknown key');
      const sig = await signWithSkKey(this.vkey.sk, this.key, req.data, {
        purpose: { what: 'ssh-login', ...req.purpose, requester: 'daemon' },
        signal,
      });
      this.signs.push({ purpose: req.purpose, ok: true });
      return sig;
    } catch (err) {
      this.signs.push({ purpose: req.purpose, ok: false });
      if (err instanceof DialError) throw err;
      throw new Error(describeSignError(err)); // what the agent sends back over IPC
    }
  }
}
