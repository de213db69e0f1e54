// SecurityKey (api.ts) on top of the CTAP2 client: decides when a PIN is needed, which PIN
// protocol to use, turns KEEPALIVE UPNEEDED into touch prompts, and CTAP errors into sentences.

import {
  FidoError,
  FLAG_UP,
  FLAG_UV,
  type AssertionResult,
  type CoseAlgorithm,
  type GetAssertionRequest,
  type MakeCredentialRequest,
  type MakeCredentialResult,
  type OperationContext,
  type Purpose,
  type SecurityKey,
  type TouchPrompt,
  type UserPrompter,
} from './api';
import { decodeAuthDataCbor, parseAuthData } from './ctap2/auth-data';
import { asMap, getBytes, getString, type CborMap } from './ctap2/cbor';
import { Ctap2Client, type AuthenticatorInfo } from './ctap2/client';
import * as C from './ctap2/constants';
import { credentialPublicKey } from './ctap2/cose';
import { pinProtocolOne, pinProtocolTwo, type PinUvAuthProtocol } from './ctap2/pin-protocol';
import { CtapHidConnection, type ConnectionOptions, type TransactOptions } from './ctaphid/connection';
import { STATUS_UPNEEDED } from './ctaphid/constants';
import { CtapStatusError, hasStatus } from './errors';
import type { HidReportDevice } from './hid/report-device';
import { sha256 } from './hash';
import { requestQueue, type RequestQueue } from './request-queue';

/** The key has no CTAP2: only U2F (CTAP1), or nothing usable. */
export class U2fOnlyError extends FidoError {
  constructor() {
    super('unsupported', 'This key only supports U2F (CTAP1); KeyVNet needs a FIDO2 key for this.');
  }
}

export interface OpenSecurityKeyOptions extends ConnectionOptions {
  /** Label for prompts; default: the device's product name. */
  label?: string;
  /** Where its requests queue (default: the process's requestQueue, which the UI lists). */
  queue?: RequestQueue;
}

/** PIN auth material for one request. */
interface PinAuth {
  protocol: PinUvAuthProtocol;
  token: Buffer;
}

export class Ctap2SecurityKey implements SecurityKey {
  readonly kind = 'ctap2' as const;
  /** The last PIN tried through this key object was wrong (the next PIN dialog says so). */
  private lastPinWrong = false;

  private constructor(
    readonly label: string,
    readonly client: Ctap2Client,
    private info: AuthenticatorInfo,
    private readonly prompter: UserPrompter,
    /** Whole operations run one at a time per key, through the process's request queue. */
    private readonly queue: RequestQueue,
  ) {}

  /** INIT a channel on `device`, then getInfo; refuses U2F-only keys. Closes the device on failure. */
  static async open(
    device: HidReportDevice,
    prompter: UserPrompter,
    opts: OpenSecurityKeyOptions = {},
  ): Promise<Ctap2SecurityKey> {
    try {
      const conn = await CtapHidConnection.open(device, opts);
      return await Ctap2SecurityKey.onConnection(
        conn,
        opts.label ?? device.info.product,
        prompter,
        opts.queue,
      );
    } catch (err) {
      await device.close().catch(() => {});
      throw err;
    }
  }

  /** getInfo on an open channel; throws U2fOnlyError for keys without CTAP2. */
  static async onConnection(
    conn: CtapHidConnection,
    label: string,
    prompter: UserPrompter,
    queue: RequestQueue = requestQueue,
  ): Promise<Ctap2SecurityKey> {
    if (!conn.supportsCbor) throw new U2fOnlyError();
    const client = new Ctap2Client(conn);
    let info: AuthenticatorInfo;
    try {
      info = await client.getInfo();
    } catch (err) {
      if (hasStatus(err, C.CTAP1_ERR_INVALID_COMMAND)) throw new U2fOnlyError();
      throw err;
    }
    if (!info.versions.some((v) => v.startsWith('FIDO_2'))) throw new U2fOnlyError();
    return new Ctap2SecurityKey(label, client, info, prompter, queue);
  }

  /** What the key said in getInfo (refreshed after setPin). */
  get authenticatorInfo(): AuthenticatorInfo {
    return this.info;
  }

  /** true: PIN set; false: PIN supported but not set; undefined: no PIN support. */
  get pinSet(): boolean | undefined {
    return this.info.options.get('clientPin');
  }

  /** Protocol two when the key lists it, else one (CTAP 2.1 §6.5.4). */
  get pinProtocol(): PinUvAuthProtocol {
    return this.info.pinUvAuthProtocols.includes(2) ? pinProtocolTwo : pinProtocolOne;
  }

  async getPinRetries(): Promise<number> {
    return this.client.getRetries(this.pinProtocol);
  }

  /** Queue `fn` behind the other requests on this key; it gets the request's id and signal. */
  private exclusive<T>(ctx: OperationContext, fn: (op: Op) => Promise<T>): Promise<T> {
    return this.queue.run(this, this.label, ctx, (r) =>
      fn({ purpose: ctx.purpose, signal: r.signal, requestId: r.id }),
    );
  }

  /** Set the first PIN of a key that has none (setup), within the key's own rules (minPINLength). */
  setPin(
    pin: string,
    ctx: OperationContext = { purpose: { what: 'set-pin', requester: 'app' } },
  ): Promise<void> {
    return this.exclusive(ctx, () => this.setPinNow(pin));
  }

  /**
   * Change the PIN (also what a key with forcePINChange needs). A wrong current PIN is not retried:
   * it fails with 'pin-invalid' and the attempts left.
   */
  changePin(
    currentPin: string,
    newPin: string,
    ctx: OperationContext = { purpose: { what: 'change-pin', requester: 'app' } },
  ): Promise<void> {
    return this.exclusive(ctx, async () => {
      if (this.pinSet !== true)
        throw new FidoError('pin-not-set', 'The security key has no PIN to change; set one.');
      this.checkNewPin(newPin);
      const retries = await this.client.getRetries(this.pinProtocol);
      checkPinShape(currentPin, retries);
      try {
        await this.client.changePin(this.pinProtocol, currentPin, newPin);
      } catch (err) {
        if (hasStatus(err, C.CTAP2_ERR_PIN_INVALID)) throw await this.wrongPin();
        throw err;
      }
      this.info = await this.client.getInfo();
    });
  }

  /**
   * Does this key hold `credentialId` for `rpId`? Asked without a touch (getAssertion with
   * up=false, as OpenSSH's sk_probe), so several plugged-in keys can be told apart silently. A
   * credential protected by credProtect level 3 cannot be found this way (false).
   */
  async holdsCredential(rpId: string, credentialId: Buffer, ctx: OperationContext): Promise<boolean> {
    try {
      await this.getAssertion(
        {
          rpId,
          clientDataHash: sha256(credentialId),
          credentialIds: [credentialId],
          userPresence: false,
          userVerification: false,
        },
        ctx,
      );
      return true;
    } catch (err) {
      if (err instanceof FidoError && err.code === 'no-credentials') return false;
      throw err;
    }
  }

  /**
   * Blink and wait for a touch (authenticatorSelection, CTAP 2.1 §6.9): "touch the key you mean"
   * when several are plugged in. Resolves when touched; 'unsupported' on keys without the command.
   */
  selectByTouch(ctx: OperationContext): Promise<void> {
    return this.exclusive(ctx, async (op) => {
      try {
        await this.withTouch(op, (o) => this.client.command(C.CTAP2_SELECTION, null, o));
      } catch (err) {
        if (hasStatus(err, C.CTAP1_ERR_INVALID_COMMAND))
          throw new FidoError(
            'unsupported',
            `${this.label} cannot be chosen by touch (no authenticatorSelection).`,
          );
        throw err;
      }
    });
  }

  /**
   * The resident (discoverable) credentials on the key, for every relying party: what
   * `ssh-keygen -K` reads (authenticatorCredentialManagement, §6.8). Needs the PIN (or the
   * fingerprint), asked through the prompter; a key without credential management says so.
   */
  listResidentCredentials(
    ctx: OperationContext = { purpose: { what: 'list-resident', requester: 'app' } },
  ): Promise<ResidentCredential[]> {
    return this.exclusive(ctx, async (op) => {
      const opts = this.info.options;
      const cmd =
        opts.get('credMgmt') === true
          ? C.CTAP2_CREDENTIAL_MANAGEMENT
          : opts.get('credentialMgmtPreview') === true
            ? C.CTAP2_CREDENTIAL_MANAGEMENT_PREVIEW
            : null;
      if (cmd === null)
        throw new FidoError('unsupported', `${this.label} cannot list the credentials stored on it.`);
      if (opts.get('clientPin') !== true && opts.get('uv') !== true)
        throw new FidoError(
          'pin-not-set',
          `Listing the keys stored on ${this.label} needs its PIN; set a PIN first.`,
        );
      const auth =
        opts.get('uv') === true && opts.get('pinUvAuthToken') === true
          ? await this.uvAuth(undefined, C.PERMISSION_CM, op).catch((err) => {
              if (opts.get('clientPin') !== true) throw err;
              return this.pinAuth(undefined, C.PERMISSION_CM, op);
            })
          : await this.pinAuth(undefined, C.PERMISSION_CM, op);
      const cm = (sub: number, params?: CborMap) => this.client.credentialManagement(cmd, auth, sub, params);
      const out: ResidentCredential[] = [];
      const rps = await collect(cm, C.CM_ENUMERATE_RPS_BEGIN, C.CM_ENUMERATE_RPS_NEXT, 5);
      for (const rp of rps) {
        const rpId = protocolShapeSync(() => getString(asMap(rp.get(3), 'rp'), 'id', 'rp.id'));
        const rpIdHash = protocolShapeSync(() => getBytes(rp, 4, 'rpIDHash'));
        if (!rpIdHash.equals(sha256(rpId)))
          throw new FidoError(
            'protocol',
            'The security key listed a relying party whose hash does not match its id.',
          );
        const creds = await collect(
          (sub) => cm(sub, sub === C.CM_ENUMERATE_CREDENTIALS_BEGIN ? new Map([[1, rpIdHash]]) : undefined),
          C.CM_ENUMERATE_CREDENTIALS_BEGIN,
          C.CM_ENUMERATE_CREDENTIALS_NEXT,
          9,
        );
        for (const c of creds) {
          out.push(
            protocolShapeSync(() => {
              const user = asMap(c.get(6), 'user');
              const { algorithm, publicKey } = credentialPublicKey(asMap(c.get(8), 'publicKey'));
              const level = c.get(0x0a);
              return {
                rpId,
                userId: getBytes(user, 'id', 'user.id'),
                userName: getString(user, 'name', 'user.name', true) ?? '',
                credentialId: getBytes(asMap(c.get(7), 'credentialID'), 'id', 'credential id'),
                algorithm,
                publicKey,
                credProtect: level === 2 || level === 3 ? level : 1,
              };
            }),
          );
        }
      }
      return out;
    });
  }

  /** A new PIN must fit CTAP's limits and the key's minPINLength, said before the key refuses it. */
  private checkNewPin(pin: string): void {
    checkPinShape(pin);
    const min = this.info.minPinLength;
    if ([...pin.normalize('NFC')].length < min) {
      throw new FidoError('pin-policy', `${this.label} needs a PIN of at least ${min} characters.`);
    }
  }

  makeCredential(req: MakeCredentialRequest, ctx: OperationContext): Promise<MakeCredentialResult> {
    return this.exclusive(ctx, (op) => this.makeCredentialNow(req, op));
  }

  getAssertion(req: GetAssertionRequest, ctx: OperationContext): Promise<AssertionResult> {
    return this.exclusive(ctx, (op) => this.getAssertionNow(req, op));
  }

  private async setPinNow(pin: string): Promise<void> {
    this.checkNewPin(pin);
    if (this.pinSet === true) throw new FidoError('unsupported', 'The security key already has a PIN.');
    await this.client.setPin(this.pinProtocol, pin);
    this.info = await this.client.getInfo();
  }

  async wink(): Promise<void> {
    await this.client.conn.wink();
  }

  async close(): Promise<void> {
    await this.client.conn.close();
  }

  private async makeCredentialNow(req: MakeCredentialRequest, ctx: Op): Promise<MakeCredentialResult> {
    checkHash(req.clientDataHash);
    // OpenSSH (sk-usbhid.c) refuses to make a resident or verify-required key without credProtect:
    // on such a key anyone holding it could list and use the credential with a touch alone.
    if (
      req.credProtect !== undefined &&
      req.credProtect > 1 &&
      !this.info.extensions.includes('credProtect')
    ) {
      throw new FidoError(
        'unsupported',
        `${this.label} does not support credential protection (credProtect), so it cannot hold a ` +
          'resident or verify-required SSH key safely; use a non-resident key without verify-required, or another key.',
      );
    }
    const run = async (auth: PinAuth | null, builtInUv: boolean) => {
      const params: CborMap = new Map<number, unknown>([
        [1, req.clientDataHash],
        [
          2,
          new Map([
            ['id', req.rpId],
            ['name', req.rpId],
          ]),
        ],
        [
          3,
          new Map<string, unknown>([
            ['id', req.userId],
            ['name', req.userName],
            ['displayName', req.userName],
          ]),
        ],
        [
          4,
          [
            new Map<string, unknown>([
              ['alg', req.algorithm],
              ['type', 'public-key'],
            ]),
          ],
        ],
      ]);
      const options = new Map<string, boolean>();
      if (req.residentKey) options.set('rk', true);
      if (builtInUv) options.set('uv', true);
      if (options.size > 0) params.set(7, options);
      if (req.credProtect !== undefined && req.credProtect > 1)
        params.set(6, new Map([['credProtect', req.credProtect]]));
      if (auth) {
        params.set(8, auth.protocol.authenticate(auth.token, req.clientDataHash));
        params.set(9, auth.protocol.version);
      }
      return this.withTouch(ctx, (o) => this.client.makeCredential(params, o));
    };
    const resp = await this.withUserVerification(req.userVerification, req.rpId, C.PERMISSION_MC, ctx, run);
    return protocolShape(async () => {
      const fmt = getString(resp, 1, 'fmt');
      const authData = getBytes(resp, 2, 'authData');
      const attStmtMap = asMap(resp.get(3), 'attStmt');
      const parsed = parseAuthData(authData);
      checkRp(parsed.rpIdHash, req.rpId);
      if (!parsed.attested) throw new Error('no attested credential data');
      if (parsed.attested.credentialId.length === 0) throw new Error('empty credential id');
      const decoded = await decodeAuthDataCbor(parsed);
      const { algorithm, publicKey } = credentialPublicKey(decoded.publicKey!);
      if (algorithm !== req.algorithm)
        throw new Error(`credential algorithm ${algorithm}, asked for ${req.algorithm}`);
      // makeCredential always tests user presence (§6.1.2 step 13).
      if (!(parsed.flags & FLAG_UP)) throw new Error('user presence flag missing');
      if (req.userVerification && !(parsed.flags & FLAG_UV))
        throw new Error('user verification flag missing');
      const level = decoded.extensions?.get('credProtect');
      if (req.credProtect !== undefined && req.credProtect > 1 && level !== req.credProtect)
        throw new Error(`credProtect level ${String(level ?? 'none')}, asked for ${req.credProtect}`);
      const attStmt: Record<string, unknown> = {};
      for (const [k, v] of attStmtMap) attStmt[String(k)] = v;
      return {
        credentialId: Buffer.from(parsed.attested.credentialId),
        algorithm,
        publicKey,
        authData,
        fmt,
        attStmt,
        flags: parsed.flags,
        signCount: parsed.signCount,
      };
    });
  }

  private async getAssertionNow(req: GetAssertionRequest, ctx: Op): Promise<AssertionResult> {
    checkHash(req.clientDataHash);
    const run = async (auth: PinAuth | null, builtInUv: boolean) => {
      const params: CborMap = new Map<number, unknown>([
        [1, req.rpId],
        [2, req.clientDataHash],
      ]);
      if (req.credentialIds.length > 0) {
        params.set(
          3,
          req.credentialIds.map(
            (id) =>
              new Map<string, unknown>([
                ['id', id],
                ['type', 'public-key'],
              ]),
          ),
        );
      }
      const options = new Map<string, boolean>();
      if (!req.userPresence) options.set('up', false);
      if (builtInUv) options.set('uv', true);
      if (options.size > 0) params.set(5, options);
      if (auth) {
        params.set(6, auth.protocol.authenticate(auth.token, req.clientDataHash));
        params.set(7, auth.protocol.version);
      }
      return this.withTouch(ctx, (o) => this.client.getAssertion(params, o));
    };
    const resp = await this.withUserVerification(req.userVerification, req.rpId, C.PERMISSION_GA, ctx, run);
    return protocolShape(async () => {
      const authData = getBytes(resp, 2, 'authData');
      const signature = getBytes(resp, 3, 'signature');
      const cred = resp.get(1);
      let credentialId: Buffer;
      if (cred !== undefined) credentialId = getBytes(asMap(cred, 'credential'), 'id', 'credential id');
      else if (req.credentialIds.length === 1)
        credentialId = req.credentialIds[0]; // may be omitted (§6.2)
      else throw new Error('credential missing');
      if (req.credentialIds.length > 0 && !req.credentialIds.some((id) => id.equals(credentialId)))
        throw new Error('the key answered with a credential that was not asked for');
      const parsed = parseAuthData(authData);
      checkRp(parsed.rpIdHash, req.rpId);
      if (req.userPresence && !(parsed.flags & FLAG_UP)) throw new Error('user presence flag missing');
      if (req.userVerification && !(parsed.flags & FLAG_UV))
        throw new Error('user verification flag missing');
      await decodeAuthDataCbor(parsed); // extension outputs must at least be well-formed
      return {
        credentialId: Buffer.from(credentialId),
        authData,
        flags: parsed.flags,
        signCount: parsed.signCount,
        signature,
      };
    });
  }

  /**
   * Run `op` with the user verification it needs. A key with built-in UV (fingerprint) verifies
   * the user itself first; the PIN is asked only when UV is requested (or the key answers
   * PIN_REQUIRED) and the key has a PIN, or its fingerprint did not match. A wrong PIN is never
   * retried here.
   */
  private async withUserVerification<T>(
    wantUv: boolean,
    rpId: string,
    permission: number,
    ctx: Op,
    op: (auth: PinAuth | null, builtInUv: boolean) => Promise<T>,
  ): Promise<T> {
    const clientPin = this.info.options.get('clientPin');
    const verified = async (): Promise<T> => {
      if (this.info.options.get('uv') === true) {
        try {
          // CTAP 2.1 keys give a token for the finger; CTAP 2.0 ones take the `uv` option.
          if (this.info.options.get('pinUvAuthToken') === true)
            return await op(await this.uvAuth(rpId, permission, ctx), false);
          return await op(null, true);
          // (the `uv` option: the touch prompt of `op` stands for the finger)
        } catch (err) {
          const uvFailed = hasStatus(err, C.CTAP2_ERR_UV_INVALID) || hasStatus(err, C.CTAP2_ERR_UV_BLOCKED);
          if (!uvFailed || clientPin !== true) throw err;
          // The finger was not recognised: the PIN is the fallback (libfido2 does the same).
        }
      }
      return op(await this.pinAuth(rpId, permission, ctx), false);
    };
    if (wantUv) {
      if (clientPin === true || this.info.options.get('uv') === true) return verified();
      if (clientPin === false) {
        throw new FidoError(
          'pin-not-set',
          'This key needs a PIN for verify-required credentials; set a PIN on the key first.',
        );
      }
      throw new FidoError(
        'unsupported',
        'This security key cannot verify the user (no PIN or biometrics support).',
      );
    }
    try {
      return await op(null, false);
    } catch (err) {
      if (!hasStatus(err, C.CTAP2_ERR_PUAT_REQUIRED)) throw err;
      if (clientPin !== true && this.info.options.get('uv') !== true) throw err;
      return verified();
    }
  }

  /** A token from the key's own user verification; the key blinks (or lights its sensor) for it. */
  private async uvAuth(rpId: string | undefined, permission: number, ctx: Op): Promise<PinAuth> {
    const protocol = this.pinProtocol;
    const token = await this.withTouch(
      ctx,
      (o) => this.client.getUvToken(protocol, permission, rpId, o),
      true,
    );
    return { protocol, token };
  }

  /** The error for a rejected PIN, with the attempts left when the key tells. */
  private async wrongPin(): Promise<CtapStatusError> {
    const left = await this.client.getRetries(this.pinProtocol).catch(() => undefined);
    const tail =
      left === undefined ? '' : ` ${left} ${left === 1 ? 'attempt' : 'attempts'} left before the key locks.`;
    return new CtapStatusError(
      C.CTAP2_ERR_PIN_INVALID,
      'pin-invalid',
      `Wrong PIN for the security key.${tail}`,
      left,
    );
  }

  private async pinAuth(rpId: string | undefined, permission: number, ctx: Op): Promise<PinAuth> {
    const protocol = this.pinProtocol;
    if (this.info.forcePinChange) throw pinChangeRequired(this.label);
    if (
      this.info.options.get('noMcGaPermissionsWithClientPin') === true &&
      permission & (C.PERMISSION_MC | C.PERMISSION_GA)
    ) {
      throw new FidoError(
        'unsupported',
        `${this.label} accepts only its fingerprint, not its PIN, for signing; enrol a fingerprint on it.`,
      );
    }
    const retries = await this.client.getRetries(protocol);
    if (retries === 0) {
      throw new FidoError(
        'pin-blocked',
        'The security key PIN is blocked after too many wrong attempts; reset the key to use it again (this erases its credentials).',
        0,
      );
    }
    if (ctx.signal.aborted) throw new FidoError('cancelled', 'The operation was cancelled.');
    // The prompt is raced with the operation's signal: a cancelled operation must not wait on the user.
    const pin = await untilAborted(
      this.prompter.askPin({
        requestId: ctx.requestId,
        keyLabel: this.label,
        purpose: ctx.purpose,
        signal: ctx.signal,
        retriesLeft: retries,
        ...(this.lastPinWrong ? { afterWrongPin: true } : {}),
      }),
      ctx.signal,
    );
    if (pin === null)
      throw new FidoError('pin-required', 'A PIN is needed to use the security key, and none was entered.');
    if (ctx.signal.aborted) throw new FidoError('cancelled', 'The operation was cancelled.');
    checkPinShape(pin, retries);
    const withPermissions =
      this.info.options.get('pinUvAuthToken') === true ? { permissions: permission, rpId } : undefined;
    try {
      const token = await this.client.getPinToken(protocol, pin, withPermissions);
      this.lastPinWrong = false;
      return { protocol, token };
    } catch (err) {
      // A key that has to have a new PIN answers the right PIN with PIN_POLICY_VIOLATION.
      if (hasStatus(err, C.CTAP2_ERR_PIN_POLICY_VIOLATION)) throw pinChangeRequired(this.label);
      if (!hasStatus(err, C.CTAP2_ERR_PIN_INVALID)) throw err;
      this.lastPinWrong = true;
      throw await this.wrongPin();
    }
  }

  /** Shows the touch prompt on the first KEEPALIVE UPNEEDED, hides it when the request ends. */
  private async withTouch<T>(
    ctx: Op,
    fn: (o: TransactOptions) => Promise<T>,
    fingerprint = false,
  ): Promise<T> {
    let prompted = false;
    const prompt: TouchPrompt = {
      requestId: ctx.requestId,
      keyLabel: this.label,
      purpose: ctx.purpose,
      signal: ctx.signal,
      fingerprint,
    };
    const onKeepalive = (status: number) => {
      if (status !== STATUS_UPNEEDED || prompted) return;
      prompted = true;
      this.prompter.touchNeeded(prompt);
    };
    try {
      return await fn({ signal: ctx.signal, onKeepalive });
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
}

/** A resident credential as the key lists it (credential management). */
export interface ResidentCredential {
  rpId: string;
  userId: Buffer;
  userName: string;
  credentialId: Buffer;
  algorithm: CoseAlgorithm;
  /** ES256: 65-byte uncompressed point; EdDSA: 32 bytes. */
  publicKey: Buffer;
  /** credProtect level (1 when the key does not say). */
  credProtect: 1 | 2 | 3;
}

/** Every item of a begin/next enumeration; the begin answer says how many there are (`totalKey`). */
async function collect(
  cm: (sub: number) => Promise<CborMap | null>,
  begin: number,
  next: number,
  totalKey: number,
): Promise<CborMap[]> {
  let first: CborMap | null;
  try {
    first = await cm(begin);
  } catch (err) {
    if (hasStatus(err, C.CTAP2_ERR_NO_CREDENTIALS)) return [];
    throw err;
  }
  if (!first) throw new FidoError('protocol', 'The security key sent an empty credential list.');
  const total = first.get(totalKey);
  // Bounded: a key that claims millions of items is not believed.
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 1 || total > 1000)
    throw new FidoError('protocol', `The security key announced ${String(total)} items.`);
  const items = [first];
  while (items.length < total) {
    const item = await cm(next);
    if (!item) throw new FidoError('protocol', 'The security key sent an empty credential list item.');
    items.push(item);
  }
  return items;
}

function protocolShapeSync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FidoError) throw err;
    throw new FidoError('protocol', `The security key sent an invalid response: ${(err as Error).message}.`);
  }
}

function pinChangeRequired(label: string): FidoError {
  return new FidoError(
    'pin-change-required',
    `${label} requires a new PIN before it can be used: change its PIN first (KeyVNet: Change PIN).`,
  );
}

/** An operation in progress: its purpose, its request's id, and the signal that ends it. */
interface Op {
  purpose: Purpose;
  signal: AbortSignal;
  requestId: number;
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new FidoError('cancelled', 'The operation was cancelled.'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function checkHash(h: Buffer): void {
  if (h.length !== 32) throw new FidoError('protocol', `clientDataHash must be 32 bytes, got ${h.length}.`);
}

/** CTAP PINs are 4 to 63 bytes (§6.5.1); reject others before spending a retry. */
function checkPinShape(pin: string, retriesLeft?: number): void {
  const bytes = Buffer.byteLength(pin.normalize('NFC'), 'utf8');
  if ([...pin.normalize('NFC')].length < 4 || bytes > 63) {
    throw new FidoError('pin-invalid', 'A security key PIN has 4 to 63 characters.', retriesLeft);
  }
}

function checkRp(rpIdHash: Buffer, rpId: string): void {
  if (!rpIdHash.equals(sha256(rpId))) {
    throw new Error('authenticatorData is for another relying party');
  }
}

async function protocolShape<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FidoError) throw err;
    throw new FidoError('protocol', `The security key sent an invalid response: ${(err as Error).message}.`);
  }
}
