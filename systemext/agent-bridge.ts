// What the SSH dialer asks the user's agent, over the daemon socket: a bastion's connection details
// (host keys and the user's public key included) and signatures for its logins. Without an agent,
// both fail at once with a sentence; every request has a deadline, and the signature's is long
// enough for a touch and a PIN (the dialer's own set-up deadline is shorter still).
import { ErrorCodes } from '../ipc/messages';
import { RpcError, type RpcPeer } from '../ipc/rpc';
import { DialError } from './vnet/dialer';
import type { AgentBridge, BastionSpec, SignPurpose } from './ssh/types';

export const BASTION_TIMEOUT_MS = 5_000;
export const SIGN_TIMEOUT_MS = 120_000;

export class RpcAgentBridge implements AgentBridge {
  constructor(private readonly agent: () => RpcPeer | null) {}

  async bastion(name: string, signal: AbortSignal): Promise<BastionSpec | null> {
    const { bastion } = await this.peer().request(
      'bastion/get',
      { name },
      { signal, timeoutMs: BASTION_TIMEOUT_MS },
    );
    if (bastion && bastion.name !== name)
      throw new Error(`the agent answered for bastion ${bastion.name} when asked about ${name}`);
    return bastion;
  }

  async sign(
    req: { publicKey: string; data: Buffer; purpose: SignPurpose },
    signal: AbortSignal,
  ): Promise<Buffer> {
    try {
      const { signature } = await this.peer().request(
        'key/sign',
        { publicKey: req.publicKey, data: req.data.toString('base64'), purpose: req.purpose },
        { signal, timeoutMs: SIGN_TIMEOUT_MS },
      );
      return Buffer.from(signature, 'base64');
    } catch (err) {
      // The user cancelled the prompt (or the dial was cancelled): the waiting connections fail as
      // cancelled, not as a refused login. Anything else is the dialer's AUTH_DENIED, with the reason.
      if (err instanceof RpcError && err.code === ErrorCodes.Cancelled && err.reason !== 'timeout')
        throw new DialError(`login to ${req.purpose.bastion} cancelled: ${err.message}`, 'CANCELLED');
      throw err;
    }
  }

  private peer(): RpcPeer {
    const p = this.agent();
    if (!p) throw new Error('no KeyVNet agent is connected to sign in to the bastion');
    return p;
  }
}
