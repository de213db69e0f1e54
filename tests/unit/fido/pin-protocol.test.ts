// PIN/UV auth protocols 1 and 2 (CTAP 2.1 §6.5.6, §6.5.7): known-answer tests with fixed ECDH
// keys and IVs, the expected values computed here independently from Node crypto primitives
// (KeyObject ECDH, SHA-256, HKDF, AES-256-CBC, HMAC), not through the code under test.

import { expect } from 'chai';
import {
  createCipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import {
  encapsulate,
  keyAgreementCose,
  newKeyAgreementKey,
  paddedPin,
  pinHash16,
  pinProtocolOne,
  pinProtocolTwo,
  sharedSecret,
} from '../../../app/fido/ctap2/pin-protocol';

const AUTH_PRIV = Buffer.from('7d2a3f1e9c8b6a5948372615f4e3d2c1b0a9988776655443322110ffeeddccbb', 'hex');
const PLAT_PRIV = Buffer.from('1f2e3d4c5b6a79881726354453627180a9b8c7d6e5f40312233445566778899a', 'hex');
const IV = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

/** A P-256 private KeyObject from a raw scalar, via SEC1 DER (RFC 5915) without the public key. */
function p256Private(d: Buffer): KeyObject {
  const oid = Buffer.from('a00a06082a8648ce3d030107', 'hex'); // [0] prime256v1
  const der = Buffer.concat([Buffer.from('30310201010420', 'hex'), d, oid]);
  return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
}

function jwkXY(k: KeyObject): { x: Buffer; y: Buffer } {
  const jwk = createPublicKey(k).export({ format: 'jwk' });
  return { x: Buffer.from(jwk.x!, 'base64url'), y: Buffer.from(jwk.y!, 'base64url') };
}

/** Z = x-coordinate of d_platform · Q_authenticator, computed with KeyObjects. */
function expectedZ(): Buffer {
  return diffieHellman({
    privateKey: p256Private(PLAT_PRIV),
    publicKey: createPublicKey(p256Private(AUTH_PRIV)),
  });
}

function aesCbc(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

describe('fido: PIN/UV auth protocols (known answers)', function () {
  const authenticatorKey = keyAgreementCose(newKeyAgreementKey(AUTH_PRIV));

  it('encodes the key-agreement key as COSE EC2 P-256 with alg -25', function () {
    const { x, y } = jwkXY(p256Private(AUTH_PRIV));
    expect(authenticatorKey.get(1)).to.equal(2);
    expect(authenticatorKey.get(3)).to.equal(-25);
    expect(authenticatorKey.get(-1)).to.equal(1);
    expect(authenticatorKey.get(-2)).to.deep.equal(x);
    expect(authenticatorKey.get(-3)).to.deep.equal(y);
  });

  it('both sides of ECDH agree, whoever computes', function () {
    const { platformKey, sharedSecret: s1 } = encapsulate(pinProtocolTwo, authenticatorKey, PLAT_PRIV);
    const s2 = sharedSecret(pinProtocolTwo, newKeyAgreementKey(AUTH_PRIV), platformKey);
    expect(s1).to.deep.equal(s2);
    const { x, y } = jwkXY(p256Private(PLAT_PRIV));
    expect(platformKey.get(-2)).to.deep.equal(x);
    expect(platformKey.get(-3)).to.deep.equal(y);
  });

  describe('protocol 1', function () {
    const { sharedSecret: secret } = encapsulate(pinProtocolOne, authenticatorKey, PLAT_PRIV);
    const expectedSecret = createHash('sha256').update(expectedZ()).digest();

    it('shared secret = SHA-256(Z)', function () {
      expect(secret).to.deep.equal(expectedSecret);
    });

    it('encrypts with AES-256-CBC and a zero IV, no padding', function () {
      const ph = pinHash16('1234');
      expect(ph).to.deep.equal(createHash('sha256').update('1234').digest().subarray(0, 16));
      const enc = pinProtocolOne.encrypt(secret, ph);
      expect(enc).to.deep.equal(aesCbc(expectedSecret, Buffer.alloc(16), ph));
      expect(enc).to.have.length(16);
      expect(pinProtocolOne.decrypt(secret, enc)).to.deep.equal(ph);
    });

    it('authenticates with HMAC-SHA-256 truncated to 16 bytes', function () {
      const msg = Buffer.from('client data hash: 32 bytes......');
      const tag = pinProtocolOne.authenticate(secret, msg);
      expect(tag).to.deep.equal(createHmac('sha256', expectedSecret).update(msg).digest().subarray(0, 16));
      expect(pinProtocolOne.verify(secret, msg, tag)).to.equal(true);
      const bad = Buffer.from(tag);
      bad[0] ^= 1;
      expect(pinProtocolOne.verify(secret, msg, bad)).to.equal(false);
      expect(pinProtocolOne.verify(secret, msg, tag.subarray(0, 15))).to.equal(false);
    });
  });

  describe('protocol 2', function () {
    const { sharedSecret: secret } = encapsulate(pinProtocolTwo, authenticatorKey, PLAT_PRIV);
    const salt = Buffer.alloc(32);
    const hmacKey = Buffer.from(hkdfSync('sha256', expectedZ(), salt, Buffer.from('CTAP2 HMAC key'), 32));
    const aesKey = Buffer.from(hkdfSync('sha256', expectedZ(), salt, Buffer.from('CTAP2 AES key'), 32));

    it('shared secret = HKDF("CTAP2 HMAC key") || HKDF("CTAP2 AES key"), zero salt', function () {
      expect(secret).to.have.length(64);
      expect(secret.subarray(0, 32)).to.deep.equal(hmacKey);
      expect(secret.subarray(32)).to.deep.equal(aesKey);
    });

    it('encrypts with the AES key and prepends the IV', function () {
      const padded = paddedPin('1234');
      expect(padded).to.have.length(64);
      const enc = pinProtocolTwo.encrypt(secret, padded, IV);
      expect(enc).to.deep.equal(Buffer.concat([IV, aesCbc(aesKey, IV, padded)]));
      expect(pinProtocolTwo.decrypt(secret, enc)).to.deep.equal(padded);
      // random IVs by default
      expect(pinProtocolTwo.encrypt(secret, padded).subarray(0, 16)).to.not.deep.equal(IV);
    });

    it('authenticates with the full 32-byte HMAC: HMAC key half of the secret, or a whole token', function () {
      const msg = Buffer.from('message');
      expect(pinProtocolTwo.authenticate(secret, msg)).to.deep.equal(
        createHmac('sha256', hmacKey).update(msg).digest(),
      );
      const token = Buffer.alloc(32, 0x42);
      const tag = pinProtocolTwo.authenticate(token, msg);
      expect(tag).to.deep.equal(createHmac('sha256', token).update(msg).digest());
      expect(pinProtocolTwo.verify(token, msg, tag)).to.equal(true);
      expect(pinProtocolTwo.verify(token, msg, tag.subarray(0, 16))).to.equal(false);
    });
  });

  it('refuses a key-agreement key that is not on the curve', function () {
    const bogus = new Map(authenticatorKey);
    bogus.set(-3, Buffer.alloc(32, 1));
    expect(() => encapsulate(pinProtocolTwo, bogus, PLAT_PRIV)).to.throw(/invalid key-agreement key/);
  });

  it('pads PINs to 64 bytes and refuses longer than 63', function () {
    expect(paddedPin('12345678').subarray(0, 9)).to.deep.equal(Buffer.from('12345678\0'));
    expect(() => paddedPin('x'.repeat(64))).to.throw(/longer than 63/);
  });
});
