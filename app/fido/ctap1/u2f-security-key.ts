// SecurityKey for keys that speak only U2F (CTAP1), over CTAPHID_MSG. U2F has no PIN, no
// resident keys and only P-256: those requests get a clear 'unsupported'. A U2F key signals
// "waiting for a touch" by answering CONDITIONS_NOT_SATISFIED, so the request is repeated until
// the user touches it (U2F raw formats §5.1; CTAP 2.1 §8.1 "interoperating with CTAP1").
// Results are reshaped into CTAP2 form (authenticatorData), as CTAP 2.1 §8.2/§8.3 describe, so
// callers (OpenSSH signatures) cannot tell the difference.

import {
  COSE_ES256,
  FidoError,
  FLAG_AT,
  type AssertionResult,
  type GetAssertionRequest,
  type MakeCredentialRequest,
  type MakeCredentialResult,
  type OperationContext,
  type Purpose,
  type SecurityKey,
  type TouchPrompt,
  type UserPrompter,
} from '../api';
import { sha256 } from '../hash';
import { requestQueue, type RequestQueue } from '../request-queue';
import { buildAuthData } from '../ctap2/auth-data';
import { cborEncode } from '../ctap2/cbor';
import { ec2CoseKey } from '../ctap2/cose';
import type { CtapHidConnection } from '../ctaphid/connection';
import { CMD_MSG } from '../ctaphid/constants';
import * as A from './apdu';

export interface U2fOptions {
  /** Stop waiting for a touch after this long (default 30 s, like FIDO2 keys). */
  touchTimeoutMs?: number;
  /** How often to repeat a request while the key waits for a touch. */
  pollIntervalMs?: number;
  /** Where its requests queue (default: the process's requestQueue). */
  queue?: RequestQueue;
}

function cancelled(): FidoError {
  return new FidoError('cancelled', 'The operation was cancelled.');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function swError(sw: number): FidoError {
  const hex = sw.toString(16).padStart(4, '0');
  if (sw === A.SW_WRONG_DATA)
    return new FidoError('no-credentials', 'This security key does not hold the requested credential.');
  if (sw === A.SW_INS_NOT_SUPPORTED || sw === A.SW_CLA_NOT_SUPPORTED) {
    return new FidoError(
      'unsupported',
      `The security key does not support this U2F command (status ${hex}).`,
    );
  }
  return new FidoError('protocol', `The U2F security key reported status ${hex}.`);
}

export class U2fSecurityKey implements SecurityKey {
  readonly kind = 'u2f' as const;
  private readonly touchTimeoutMs: number;
  private readonly pollIntervalMs: number;

  private constructor(
    readonly label: string,
    readonly conn: CtapHidConnection,
    private readonly prompter: UserPrompter,
    opts: U2fOptions,
    /** Whole operations run one at a time per key (touch polling never interleaves). */
    private readonly queue: RequestQueue = requestQueue,
  ) {
    this.touchTimeoutMs = opts.touchTimeoutMs ?? 30_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 100;
  }

  /** Checks U2F_VERSION on an open channel. */
  static async open(conn: CtapHidConnection, label: string, prompter: UserPrompter, opts: U2fOptions = {}) {
    const key = new U2fSecurityKey(label, conn, prompter, opts, opts.queue);
    const { data, sw } = await key.apdu(A.U2F_VERSION, 0, Buffer.alloc(0));
    if (sw !== A.SW_NO_ERROR || data.toString('latin1') !== 'U2F_V2') {
      throw new FidoError('unsupported', 'The security key speaks neither FIDO2 nor U2F version 2.');
    }
    return key;
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  private async apdu(
    ins: number,
    p1: number,
    data: Buffer,
    signal?: AbortSignal,
  ): Promise<{ data: Buffer; sw: number }> {
    const resp = await this.conn.transact(CMD_MSG, A.encodeApdu(ins, p1, data), { signal });
    try {
      return A.splitResponse(resp);
    } catch (err) {
      throw new FidoError(
        'protocol',
        `The security key sent a malformed U2F response: ${(err as Error).message}.`,
      );
    }
  }

  /** Repeat the request while the key answers "touch me"; prompts on the first such answer. */
  private async untilTouched(ins: number, p1: number, data: Buffer, ctx: Op): Promise<Buffer> {
    let prompted = false;
    const prompt: TouchPrompt = {
      requestId: ctx.requestId,
      keyLabel: this.label,
      purpose: ctx.purpose,
      signal: ctx.signal,
      fingerprint: false,
    };
    const deadline = Date.now() + this.touchTimeoutMs;
    try {
      for (;;) {
        const r = await this.apdu(ins, p1, data, ctx.signal);
        if (r.sw === A.SW_NO_ERROR) return r.data;
        if (r.sw !== A.SW_CONDITIONS_NOT_SATISFIED) throw swError(r.sw);
        if (!prompted) {
          prompted = true;
          this.prompter.touchNeeded(prompt);
        }
        if (Date.now() >= deadline)
          throw new FidoError('timeout', 'The security key was not touched in time.');
        await sleep(this.pollIntervalMs, ctx.signal);
      }
    } finally {
      if (prompted) {
        try {
          this.prompter.touchDone(prompt);
        } catch {
          // UI errors must not mask the key's answer.
        }
      }
    }
  }

  private exclusive<T>(ctx: OperationContext, fn: (op: Op) => Promise<T>): Promise<T> {
    return this.queue.run(this, this.label, ctx, (r) =>
      fn({ purpose: ctx.purpose, signal: r.signal, requestId: r.id }),
    );
  }

  makeCredential(req: MakeCredentialRequest, ctx: OperationContext): Promise<MakeCredentialResult> {
    return this.exclusive(ctx, (op) => this.makeCredentialNow(req, op));
  }

  getAssertion(req: GetAssertionRequest, ctx: OperationContext): Promise<AssertionResult> {
    return this.exclusive(ctx, (op) => this.getAssertionNow(req, op));
  }

  private async makeCredentialNow(req: MakeCredentialRequest, ctx: Op): Promise<MakeCredentialResult> {
    if (req.algorithm !== COSE_ES256) {
      throw new FidoError(
        'unsupported',
        'This U2F security key only supports ECDSA keys (ecdsa-sk), not Ed25519.',
      );
    }
    if (req.residentKey)
      throw new FidoError('unsupported', 'This U2F security key cannot store resident keys.');
    if (req.userVerification) {
      throw new FidoError(
        'unsupported',
        'This U2F security key has no PIN; verify-required needs a FIDO2 key.',
      );
    }
    const rpIdHash = sha256(req.rpId);
    const data = await this.untilTouched(
      A.U2F_REGISTER,
      0x00,
      Buffer.concat([req.clientDataHash, rpIdHash]),
      ctx,
    );
    let reg: A.RegisterResponse;
    try {
      reg = A.parseRegisterResponse(data);
    } catch (err) {
      throw new FidoError(
        'protocol',
        `The security key sent a malformed U2F registration: ${(err as Error).message}.`,
      );
    }
    // CTAP 2.1 §8.2: authenticatorData with UP|AT, counter 0, zero AAGUID; "fido-u2f" attestation.
    const coseKey = await cborEncode(ec2CoseKey(reg.publicKey, COSE_ES256));
    const flags = 0x01 | FLAG_AT;
    const authData = buildAuthData(rpIdHash, flags, 0, {
      aaguid: Buffer.alloc(16),
      credentialId: reg.keyHandle,
      coseKey,
    });
    return {
      credentialId: reg.keyHandle,
      algorithm: COSE_ES256,
      publicKey: reg.publicKey,
      authData,
      fmt: 'fido-u2f',
      attStmt: { sig: reg.signature, x5c: [reg.certificate] },
      flags,
      signCount: 0,
    };
  }

  private async getAssertionNow(req: GetAssertionRequest, ctx: Op): Promise<AssertionResult> {
    checkHash(req.clientDataHash);
    if (req.userVerification) {
      throw new FidoError(
        'unsupported',
        'This U2F security key has no PIN; verify-required needs a FIDO2 key.',
      );
    }
    if (req.credentialIds.length === 0) {
      throw new FidoError('unsupported', 'This U2F security key cannot store resident keys.');
    }
    const rpIdHash = sha256(req.rpId);
    const body = (kh: Buffer) => {
      if (kh.length > 255)
        throw new FidoError('no-credentials', 'This security key does not hold the requested credential.');
      return Buffer.concat([req.clientDataHash, rpIdHash, Buffer.from([kh.length]), kh]);
    };
    // Find the key handle that is ours without a touch ("check-only" answers 6985 for ours).
    let handle: Buffer | undefined;
    for (const kh of req.credentialIds) {
      const r = await this.apdu(A.U2F_AUTHENTICATE, A.AUTH_CHECK_ONLY, body(kh), ctx.signal);
      if (r.sw === A.SW_CONDITIONS_NOT_SATISFIED) {
        handle = kh;
        break;
      }
      if (r.sw !== A.SW_WRONG_DATA) throw swError(r.sw);
    }
    if (!handle)
      throw new FidoError('no-credentials', 'This security key does not hold the requested credential.');
    const p1 = req.userPresence ? A.AUTH_ENFORCE_UP : A.AUTH_DONT_ENFORCE_UP;
    const data = await this.untilTouched(A.U2F_AUTHENTICATE, p1, body(handle), ctx);
    let auth: A.AuthenticateResponse;
    try {
      auth = A.parseAuthenticateResponse(data);
    } catch (err) {
      throw new FidoError(
        'protocol',
        `The security key sent a malformed U2F signature: ${(err as Error).message}.`,
      );
    }
    // The U2F signature covers rpIdHash | presence byte | counter | challenge, i.e. exactly
    // authenticatorData || clientDataHash of CTAP2 (CTAP 2.1 §8.3), so the byte is kept as is.
    const flags = auth.userPresence;
    return {
      credentialId: Buffer.from(handle),
      authData: buildAuthData(rpIdHash, flags, auth.counter),
      flags,
      signCount: auth.counter,
      signature: auth.signature,
    };
  }
}

function checkHash(h: Buffer): void {
  if (h.length !== 32) throw new FidoError('protocol', `clientDataHash must be 32 bytes, got ${h.length}.`);
}

/** An operation in progress: its purpose, its request's id, and the signal that ends it. */
interface Op {
  purpose: Purpose;
  signal: AbortSignal;
  requestId: number;
}
