// Shared test helpers for the security-key tests: a recording UserPrompter and request builders.

import { createHash, randomBytes } from 'node:crypto';
import {
  COSE_ES256,
  type CoseAlgorithm,
  type GetAssertionRequest,
  type MakeCredentialRequest,
  type OperationContext,
  type PinPrompt,
  type Purpose,
  type TouchPrompt,
  type UserPrompter,
} from '../../../app/fido/api';

export class RecordingPrompter implements UserPrompter {
  pinAsks: { retriesLeft: number | null; purpose: Purpose }[] = [];
  /** Every prompt as asked (ids, signals), for the prompt-contract tests. */
  pinRequests: PinPrompt[] = [];
  touchRequests: TouchPrompt[] = [];
  touchNeededCount = 0;
  touchDoneCount = 0;
  events: string[] = [];
  /** Called on touchNeeded (e.g. to touch the virtual key). */
  onTouchNeeded: (() => void) | null = null;

  constructor(public pin: string | null = null) {}

  async askPin(req: PinPrompt) {
    this.pinAsks.push({ retriesLeft: req.retriesLeft, purpose: req.purpose });
    this.pinRequests.push(req);
    this.events.push('askPin');
    return this.pin;
  }

  touchNeeded(req: TouchPrompt): void {
    this.touchRequests.push(req);
    this.touchNeededCount++;
    this.events.push('touchNeeded');
    this.onTouchNeeded?.();
  }

  touchDone(): void {
    this.touchDoneCount++;
    this.events.push('touchDone');
  }
}

export function hash(s: string | Buffer): Buffer {
  return createHash('sha256').update(s).digest();
}

export function mcRequest(over: Partial<MakeCredentialRequest> = {}): MakeCredentialRequest {
  return {
    rpId: 'ssh:',
    clientDataHash: hash(randomBytes(32)),
    userId: Buffer.alloc(32),
    userName: 'openssh',
    algorithm: COSE_ES256 as CoseAlgorithm,
    residentKey: false,
    userVerification: false,
    ...over,
  };
}

export function gaRequest(
  credentialIds: Buffer[],
  over: Partial<GetAssertionRequest> = {},
): GetAssertionRequest {
  return {
    rpId: 'ssh:',
    clientDataHash: hash(randomBytes(32)),
    credentialIds,
    userPresence: true,
    userVerification: false,
    ...over,
  };
}

export const ctx: OperationContext = { purpose: { what: 'ssh-sign', requester: 'app' } };

/** Rejection of a promise, for asserting on FidoError codes. */
export async function rejection(
  p: Promise<unknown>,
): Promise<Error & { code?: string; retriesLeft?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; retriesLeft?: number };
  }
  throw new Error('expected the operation to fail');
}
