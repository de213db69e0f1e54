// CTAP2 commands over a CTAPHID connection (CTAP 2.1 §6): request/response maps in canonical
// CBOR, status byte first. This layer is mechanical; policy (when to ask for a PIN, what to tell
// the user) lives in ../security-key.

import { FidoError } from '../api';
import { CMD_CBOR } from '../ctaphid/constants';
import type { CtapHidConnection, TransactOptions } from '../ctaphid/connection';
import { ctapStatusError } from '../errors';
import { asMap, cborDecode, cborEncode, CborShapeError, getBytes, getInt, type CborMap } from './cbor';
import * as C from './constants';
import { encapsulate, paddedPin, pinHash16, type PinUvAuthProtocol } from './pin-protocol';

export interface AuthenticatorInfo {
  versions: string[];
  extensions: string[];
  aaguid: Buffer;
  /** Option id → value; absent means "not supported" (§6.4). */
  options: Map<string, boolean>;
  maxMsgSize?: number;
  pinUvAuthProtocols: number[];
  /** COSE algorithms the key lists (§6.4 member 0x0A), if it lists them. */
  algorithms?: number[];
  /** The PIN must be changed before it unlocks anything (§6.4 member 0x0C). */
  forcePinChange: boolean;
  /** Shortest PIN the key accepts for a new PIN (§6.4 member 0x0D; 4 when not given). */
  minPinLength: number;
}

export class Ctap2Client {
  constructor(readonly conn: CtapHidConnection) {}

  /** One CTAP2 command; returns the response map (null for an empty success) or throws CtapStatusError. */
  async command(cmd: number, params: CborMap | null, opts: TransactOptions = {}): Promise<CborMap | null> {
    const body = params ? await cborEncode(params) : Buffer.alloc(0);
    const resp = await this.conn.transact(CMD_CBOR, Buffer.concat([Buffer.from([cmd]), body]), opts);
    if (resp.length === 0) throw new FidoError('protocol', 'The security key sent an empty CTAP2 response.');
    if (resp[0] !== C.CTAP2_OK) throw ctapStatusError(resp[0]);
    if (resp.length === 1) return null;
    try {
      return asMap(await cborDecode(resp.subarray(1)), 'CTAP2 response');
    } catch (err) {
      throw new FidoError(
        'protocol',
        `The security key sent a malformed response: ${(err as Error).message}.`,
      );
    }
  }

  private async required(cmd: number, params: CborMap | null, opts?: TransactOptions): Promise<CborMap> {
    const m = await this.command(cmd, params, opts);
    if (!m)
      throw new FidoError('protocol', 'The security key sent an empty response where data was expected.');
    return m;
  }

  async getInfo(opts?: TransactOptions): Promise<AuthenticatorInfo> {
    const m = await this.required(C.CTAP2_GET_INFO, null, opts);
    return shaped(() => {
      const strings = (v: unknown) =>
        Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
      const options = new Map<string, boolean>();
      const rawOptions = m.get(4);
      if (rawOptions instanceof Map) {
        for (const [k, v] of rawOptions)
          if (typeof k === 'string' && typeof v === 'boolean') options.set(k, v);
      }
      const protos = m.get(6);
      const algs = m.get(0x0a);
      return {
        versions: strings(m.get(1)),
        extensions: strings(m.get(2)),
        aaguid: getBytes(m, 3, 'aaguid'),
        options,
        maxMsgSize: getInt(m, 5, 'maxMsgSize', true),
        pinUvAuthProtocols: Array.isArray(protos)
          ? protos.filter((x): x is number => typeof x === 'number')
          : [],
        algorithms: Array.isArray(algs)
          ? algs.flatMap((a) =>
              a instanceof Map && typeof a.get('alg') === 'number' ? [a.get('alg') as number] : [],
            )
          : undefined,
        forcePinChange: m.get(0x0c) === true,
        minPinLength: getInt(m, 0x0d, 'minPINLength', true) ?? 4,
      };
    });
  }

  makeCredential(params: CborMap, opts?: TransactOptions): Promise<CborMap> {
    return this.required(C.CTAP2_MAKE_CREDENTIAL, params, opts);
  }

  getAssertion(params: CborMap, opts?: TransactOptions): Promise<CborMap> {
    return this.required(C.CTAP2_GET_ASSERTION, params, opts);
  }

  /**
   * One authenticatorCredentialManagement call (§6.8). Begin commands are authenticated:
   * pinUvAuthParam = authenticate(token, subCommand || CBOR(subCommandParams)).
   */
  async credentialManagement(
    cmd: number,
    auth: { protocol: PinUvAuthProtocol; token: Buffer },
    sub: number,
    params?: CborMap,
  ): Promise<CborMap | null> {
    const m: CborMap = new Map<number, unknown>([[1, sub]]);
    if (sub !== C.CM_ENUMERATE_RPS_NEXT && sub !== C.CM_ENUMERATE_CREDENTIALS_NEXT) {
      const encoded = params ? await cborEncode(params) : Buffer.alloc(0);
      if (params) m.set(2, params);
      m.set(3, auth.protocol.version);
      m.set(4, auth.protocol.authenticate(auth.token, Buffer.concat([Buffer.from([sub]), encoded])));
    }
    return this.command(cmd, m);
  }

  // --- authenticatorClientPIN (§6.5.5) ---

  async getRetries(protocol: PinUvAuthProtocol): Promise<number> {
    const m = await this.required(C.CTAP2_CLIENT_PIN, pinParams(protocol, C.PIN_GET_RETRIES));
    return shaped(() => getInt(m, 3, 'pinRetries'));
  }

  async getKeyAgreement(protocol: PinUvAuthProtocol): Promise<CborMap> {
    const m = await this.required(C.CTAP2_CLIENT_PIN, pinParams(protocol, C.PIN_GET_KEY_AGREEMENT));
    return shaped(() => asMap(m.get(1), 'keyAgreement'));
  }

  /** setPIN (§6.5.5.5): only when the key has no PIN yet. */
  async setPin(protocol: PinUvAuthProtocol, pin: string): Promise<void> {
    const { platformKey, sharedSecret } = encapsulate(protocol, await this.getKeyAgreement(protocol));
    const newPinEnc = protocol.encrypt(sharedSecret, paddedPin(pin));
    const params = pinParams(protocol, C.PIN_SET_PIN);
    params.set(3, platformKey);
    params.set(4, protocol.authenticate(sharedSecret, newPinEnc));
    params.set(5, newPinEnc);
    await this.command(C.CTAP2_CLIENT_PIN, params);
  }

  /** changePIN (§6.5.5.6): the current PIN proves the user, the new one replaces it. */
  async changePin(protocol: PinUvAuthProtocol, oldPin: string, newPin: string): Promise<void> {
    const { platformKey, sharedSecret } = encapsulate(protocol, await this.getKeyAgreement(protocol));
    const newPinEnc = protocol.encrypt(sharedSecret, paddedPin(newPin));
    const pinHashEnc = protocol.encrypt(sharedSecret, pinHash16(oldPin));
    const params = pinParams(protocol, C.PIN_CHANGE_PIN);
    params.set(3, platformKey);
    params.set(4, protocol.authenticate(sharedSecret, Buffer.concat([newPinEnc, pinHashEnc])));
    params.set(5, newPinEnc);
    params.set(6, pinHashEnc);
    await this.command(C.CTAP2_CLIENT_PIN, params);
  }

  /**
   * A pinUvAuthToken from the key's built-in user verification (a fingerprint):
   * getPinUvAuthTokenUsingUvWithPermissions (0x06). `opts` carries the keepalives: the key waits
   * for a finger.
   */
  async getUvToken(
    protocol: PinUvAuthProtocol,
    permissions: number,
    rpId: string | undefined,
    opts: TransactOptions = {},
  ): Promise<Buffer> {
    const { platformKey, sharedSecret } = encapsulate(protocol, await this.getKeyAgreement(protocol));
    const params = pinParams(protocol, C.PIN_GET_TOKEN_USING_UV);
    params.set(3, platformKey);
    params.set(9, permissions);
    if (rpId !== undefined) params.set(0x0a, rpId);
    const m = await this.required(C.CTAP2_CLIENT_PIN, params, opts);
    return decryptToken(
      protocol,
      sharedSecret,
      shaped(() => getBytes(m, 2, 'pinUvAuthToken')),
    );
  }

  /**
   * A pinUvAuthToken from the PIN: getPinUvAuthTokenUsingPinWithPermissions (0x09) when the key
   * supports it (option pinUvAuthToken), else the CTAP 2.0 getPinToken (0x05).
   */
  async getPinToken(
    protocol: PinUvAuthProtocol,
    pin: string,
    withPermissions?: { permissions: number; rpId?: string },
  ): Promise<Buffer> {
    const { platformKey, sharedSecret } = encapsulate(protocol, await this.getKeyAgreement(protocol));
    const params = pinParams(
      protocol,
      withPermissions ? C.PIN_GET_TOKEN_WITH_PERMISSIONS : C.PIN_GET_PIN_TOKEN,
    );
    params.set(3, platformKey);
    params.set(6, protocol.encrypt(sharedSecret, pinHash16(pin)));
    if (withPermissions) {
      params.set(9, withPermissions.permissions);
      if (withPermissions.rpId !== undefined) params.set(0x0a, withPermissions.rpId);
    }
    const m = await this.required(C.CTAP2_CLIENT_PIN, params);
    return decryptToken(
      protocol,
      sharedSecret,
      shaped(() => getBytes(m, 2, 'pinUvAuthToken')),
    );
  }
}

function decryptToken(protocol: PinUvAuthProtocol, sharedSecret: Buffer, enc: Buffer): Buffer {
  {
    let token: Buffer;
    try {
      token = protocol.decrypt(sharedSecret, enc);
    } catch (err) {
      throw new FidoError(
        'protocol',
        `The security key sent an undecryptable PIN token: ${(err as Error).message}.`,
      );
    }
    if (token.length !== 16 && token.length !== 32) {
      throw new FidoError('protocol', `The security key sent a PIN token of ${token.length} bytes.`);
    }
    return token;
  }
}

function pinParams(protocol: PinUvAuthProtocol, sub: number): CborMap {
  return new Map<number, unknown>([
    [1, protocol.version],
    [2, sub],
  ]);
}

/** Run a response-shape check; shape errors become FidoError('protocol'). */
function shaped<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CborShapeError) {
      throw new FidoError('protocol', `The security key sent a malformed response: ${err.message}.`);
    }
    throw err;
  }
}
