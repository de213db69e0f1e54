// U2F (CTAP1) behind CTAPHID_MSG for the virtual authenticator (FIDO U2F Raw Message Formats
// v1.2): VERSION, REGISTER, AUTHENTICATE. Key handles are the same wrapped credential ids as
// the CTAP2 side (ES256), so a U2F registration also works through CTAP2 and vice versa, as
// on real keys. A touch is granted between polls: the first request answers "conditions not
// satisfied" and starts waiting; a later one finds the touch and goes through.

import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { COSE_ES256 } from '../api';
import * as A from '../ctap1/apdu';
import { rawPublicKey } from '../ctap2/cose';
import { unwrapCredential, wrapCredential } from './credential-wrap';
import type { VirtualKeyStore } from './state';
import type { TouchController } from './touch';
import { selfSignedCertificate } from './x509';

const PRESENCE_VALIDITY_MS = 10_000;

export class U2fEngine {
  private presence: 'none' | 'waiting' | 'granted' = 'none';
  private grantedAt = 0;
  private readonly attestationKey: KeyObject;
  private readonly certificate: Buffer;

  constructor(
    private readonly store: VirtualKeyStore,
    private readonly touch: TouchController,
    private readonly powerSignal: AbortSignal,
  ) {
    // A per-power-up attestation key: the virtual key makes no claim of being a certified model.
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.attestationKey = pair.privateKey;
    this.certificate = selfSignedCertificate(
      pair.privateKey,
      pair.publicKey,
      'KeyVNet virtual U2F attestation',
      randomBytes(8),
    );
  }

  async handle(request: Buffer): Promise<Buffer> {
    let apdu: A.Apdu;
    try {
      apdu = A.decodeApdu(request);
    } catch {
      return A.withStatus(Buffer.alloc(0), A.SW_WRONG_LENGTH);
    }
    if (apdu.cla !== 0) return A.withStatus(Buffer.alloc(0), A.SW_CLA_NOT_SUPPORTED);
    switch (apdu.ins) {
      case A.U2F_VERSION:
        return A.withStatus(Buffer.from('U2F_V2'), A.SW_NO_ERROR);
      case A.U2F_REGISTER:
        return this.register(apdu.data);
      case A.U2F_AUTHENTICATE:
        return this.authenticate(apdu.p1, apdu.data);
      default:
        return A.withStatus(Buffer.alloc(0), A.SW_INS_NOT_SUPPORTED);
    }
  }

  /** True once the user has touched since the last use; otherwise starts waiting for a touch. */
  private consumePresence(): boolean {
    if (this.presence === 'granted') {
      this.presence = 'none';
      // Like real keys, a touch is only good for a while (about 10 s on a YubiKey).
      if (Date.now() - this.grantedAt <= PRESENCE_VALIDITY_MS) return true;
    }
    if (this.presence === 'none') {
      this.presence = 'waiting';
      void this.touch
        .wait(this.powerSignal, () => {})
        .then((o) => {
          this.presence = o === 'touched' ? 'granted' : 'none';
          this.grantedAt = Date.now();
        });
    }
    return false;
  }

  private nextCounter(): number {
    this.store.state.signCount += 1;
    this.store.save();
    return this.store.state.signCount;
  }

  // U2F raw formats §4: challenge(32) | application(32)
  private register(data: Buffer): Buffer {
    if (data.length !== 64) return A.withStatus(Buffer.alloc(0), A.SW_WRONG_LENGTH);
    if (!this.consumePresence()) return A.withStatus(Buffer.alloc(0), A.SW_CONDITIONS_NOT_SATISFIED);
    const challenge = data.subarray(0, 32);
    const app = data.subarray(32, 64);
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyHandle = wrapCredential(
      Buffer.from(this.store.state.masterSecret, 'hex'),
      app,
      COSE_ES256,
      pair.privateKey,
    );
    const pub = rawPublicKey(COSE_ES256, pair.publicKey);
    const signed = Buffer.concat([Buffer.from([0x00]), app, challenge, keyHandle, pub]);
    const sig = sign('sha256', signed, this.attestationKey);
    const body = Buffer.concat([
      Buffer.from([0x05]),
      pub,
      Buffer.from([keyHandle.length]),
      keyHandle,
      this.certificate,
      sig,
    ]);
    return A.withStatus(body, A.SW_NO_ERROR);
  }

  // U2F raw formats §5: challenge(32) | application(32) | L | keyHandle(L)
  private authenticate(p1: number, data: Buffer): Buffer {
    if (data.length < 65 || data.length !== 65 + data[64])
      return A.withStatus(Buffer.alloc(0), A.SW_WRONG_LENGTH);
    const challenge = data.subarray(0, 32);
    const app = data.subarray(32, 64);
    const kh = data.subarray(65);
    const cred = unwrapCredential(Buffer.from(this.store.state.masterSecret, 'hex'), app, kh);
    // A credProtect'ed credential is not usable over U2F, which cannot verify the user (§12.1).
    if (!cred || cred.alg !== COSE_ES256 || cred.credProtect > 1)
      return A.withStatus(Buffer.alloc(0), A.SW_WRONG_DATA);
    if (p1 === A.AUTH_CHECK_ONLY) return A.withStatus(Buffer.alloc(0), A.SW_CONDITIONS_NOT_SATISFIED);
    let up = 0;
    if (p1 === A.AUTH_ENFORCE_UP) {
      if (!this.consumePresence()) return A.withStatus(Buffer.alloc(0), A.SW_CONDITIONS_NOT_SATISFIED);
      up = 1;
    } else if (p1 !== A.AUTH_DONT_ENFORCE_UP) {
      return A.withStatus(Buffer.alloc(0), A.SW_WRONG_DATA);
    }
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.nextCounter());
    const signed = Buffer.concat([app, Buffer.from([up]), counter, challenge]);
    const sig = sign('sha256', signed, cred.key);
    return A.withStatus(Buffer.concat([Buffer.from([up]), counter, sig]), A.SW_NO_ERROR);
  }
}
