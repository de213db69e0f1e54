import { expect } from 'chai';
import type { OperationContext } from '../../../app/fido/api';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { readPrivateKeyFile, writePrivateKeyFile } from '../../../app/ssh/keyfile';
import {
  authorizedKeysLine,
  decodePublicKeyBlob,
  encodePublicKeyBlob,
  fingerprint,
  fingerprintLine,
  parsePublicKeyLine,
  publicKeyLine,
  SK_ECDSA_TYPE,
  SK_ED25519_TYPE,
  SSH_SK_RESIDENT_KEY,
  SSH_SK_USER_PRESENCE_REQD,
  SSH_SK_USER_VERIFICATION_REQD,
  type SkKey,
} from '../../../app/ssh/keys';
import { SshFormatError, SshWriter } from '../../../app/ssh/wire';
import { VectorKey } from './vector-key';

const ctx: OperationContext = { purpose: { what: 'ssh-sign', requester: 'app' } };

describe('ssh sk keys: blobs, lines, fingerprints', () => {
  let ecdsa: SkKey;
  let ed: SkKey;
  before(async () => {
    const vk = new VectorKey();
    ecdsa = (await enrollSkKey(vk, { comment: 'alice@laptop' }, ctx)).key;
    ed = (await enrollSkKey(vk, { algorithm: 'ed25519', verifyRequired: true, noTouchRequired: true }, ctx))
      .key;
  });

  it('enrolls with OpenSSH key flags', () => {
    expect(ecdsa.type).to.equal(SK_ECDSA_TYPE);
    expect(ecdsa.application).to.equal('ssh:');
    expect(ecdsa.flags).to.equal(SSH_SK_USER_PRESENCE_REQD);
    expect(ed.type).to.equal(SK_ED25519_TYPE);
    expect(ed.flags).to.equal(SSH_SK_USER_VERIFICATION_REQD);
  });

  it('refuses applications not starting with ssh:', async () => {
    let err: Error | undefined;
    await enrollSkKey(new VectorKey(), { application: 'https://example.com' }, ctx).catch((e) => (err = e));
    expect(err?.message).to.match(/must start with "ssh:"/);
  });

  it('round-trips public key blobs', () => {
    for (const k of [ecdsa, ed]) {
      const back = decodePublicKeyBlob(encodePublicKeyBlob(k));
      expect(back).to.deep.equal({ type: k.type, publicKey: k.publicKey, application: k.application });
    }
  });

  it('rejects truncated blobs and other key types with the reason', () => {
    const blob = encodePublicKeyBlob(ecdsa);
    expect(() => decodePublicKeyBlob(blob.subarray(0, 60))).to.throw(
      SshFormatError,
      /truncated: public point/,
    );
    expect(() => decodePublicKeyBlob(Buffer.concat([blob, Buffer.from([0])]))).to.throw(/trailing/);
    const rsa = new SshWriter()
      .string('ssh-rsa')
      .string(Buffer.from([1]))
      .toBuffer();
    expect(() => decodePublicKeyBlob(rsa)).to.throw(/unsupported key type "ssh-rsa"/);
  });

  it('writes authorized_keys lines with options from the flags', () => {
    expect(authorizedKeysLine(ecdsa)).to.match(/^sk-ecdsa-sha2-nistp256@openssh\.com AAAA\S+ alice@laptop$/);
    expect(authorizedKeysLine(ed)).to.match(
      /^no-touch-required,verify-required sk-ssh-ed25519@openssh\.com AAAA\S+$/,
    );
    const parsed = parsePublicKeyLine(publicKeyLine(ecdsa, 'alice@laptop'));
    expect(parsed.comment).to.equal('alice@laptop');
    expect(encodePublicKeyBlob(parsed.key)).to.deep.equal(encodePublicKeyBlob(ecdsa));
  });

  it('formats fingerprints like ssh-keygen -l', () => {
    expect(fingerprint(ecdsa)).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprintLine(ecdsa, 'alice@laptop')).to.equal(
      `256 ${fingerprint(ecdsa)} alice@laptop (ECDSA-SK)`,
    );
    expect(fingerprintLine(ed, '')).to.equal(`256 ${fingerprint(ed)} no comment (ED25519-SK)`);
  });

  describe('private key files (openssh-key-v1)', () => {
    it('round-trips both key types', () => {
      for (const k of [ecdsa, ed, { ...ecdsa, flags: SSH_SK_RESIDENT_KEY | 1, comment: 'x'.repeat(13) }]) {
        const text = writePrivateKeyFile(k);
        expect(text).to.match(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
        expect(readPrivateKeyFile(text)).to.deep.equal(k);
      }
    });

    it('explains encrypted, truncated and corrupt files', () => {
      const raw = (k: SkKey): Buffer =>
        Buffer.from(
          writePrivateKeyFile(k)
            .replace(/-----[A-Z ]+-----/g, '')
            .replace(/\s/g, ''),
          'base64',
        );
      const pem = (b: Buffer): string =>
        `-----BEGIN OPENSSH PRIVATE KEY-----\n${b.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
      const magic = Buffer.from('openssh-key-v1\0', 'latin1');
      const enc = new SshWriter()
        .raw(magic)
        .string('aes256-ctr')
        .string('bcrypt')
        .string(Buffer.alloc(8))
        .toBuffer();
      expect(() => readPrivateKeyFile(pem(enc))).to.throw(/bcrypt rounds 0 outside 1..10000/);

      const good = raw(ecdsa);
      expect(() => readPrivateKeyFile(pem(good.subarray(0, good.length - 40)))).to.throw(
        /truncated: private section/,
      );
      expect(() => readPrivateKeyFile('hello')).to.throw(/not an OpenSSH private key file/);

      // Flip a byte of the first checkint.
      const bad = Buffer.from(good);
      bad[privateSectionOffset(bad)] ^= 0xff;
      expect(() => readPrivateKeyFile(pem(bad))).to.throw(/checkints differ/);

      // A comment length that leaves padding, then a wrong padding byte.
      const padded = raw({ ...ecdsa, comment: 'abc' });
      expect(padded[padded.length - 1]).to.be.within(1, 7);
      padded[padded.length - 1] = 0x7f;
      expect(() => readPrivateKeyFile(pem(padded))).to.throw(/padding is wrong/);
    });
  });

  describe('interop with ssh-keygen', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'kvn-sshkeys-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('explains why files made by ssh-keygen for other keys cannot be used', () => {
      const plain = join(dir, 'id_ed25519');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plain]);
      expect(() => readPrivateKeyFile(readFileSync(plain, 'utf8'))).to.throw(
        /unsupported key type "ssh-ed25519": only FIDO keys/,
      );
      const locked = join(dir, 'id_locked');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret words', '-f', locked]);
      expect(() => readPrivateKeyFile(readFileSync(locked, 'utf8'), 'secret words')).to.throw(
        /unsupported key type "ssh-ed25519": only FIDO keys/,
      );
    });

    for (const which of ['ecdsa', 'ed25519'] as const) {
      it(`ssh-keygen -y and -l agree with our ${which} key`, () => {
        const k = which === 'ecdsa' ? ecdsa : { ...ed, comment: 'bob' };
        const file = join(dir, `id_${which}_sk`);
        writeFileSync(file, writePrivateKeyFile(k), { mode: 0o600 });
        writeFileSync(`${file}.pub`, publicKeyLine(k, k.comment) + '\n');
        const y = execFileSync('ssh-keygen', ['-y', '-f', file]).toString().trim();
        expect(y).to.equal(publicKeyLine(k, k.comment));
        const l = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`])
          .toString()
          .trim();
        expect(l).to.equal(fingerprintLine(k, k.comment));
      });
    }
  });
});

/** Offset of the private section's first byte: after magic, 3 strings, nkeys, public blob, length. */
function privateSectionOffset(b: Buffer): number {
  let pos = 15;
  for (let i = 0; i < 3; i++) pos += 4 + b.readUInt32BE(pos);
  pos += 4;
  pos += 4 + b.readUInt32BE(pos);
  return pos + 4;
}
