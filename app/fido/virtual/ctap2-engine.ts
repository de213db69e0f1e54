// The CTAP2 brain of the virtual authenticator (CTAP 2.1 §6): getInfo, makeCredential,
// getAssertion, clientPIN with PIN/UV auth protocols 1 and 2. It takes a CBOR request (command
// byte + map) and returns status byte + CBOR, like the firmware behind CTAPHID_CBOR.

import {
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type ECDH,
  type KeyObject,
} from 'node:crypto';
import { COSE_EDDSA, COSE_ES256, FLAG_AT, FLAG_ED, FLAG_UP, FLAG_UV, type CoseAlgorithm } from '../api';
import { buildAuthData } from '../ctap2/auth-data';
import { sha256 } from '../hash';
import {
  asMap,
  cborDecode,
  cborEncode,
  CborShapeError,
  getBytes,
  getInt,
  getString,
  type CborMap,
} from '../ctap2/cbor';
import * as C from '../ctap2/constants';
import { ec2CoseKey, ed25519CoseKey, rawPublicKey } from '../ctap2/cose';
import {
  keyAgreementCose,
  newKeyAgreementKey,
  pinHash16,
  pinProtocol,
  PinProtocolError,
  sharedSecret,
  type PinUvAuthProtocol,
} from '../ctap2/pin-protocol';
import { unwrapCredential, wrapCredential } from './credential-wrap';
import { MAX_PIN_RETRIES, type VirtualKeyStore } from './state';
import type { TouchController } from './touch';

export interface EngineOptions {
  attestation: 'packed' | 'none';
  algorithms: CoseAlgorithm[];
  pinProtocols: (1 | 2)[];
  maxMsgSize: number;
  /** Extensions it supports: 'credProtect' (default in the authenticator) or none, like older keys. */
  extensions: string[];
  /** A fingerprint key: built-in user verification, simulated by the touch controller. */
  builtInUv: boolean;
  /** Shortest PIN it accepts for setPIN/changePIN (getInfo minPINLength, default 4). */
  minPinLength: number;
  /** getInfo option noMcGaPermissionsWithClientPin: the PIN cannot unlock signing, only UV can. */
  noMcGaPermissionsWithClientPin: boolean;
}

export interface RequestIo {
  signal: AbortSignal;
  /** Send a KEEPALIVE with this status to the host. */
  keepalive(status: number): void;
}

/** Thrown inside the engine to answer with a status code. */
class Status extends Error {
  constructor(readonly code: number) {
    super(`CTAP status 0x${code.toString(16)}`);
  }
}

const MAX_CONSECUTIVE_MISMATCHES = 3;

export class Ctap2Engine {
  // Volatile state, reset at each power-up (§6.5.5.1 "authenticator power-up configuration").
  private keyAgreement: ECDH = newKeyAgreementKey();
  private token: Buffer = randomBytes(32);
  private tokenInUse = false;
  private tokenPermissions = 0;
  private tokenRpId: string | undefined;
  private consecutiveMismatches = 0;

  constructor(
    private readonly store: VirtualKeyStore,
    private readonly touch: TouchController,
    private readonly opts: EngineOptions,
  ) {}

  /** Test hook: a fixed key-agreement private key, for known-answer tests. */
  setKeyAgreementPrivateKey(priv: Buffer): void {
    this.keyAgreement = newKeyAgreementKey(priv);
  }

  get pinAuthBlocked(): boolean {
    return this.consecutiveMismatches >= MAX_CONSECUTIVE_MISMATCHES;
  }

  async handle(request: Buffer, io: RequestIo): Promise<Buffer> {
    try {
      if (request.length === 0) throw new Status(C.CTAP1_ERR_INVALID_LENGTH);
      const cmd = request[0];
      let params: CborMap = new Map();
      if (request.length > 1) {
        try {
          params = asMap(await cborDecode(request.subarray(1)), 'request');
        } catch {
          throw new Status(C.CTAP2_ERR_INVALID_CBOR);
        }
      }
      let resp: CborMap | null;
      switch (cmd) {
        case C.CTAP2_GET_INFO:
          resp = this.getInfo();
          break;
        case C.CTAP2_MAKE_CREDENTIAL:
          resp = await this.makeCredential(params, io);
          break;
        case C.CTAP2_GET_ASSERTION:
          resp = await this.getAssertion(params, io);
          break;
        case C.CTAP2_CLIENT_PIN:
          resp = await this.clientPin(params, io);
          break;
        case C.CTAP2_CREDENTIAL_MANAGEMENT:
          resp = await this.credentialManagement(params);
          break;
        case C.CTAP2_SELECTION:
          await this.userPresence(io);
          resp = null;
          break;
        default:
          throw new Status(C.CTAP1_ERR_INVALID_COMMAND);
      }
      return resp
        ? Buffer.concat([Buffer.from([C.CTAP2_OK]), await cborEncode(resp)])
        : Buffer.from([C.CTAP2_OK]);
    } catch (err) {
      if (err instanceof Status) return Buffer.from([err.code]);
      if (err instanceof CborShapeError) return Buffer.from([C.CTAP2_ERR_CBOR_UNEXPECTED_TYPE]);
      return Buffer.from([C.CTAP1_ERR_OTHER]);
    }
  }

  private getInfo(): CborMap {
    const s = this.store.state;
    return new Map<number, unknown>([
      [1, ['FIDO_2_0', 'FIDO_2_1']],
      ...(this.opts.extensions.length > 0 ? ([[2, this.opts.extensions]] as const) : []),
      [3, Buffer.from(s.aaguid, 'hex')],
      [
        4,
        new Map<string, boolean>([
          ['rk', true],
          ['up', true],
          ['clientPin', s.pinHash !== null],
          ['pinUvAuthToken', true],
          // Non-resident credentials may be made without the PIN even when one is set (§6.4).
          ['makeCredUvNotRqd', true],
          ['credMgmt', true],
          ...(this.opts.builtInUv ? ([['uv', true]] as const) : []),
          ...(this.opts.noMcGaPermissionsWithClientPin
            ? ([['noMcGaPermissionsWithClientPin', true]] as const)
            : []),
        ]),
      ],
      [5, this.opts.maxMsgSize],
      [6, this.opts.pinProtocols],
      [
        0x0a,
        this.opts.algorithms.map(
          (alg) =>
            new Map<string, unknown>([
              ['alg', alg],
              ['type', 'public-key'],
            ]),
        ),
      ],
      [0x0c, s.forcePinChange === true],
      [0x0d, this.opts.minPinLength],
    ]);
  }

  /** Common pinUvAuthParam handling of makeCredential/getAssertion; returns whether UV happened. */
  private checkPinUvAuth(
    params: CborMap,
    paramKey: number,
    protoKey: number,
    clientDataHash: Buffer,
    permission: number,
    rpId: string,
  ): boolean {
    const param = getBytes(params, paramKey, 'pinUvAuthParam', true);
    if (param === undefined) return false;
    const proto = this.protocol(getInt(params, protoKey, 'pinUvAuthProtocol', true));
    if (this.store.state.pinHash === null) throw new Status(C.CTAP2_ERR_PIN_NOT_SET);
    if (!this.tokenInUse || !proto.verify(this.token, clientDataHash, param)) {
      throw new Status(C.CTAP2_ERR_PIN_AUTH_INVALID);
    }
    if ((this.tokenPermissions & permission) === 0) throw new Status(C.CTAP2_ERR_PIN_AUTH_INVALID);
    if (this.tokenRpId !== undefined && this.tokenRpId !== rpId)
      throw new Status(C.CTAP2_ERR_PIN_AUTH_INVALID);
    this.tokenRpId = rpId; // a token is bound to the first rpId it is used with (§6.5.5.7)
    return true;
  }

  private protocol(version: number | undefined): PinUvAuthProtocol {
    if (version === undefined) throw new Status(C.CTAP2_ERR_MISSING_PARAMETER);
    const p = pinProtocol(version);
    if (!p || !this.opts.pinProtocols.includes(version as 1 | 2))
      throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
    return p;
  }

  private async userPresence(io: RequestIo): Promise<void> {
    const outcome = await this.touch.wait(io.signal, () => io.keepalive(2 /* UPNEEDED */));
    if (outcome === 'denied') throw new Status(C.CTAP2_ERR_OPERATION_DENIED);
    if (outcome === 'timeout') throw new Status(C.CTAP2_ERR_USER_ACTION_TIMEOUT);
    if (outcome === 'cancelled') throw new Status(C.CTAP2_ERR_KEEPALIVE_CANCEL);
  }

  /** Built-in UV (a finger on the sensor): the touch controller decides; a refusal is UV_INVALID. */
  private async builtInVerification(io: RequestIo): Promise<void> {
    if (!this.opts.builtInUv) throw new Status(C.CTAP2_ERR_UNSUPPORTED_OPTION);
    const outcome = await this.touch.wait(io.signal, () => io.keepalive(2 /* UPNEEDED */));
    if (outcome === 'denied') throw new Status(C.CTAP2_ERR_UV_INVALID);
    if (outcome === 'timeout') throw new Status(C.CTAP2_ERR_USER_ACTION_TIMEOUT);
    if (outcome === 'cancelled') throw new Status(C.CTAP2_ERR_KEEPALIVE_CANCEL);
  }

  private nextSignCount(): number {
    this.store.state.signCount += 1;
    this.store.save();
    return this.store.state.signCount;
  }

  private masterSecret(): Buffer {
    return Buffer.from(this.store.state.masterSecret, 'hex');
  }

  // §6.1 authenticatorMakeCredential
  private async makeCredential(p: CborMap, io: RequestIo): Promise<CborMap> {
    const clientDataHash = requiredBytes(p, 1);
    const rp = asMap(required(p, 2), 'rp');
    const rpId = getString(rp, 'id', 'rp.id');
    const user = asMap(required(p, 3), 'user');
    const userId = getBytes(user, 'id', 'user.id');
    const userName = getString(user, 'name', 'user.name', true) ?? '';
    const credParams = required(p, 4);
    if (!Array.isArray(credParams)) throw new Status(C.CTAP2_ERR_CBOR_UNEXPECTED_TYPE);
    const options = optionsOf(p, 7);
    if (options.get('up') !== undefined) throw new Status(C.CTAP2_ERR_INVALID_OPTION);
    const rk = options.get('rk') === true;
    // credProtect (§12.1); an extension the key does not list is ignored, as real keys do.
    let credProtect: 1 | 2 | 3 = 1;
    const ext = p.get(6);
    if (ext !== undefined && this.opts.extensions.includes('credProtect')) {
      const level = asMap(ext, 'extensions').get('credProtect');
      if (level !== undefined) {
        if (level !== 1 && level !== 2 && level !== 3) throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
        credProtect = level;
      }
    }

    let alg: CoseAlgorithm | undefined;
    for (const cp of credParams) {
      const m = asMap(cp, 'pubKeyCredParams entry');
      const a = m.get('alg');
      if (
        m.get('type') === 'public-key' &&
        (a === COSE_ES256 || a === COSE_EDDSA) &&
        this.opts.algorithms.includes(a)
      ) {
        alg = a;
        break;
      }
    }
    if (alg === undefined) throw new Status(C.CTAP2_ERR_UNSUPPORTED_ALGORITHM);

    let uv = this.checkPinUvAuth(p, 8, 9, clientDataHash, C.PERMISSION_MC, rpId);
    if (!uv && options.get('uv') === true) {
      await this.builtInVerification(io);
      uv = true;
    }
    if (!uv && this.store.state.pinHash !== null && rk) throw new Status(C.CTAP2_ERR_PUAT_REQUIRED);

    const rpIdHash = sha256(rpId);
    const exclude = p.get(5);
    if (Array.isArray(exclude)) {
      for (const e of exclude) {
        const id = asMap(e, 'excludeList entry').get('id');
        if (Buffer.isBuffer(id) && unwrapCredential(this.masterSecret(), rpIdHash, id)) {
          await this.userPresence(io);
          throw new Status(C.CTAP2_ERR_CREDENTIAL_EXCLUDED);
        }
      }
    }

    // A finger on the sensor is also the touch.
    if (!(uv && options.get('uv') === true)) await this.userPresence(io);

    const pair =
      alg === COSE_ES256
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
    const credentialId = wrapCredential(this.masterSecret(), rpIdHash, alg, pair.privateKey, credProtect);
    const raw = rawPublicKey(alg, pair.publicKey);
    const coseKey = await cborEncode(alg === COSE_ES256 ? ec2CoseKey(raw, COSE_ES256) : ed25519CoseKey(raw));
    // The extension output says which level the credential got (§12.1).
    const extOut =
      credProtect > 1 ? await cborEncode(new Map([['credProtect', credProtect]])) : Buffer.alloc(0);
    const flags = FLAG_UP | (uv ? FLAG_UV : 0) | FLAG_AT | (extOut.length > 0 ? FLAG_ED : 0);
    const authData = Buffer.concat([
      buildAuthData(rpIdHash, flags, this.nextSignCount(), {
        aaguid: Buffer.from(this.store.state.aaguid, 'hex'),
        credentialId,
        coseKey,
      }),
      extOut,
    ]);
    if (rk) {
      const s = this.store.state;
      const uid = userId.toString('hex');
      s.residentCredentials = s.residentCredentials.filter((c) => !(c.rpId === rpId && c.userId === uid));
      s.residentCredentials.push({ rpId, userId: uid, userName, credentialId: credentialId.toString('hex') });
      this.store.save();
    }
    let fmt = 'none';
    let attStmt = new Map<string, unknown>();
    if (this.opts.attestation === 'packed') {
      // Self attestation: signed with the credential key itself (WebAuthn §8.2).
      fmt = 'packed';
      attStmt = new Map<string, unknown>([
        ['alg', alg],
        ['sig', signWith(alg, pair.privateKey, Buffer.concat([authData, clientDataHash]))],
      ]);
    }
    return new Map<number, unknown>([
      [1, fmt],
      [2, authData],
      [3, attStmt],
    ]);
  }

  // §6.2 authenticatorGetAssertion
  private async getAssertion(p: CborMap, io: RequestIo): Promise<CborMap> {
    const rpId = getString(p, 1, 'rpId');
    const clientDataHash = requiredBytes(p, 2);
    const options = optionsOf(p, 5);
    if (options.get('uv') === true && !this.opts.builtInUv) throw new Status(C.CTAP2_ERR_UNSUPPORTED_OPTION);
    const up = options.get('up') !== false;
    let uv = this.checkPinUvAuth(p, 6, 7, clientDataHash, C.PERMISSION_GA, rpId);
    const builtIn = !uv && options.get('uv') === true;

    const rpIdHash = sha256(rpId);
    const master = this.masterSecret();
    // The built-in UV happens before credentials are looked up, so credProtect sees it.
    if (builtIn) {
      await this.builtInVerification(io);
      uv = true;
    }
    let found: { id: Buffer; key: KeyObject; alg: CoseAlgorithm; userId?: Buffer } | undefined;
    let count = 1;
    const allow = p.get(3);
    const listed = Array.isArray(allow) && allow.length > 0;
    // credProtect (§12.1): level 3 needs UV always, level 2 when found without the credential id;
    // a protected credential is simply not there otherwise.
    const visible = (level: 1 | 2 | 3): boolean => uv || level === 1 || (level === 2 && listed);
    if (listed) {
      for (const e of allow) {
        const id = asMap(e, 'allowList entry').get('id');
        const k = Buffer.isBuffer(id) ? unwrapCredential(master, rpIdHash, id) : null;
        if (k && Buffer.isBuffer(id) && visible(k.credProtect)) {
          found = { id, ...k };
          break;
        }
      }
    } else {
      const mine = this.store.state.residentCredentials.filter((c) => c.rpId === rpId).reverse();
      count = 0;
      for (const c of mine) {
        const id = Buffer.from(c.credentialId, 'hex');
        const k = unwrapCredential(master, rpIdHash, id);
        if (k && visible(k.credProtect)) {
          count++;
          found ??= { id, ...k, userId: Buffer.from(c.userId, 'hex') };
        }
      }
    }
    if (!found) throw new Status(C.CTAP2_ERR_NO_CREDENTIALS);

    if (up && !builtIn) await this.userPresence(io);
    const flags = (up ? FLAG_UP : 0) | (uv ? FLAG_UV : 0);
    const authData = buildAuthData(rpIdHash, flags, this.nextSignCount());
    const resp = new Map<number, unknown>([
      [
        1,
        new Map<string, unknown>([
          ['id', found.id],
          ['type', 'public-key'],
        ]),
      ],
      [2, authData],
      [3, signWith(found.alg, found.key, Buffer.concat([authData, clientDataHash]))],
    ]);
    if (found.userId) resp.set(4, new Map<string, unknown>([['id', found.userId]]));
    if (found.userId && count > 1) resp.set(5, count);
    return resp;
  }

  // §6.5.5 authenticatorClientPIN
  private async clientPin(p: CborMap, io: RequestIo): Promise<CborMap | null> {
    const sub = getInt(p, 2, 'subCommand');
    const s = this.store.state;
    if (sub === C.PIN_GET_RETRIES) return new Map([[3, s.pinRetries]]);
    const proto = this.protocol(getInt(p, 1, 'pinUvAuthProtocol', true));
    switch (sub) {
      case C.PIN_GET_KEY_AGREEMENT:
        return new Map([[1, keyAgreementCose(this.keyAgreement)]]);
      case C.PIN_SET_PIN: {
        const platformKey = asMap(required(p, 3), 'keyAgreement');
        const auth = requiredBytes(p, 4);
        const newPinEnc = requiredBytes(p, 5);
        if (s.pinHash !== null) throw new Status(0x30 /* CTAP2_ERR_NOT_ALLOWED */);
        const secret = this.decapsulate(proto, platformKey);
        if (!proto.verify(secret, newPinEnc, auth)) throw new Status(C.CTAP2_ERR_PIN_AUTH_INVALID);
        let padded: Buffer;
        try {
          padded = proto.decrypt(secret, newPinEnc);
        } catch {
          throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
        }
        s.pinHash = pinHash16(this.newPin(padded)).toString('hex');
        s.pinRetries = MAX_PIN_RETRIES;
        this.store.save();
        return null;
      }
      case C.PIN_CHANGE_PIN: {
        // §6.5.5.6: pinUvAuthParam = authenticate(secret, newPinEnc || pinHashEnc)
        const platformKey = asMap(required(p, 3), 'keyAgreement');
        const auth = requiredBytes(p, 4);
        const newPinEnc = requiredBytes(p, 5);
        const pinHashEnc = requiredBytes(p, 6);
        if (s.pinHash === null) throw new Status(C.CTAP2_ERR_PIN_NOT_SET);
        if (s.pinRetries === 0) throw new Status(C.CTAP2_ERR_PIN_BLOCKED);
        if (this.pinAuthBlocked) throw new Status(C.CTAP2_ERR_PIN_AUTH_BLOCKED);
        const secret = this.decapsulate(proto, platformKey);
        if (!proto.verify(secret, Buffer.concat([newPinEnc, pinHashEnc]), auth))
          throw new Status(C.CTAP2_ERR_PIN_AUTH_INVALID);
        this.checkCurrentPin(proto, secret, pinHashEnc);
        let padded: Buffer;
        try {
          padded = proto.decrypt(secret, newPinEnc);
        } catch {
          throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
        }
        const hash = pinHash16(this.newPin(padded)).toString('hex');
        if (hash === s.pinHash && s.forcePinChange) throw new Status(C.CTAP2_ERR_PIN_POLICY_VIOLATION);
        s.pinHash = hash;
        s.forcePinChange = false;
        this.store.save();
        this.token = randomBytes(32); // a PIN change invalidates issued tokens
        this.tokenInUse = false;
        return null;
      }
      case C.PIN_GET_TOKEN_USING_UV: {
        const platformKey = asMap(required(p, 3), 'keyAgreement');
        const permissions = getInt(p, 9, 'permissions', true);
        if (permissions === undefined) throw new Status(C.CTAP2_ERR_MISSING_PARAMETER);
        if (permissions === 0) throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
        if (!this.opts.builtInUv) throw new Status(C.CTAP1_ERR_INVALID_COMMAND);
        const secret = this.decapsulate(proto, platformKey);
        await this.builtInVerification(io);
        this.token = randomBytes(32);
        this.tokenInUse = true;
        this.tokenPermissions = permissions;
        this.tokenRpId = getString(p, 0x0a, 'rpId', true);
        return new Map([[2, proto.encrypt(secret, this.token)]]);
      }
      case C.PIN_GET_PIN_TOKEN:
      case C.PIN_GET_TOKEN_WITH_PERMISSIONS: {
        const platformKey = asMap(required(p, 3), 'keyAgreement');
        const pinHashEnc = requiredBytes(p, 6);
        let permissions = C.PERMISSION_MC | C.PERMISSION_GA;
        let rpId: string | undefined;
        if (sub === C.PIN_GET_TOKEN_WITH_PERMISSIONS) {
          permissions = getInt(p, 9, 'permissions', true) ?? -1;
          if (permissions === -1) throw new Status(C.CTAP2_ERR_MISSING_PARAMETER);
          if (permissions === 0) throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
          if (permissions & ~(C.PERMISSION_MC | C.PERMISSION_GA | C.PERMISSION_CM))
            throw new Status(C.CTAP2_ERR_UNAUTHORIZED_PERMISSION);
          if (this.opts.noMcGaPermissionsWithClientPin && permissions & (C.PERMISSION_MC | C.PERMISSION_GA))
            throw new Status(C.CTAP2_ERR_UNAUTHORIZED_PERMISSION);
          rpId = getString(p, 0x0a, 'rpId', true);
        } else if (p.has(9) || p.has(0x0a)) {
          throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
        }
        if (s.pinHash === null) throw new Status(C.CTAP2_ERR_PIN_NOT_SET);
        if (s.pinRetries === 0) throw new Status(C.CTAP2_ERR_PIN_BLOCKED);
        if (this.pinAuthBlocked) throw new Status(C.CTAP2_ERR_PIN_AUTH_BLOCKED);
        const secret = this.decapsulate(proto, platformKey);
        this.checkCurrentPin(proto, secret, pinHashEnc);
        // §6.5.5.7.2: a key whose PIN must change gives no token until it has changed.
        if (s.forcePinChange) throw new Status(C.CTAP2_ERR_PIN_POLICY_VIOLATION);
        if (sub === C.PIN_GET_PIN_TOKEN && this.opts.noMcGaPermissionsWithClientPin) permissions = 0;
        // A fresh token each time invalidates older ones (§6.5.5.1 resetPinUvAuthToken).
        this.token = randomBytes(32);
        this.tokenInUse = true;
        this.tokenPermissions = permissions;
        this.tokenRpId = rpId;
        return new Map([[2, proto.encrypt(secret, this.token)]]);
      }
      default:
        throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
    }
  }

  // §6.8 authenticatorCredentialManagement: list the resident credentials (the parts ssh-keygen -K
  // uses). Begin commands need a token with the cm permission; the "next" ones walk the list the
  // begin command started.
  private cmCursor: { kind: 'rps' | 'creds'; items: CborMap[] } | null = null;

  private async credentialManagement(p: CborMap): Promise<CborMap | null> {
    const sub = getInt(p, 1, 'subCommand');
    const s = this.store.state;
    const next = (kind: 'rps' | 'creds'): CborMap => {
      const item = this.cmCursor?.kind === kind ? this.cmCursor.items.shift() : undefined;
      if (!item) throw new Status(C.CTAP2_ERR_NO_CREDENTIALS);
      return item;
    };
    if (sub === C.CM_ENUMERATE_RPS_NEXT) return next('rps');
    if (sub === C.CM_ENUMERATE_CREDENTIALS_NEXT) return next('creds');
    const params = p.get(2);
    const message = Buffer.concat([
      Buffer.from([sub]),
      params === undefined ? Buffer.alloc(0) : await cborEncode(params),
    ]);
    const proto = this.protocol(getInt(p, 3, 'pinUvAuthProtocol', true));
    const param = getBytes(p, 4, 'pinUvAuthParam', true);
    if (param === undefined) throw new Status(C.CTAP2_ERR_PUAT_REQUIRED);
    if (!this.tokenInUse || !proto.verify(this.token, message, param))
      throw new Status(C.CTAP2_ERR_PIN_AUTH_INVALID);
    if ((this.tokenPermissions & C.PERMISSION_CM) === 0) throw new Status(C.CTAP2_ERR_PIN_AUTH_INVALID);
    this.cmCursor = null;
    switch (sub) {
      case C.CM_GET_METADATA:
        return new Map([
          [1, s.residentCredentials.length],
          [2, Math.max(0, 25 - s.residentCredentials.length)],
        ]);
      case C.CM_ENUMERATE_RPS_BEGIN: {
        const rpIds = [...new Set(s.residentCredentials.map((c) => c.rpId))];
        if (rpIds.length === 0) throw new Status(C.CTAP2_ERR_NO_CREDENTIALS);
        const items = rpIds.map(
          (id) =>
            new Map<number, unknown>([
              [3, new Map([['id', id]])],
              [4, sha256(id)],
            ]),
        );
        items[0].set(5, items.length);
        const first = items.shift()!;
        this.cmCursor = { kind: 'rps', items };
        return first;
      }
      case C.CM_ENUMERATE_CREDENTIALS_BEGIN: {
        const rpIdHash = getBytes(asMap(params, 'subCommandParams'), 1, 'rpIDHash');
        const items: CborMap[] = [];
        for (const c of s.residentCredentials) {
          if (!sha256(c.rpId).equals(rpIdHash)) continue;
          const id = Buffer.from(c.credentialId, 'hex');
          const k = unwrapCredential(this.masterSecret(), rpIdHash, id);
          if (!k) continue;
          const raw = rawPublicKey(k.alg, createPublicKey(k.key));
          items.push(
            new Map<number, unknown>([
              [
                6,
                new Map<string, unknown>([
                  ['id', Buffer.from(c.userId, 'hex')],
                  ['name', c.userName],
                ]),
              ],
              [
                7,
                new Map<string, unknown>([
                  ['id', id],
                  ['type', 'public-key'],
                ]),
              ],
              [8, k.alg === COSE_ES256 ? ec2CoseKey(raw, COSE_ES256) : ed25519CoseKey(raw)],
              [0x0a, k.credProtect],
            ]),
          );
        }
        if (items.length === 0) throw new Status(C.CTAP2_ERR_NO_CREDENTIALS);
        items[0].set(9, items.length);
        const first = items.shift()!;
        this.cmCursor = { kind: 'creds', items };
        return first;
      }
      default:
        throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
    }
  }

  /** The PIN check shared by getPinToken and changePIN: a retry is spent before comparing. */
  private checkCurrentPin(proto: PinUvAuthProtocol, secret: Buffer, pinHashEnc: Buffer): void {
    const s = this.store.state;
    s.pinRetries -= 1;
    this.store.save();
    let given: Buffer | null = null;
    try {
      given = proto.decrypt(secret, pinHashEnc);
    } catch {
      given = null;
    }
    if (!given || !given.equals(Buffer.from(s.pinHash ?? '', 'hex'))) {
      // Mismatch (§6.5.5.7.2): new key agreement key; three in a row need a power cycle.
      this.keyAgreement = newKeyAgreementKey();
      this.consecutiveMismatches += 1;
      if (this.pinAuthBlocked) throw new Status(C.CTAP2_ERR_PIN_AUTH_BLOCKED);
      if (s.pinRetries === 0) throw new Status(C.CTAP2_ERR_PIN_BLOCKED);
      throw new Status(C.CTAP2_ERR_PIN_INVALID);
    }
    s.pinRetries = MAX_PIN_RETRIES;
    this.store.save();
    this.consecutiveMismatches = 0;
  }

  /** A new PIN from setPIN/changePIN: 64 padded bytes, at least minPINLength code points. */
  private newPin(padded: Buffer): string {
    if (padded.length !== 64) throw new Status(C.CTAP2_ERR_PIN_POLICY_VIOLATION);
    const end = padded.indexOf(0);
    const pin = padded.subarray(0, end === -1 ? 64 : end).toString('utf8');
    if ([...pin].length < this.opts.minPinLength || end === -1)
      throw new Status(C.CTAP2_ERR_PIN_POLICY_VIOLATION);
    return pin;
  }

  private decapsulate(proto: PinUvAuthProtocol, platformKey: CborMap): Buffer {
    try {
      return sharedSecret(proto, this.keyAgreement, platformKey);
    } catch (err) {
      if (err instanceof PinProtocolError || err instanceof CborShapeError)
        throw new Status(C.CTAP1_ERR_INVALID_PARAMETER);
      throw err;
    }
  }
}

function required(p: CborMap, key: number): unknown {
  const v = p.get(key);
  if (v === undefined) throw new Status(C.CTAP2_ERR_MISSING_PARAMETER);
  return v;
}

function requiredBytes(p: CborMap, key: number): Buffer {
  const v = required(p, key);
  if (!Buffer.isBuffer(v)) throw new Status(C.CTAP2_ERR_CBOR_UNEXPECTED_TYPE);
  return v;
}

function optionsOf(p: CborMap, key: number): Map<string, boolean> {
  const v = p.get(key);
  const out = new Map<string, boolean>();
  if (v === undefined) return out;
  for (const [k, b] of asMap(v, 'options')) {
    if (typeof k !== 'string' || typeof b !== 'boolean') throw new Status(C.CTAP2_ERR_CBOR_UNEXPECTED_TYPE);
    out.set(k, b);
  }
  return out;
}

/** ES256 → ASN.1 DER ECDSA over SHA-256; EdDSA → 64 raw bytes. */
function signWith(alg: CoseAlgorithm, key: KeyObject, data: Buffer): Buffer {
  return alg === COSE_ES256 ? sign('sha256', data, key) : sign(null, data, key);
}
