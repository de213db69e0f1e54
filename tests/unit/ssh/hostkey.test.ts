// Host-key signatures for session-bind@openssh.com: Ed25519, ECDSA and RSA (SHA-2) verify; a
// signature over other data, by another key, or with SHA-1 RSA does not.
import { expect } from 'chai';
import { generateKeyPairSync, sign } from 'node:crypto';
import { hostKeyFingerprint, hostNameForKey, verifyHostKeySignature } from '../../../app/ssh/hostkey';
import { SshReader, SshWriter } from '../../../app/ssh/wire';

const data = Buffer.alloc(32, 1);

function ed25519(): { blob: Buffer; sig: (d: Buffer) => Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return {
    blob: new SshWriter().string('ssh-ed25519').string(raw).toBuffer(),
    sig: (d) =>
      new SshWriter()
        .string('ssh-ed25519')
        .string(sign(null, d, privateKey))
        .toBuffer(),
  };
}

function ecdsa(): { blob: Buffer; sig: (d: Buffer) => Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwk = publicKey.export({ format: 'jwk' });
  const q = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ]);
  return {
    blob: new SshWriter().string('ecdsa-sha2-nistp384').string('nistp384').string(q).toBuffer(),
    sig: (d) => {
      const rs = sign('sha384', d, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const inner = new SshWriter().mpint(rs.subarray(0, 48)).mpint(rs.subarray(48)).toBuffer();
      return new SshWriter().string('ecdsa-sha2-nistp384').string(inner).toBuffer();
    },
  };
}

function rsa(alg: 'rsa-sha2-256' | 'rsa-sha2-512' | 'ssh-rsa'): { blob: Buffer; sig: (d: Buffer) => Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    blob: new SshWriter()
      .string('ssh-rsa')
      .mpint(Buffer.from(jwk.e!, 'base64url'))
      .mpint(Buffer.from(jwk.n!, 'base64url'))
      .toBuffer(),
    sig: (d) => {
      const hash = alg === 'rsa-sha2-512' ? 'sha512' : alg === 'rsa-sha2-256' ? 'sha256' : 'sha1';
      return new SshWriter()
        .string(alg)
        .string(sign(hash, d, privateKey))
        .toBuffer();
    },
  };
}

describe('ssh host keys (session-bind)', () => {
  for (const [name, make] of [
    ['ed25519', ed25519],
    ['ecdsa nistp384', ecdsa],
    ['rsa-sha2-256', () => rsa('rsa-sha2-256')],
    ['rsa-sha2-512', () => rsa('rsa-sha2-512')],
  ] as const) {
    it(`verifies ${name} and rejects a wrong message or key`, () => {
      const k = make();
      expect(verifyHostKeySignature(k.blob, data, k.sig(data))).to.equal(true);
      expect(verifyHostKeySignature(k.blob, Buffer.alloc(32, 2), k.sig(data))).to.equal(false);
      expect(verifyHostKeySignature(make().blob, data, k.sig(data))).to.equal(false);
    });
  }

  it('refuses SHA-1 RSA signatures and garbage', () => {
    const k = rsa('ssh-rsa');
    expect(verifyHostKeySignature(k.blob, data, k.sig(data))).to.equal(false);
    expect(verifyHostKeySignature(Buffer.from('junk'), data, Buffer.from('junk'))).to.equal(false);
  });

  it('fingerprints like ssh-keygen and finds plain known_hosts names', () => {
    const k = ed25519();
    expect(hostKeyFingerprint(k.blob)).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const type = new SshReader(k.blob, 'k').text('type');
    expect(type).to.equal('ssh-ed25519');
    expect(hostNameForKey(k.blob, ['/nonexistent'])).to.equal(undefined);
  });
});
