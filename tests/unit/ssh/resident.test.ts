// Resident SSH keys (issue 10 §2): list the sk credentials stored on the key (credential
// management, PIN through the prompter), import them as key files like `ssh-keygen -K`, and check
// them with the real `ssh-keygen -y` / `-l`.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COSE_ES256 } from '../../../app/fido/api';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { SkKeyDirectory } from '../../../app/ssh/key-store';
import { fingerprintLine, publicKeyLine, SSH_SK_USER_VERIFICATION_REQD } from '../../../app/ssh/keys';
import { listResidentSshKeys } from '../../../app/ssh/resident';
import { signWithSkKey } from '../../../app/ssh/signer';
import { RecordingPrompter, rejection } from '../fido/helpers';

describe('resident ssh keys (ssh-keygen -K)', () => {
  let dir: string;
  let va: VirtualAuthenticator;
  let sk: Ctap2SecurityKey;
  const prompter = new RecordingPrompter('2468');
  const enroll = { purpose: { what: 'enroll' as const, requester: 'app' as const } };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-resident-'));
    va = new VirtualAuthenticator({ pin: '2468' });
    sk = await openVirtualSecurityKey(va, prompter);
  });
  after(async () => {
    await sk.close();
    va.unplug();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the ssh: resident keys, imports them, and ssh-keygen -y/-l agree', async () => {
    const a = (await enrollSkKey(sk, { resident: true, comment: 'a' }, enroll)).key;
    const b = (
      await enrollSkKey(
        sk,
        { resident: true, verifyRequired: true, user: 'alice', algorithm: 'ed25519' },
        enroll,
      )
    ).key;
    // A web credential on the same key is not an SSH key.
    await sk.makeCredential(
      {
        rpId: 'example.com',
        clientDataHash: Buffer.alloc(32),
        userId: Buffer.from('web'),
        userName: 'web',
        algorithm: COSE_ES256,
        residentKey: true,
        userVerification: true,
      },
      enroll,
    );
    prompter.pinAsks = [];
    const listed = await listResidentSshKeys(sk);
    expect(prompter.pinAsks.map((p) => p.purpose.what)).to.deep.equal(['list-resident']);
    expect(listed.map((r) => [r.fileName, r.user])).to.have.deep.members([
      ['id_ecdsa_sk_rk', ''],
      ['id_ed25519_sk_rk_alice', 'alice'],
    ]);
    const byType = (t: string) => listed.find((r) => r.key.type === t)!.key;
    expect(byType(a.type).publicKey).to.deep.equal(a.publicKey);
    expect(byType(a.type).keyHandle).to.deep.equal(a.keyHandle);
    expect(byType(b.type).publicKey).to.deep.equal(b.publicKey);
    expect(byType(b.type).flags & SSH_SK_USER_VERIFICATION_REQD).to.equal(SSH_SK_USER_VERIFICATION_REQD);

    const store = new SkKeyDirectory(join(dir, 'keys'));
    for (const r of listed) {
      const file = store.save(r.key, undefined, r.fileName);
      const y = execFileSync('ssh-keygen', ['-y', '-f', file]).toString().trim();
      expect(y).to.equal(publicKeyLine(r.key));
      const l = execFileSync('ssh-keygen', ['-l', '-f', file]).toString().trim();
      // Same bits, fingerprint and type as ours (the comment column is the file name: none stored).
      const [bits, fp] = fingerprintLine(r.key, '').split(' ');
      expect(l.startsWith(`${bits} ${fp} `)).to.equal(true);
      expect(l.endsWith(r.key.type === a.type ? '(ECDSA-SK)' : '(ED25519-SK)')).to.equal(true);
      // The imported key signs (the verify-required one with the PIN).
      await signWithSkKey(sk, r.key, Buffer.from('imported'), enroll);
    }
  });

  it('needs a PIN, and says so on a key without one', async () => {
    const bare = new VirtualAuthenticator();
    const bareSk = await openVirtualSecurityKey(bare, prompter);
    try {
      const err = await rejection(listResidentSshKeys(bareSk));
      expect(err.code).to.equal('pin-not-set');
    } finally {
      await bareSk.close();
      bare.unplug();
    }
  });
});
