// Test vectors for the ssh code without an authenticator: a SecurityKey stand-in that signs
// authenticatorData || clientDataHash with a Node crypto key pair, as a FIDO2 key does
// (WebAuthn §6.3.3). It implements none of CTAP; the real virtual authenticator lives in app/fido.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import {
  COSE_EDDSA,
  COSE_ES256,
  FLAG_UP,
  FLAG_UV,
  type AssertionResult,
  type GetAssertionRequest,
  type MakeCredentialRequest,
  type MakeCredentialResult,
  type SecurityKey,
} from '../../../app/fido/api';

export class VectorKey implements SecurityKey {
  readonly label = 'test-vector key';
  private readonly creds = new Map<string, { priv: KeyObject; alg: number; rpId: string }>();
  counter = 0;
  /** Overrides for negative tests. */
  dropUp = false;
  inFlight = 0;
  maxInFlight = 0;

  async makeCredential(req: MakeCredentialRequest): Promise<MakeCredentialResult> {
    const ed = req.algorithm === COSE_EDDSA;
    const { privateKey, publicKey } = ed
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const pub = ed
      ? Buffer.from(jwk.x!, 'base64url')
      : Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    const id = randomBytes(48);
    this.creds.set(id.toString('hex'), { priv: privateKey, alg: req.algorithm, rpId: req.rpId });
    return {
      credentialId: id,
      algorithm: ed ? COSE_EDDSA : COSE_ES256,
      publicKey: pub,
      authData: Buffer.alloc(37),
      fmt: 'none',
      attStmt: {},
      flags: FLAG_UP,
      signCount: 0,
    };
  }

  async getAssertion(req: GetAssertionRequest): Promise<AssertionResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setImmediate(r));
      const id = req.credentialIds[0];
      const cred = this.creds.get(id.toString('hex'));
      if (!cred) throw new Error('unknown credential');
      const flags = (req.userPresence && !this.dropUp ? FLAG_UP : 0) | (req.userVerification ? FLAG_UV : 0);
      const authData = Buffer.alloc(37);
      createHash('sha256').update(req.rpId).digest().copy(authData, 0);
      authData[32] = flags;
      authData.writeUInt32BE(++this.counter, 33);
      const signed = Buffer.concat([authData, req.clientDataHash]);
      const signature =
        cred.alg === COSE_EDDSA ? sign(null, signed, cred.priv) : sign('sha256', signed, cred.priv); // DER
      return { credentialId: id, authData, flags, signCount: this.counter, signature };
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {}
}
