// End to end: Ctap2SecurityKey → CTAP2 client → CTAPHID transport → 64-byte reports → virtual
// authenticator. No mocks in between: the same code path as a USB key.

import { expect } from 'chai';
import { verify } from 'node:crypto';
import { COSE_EDDSA, COSE_ES256, FLAG_AT, FLAG_UP, FLAG_UV, FidoError } from '../../../app/fido/api';
import { publicKeyObject } from '../../../app/fido/ctap2/cose';
import { type Ctap2SecurityKey } from '../../../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { ctx, gaRequest, mcRequest, RecordingPrompter, rejection } from './helpers';

describe('fido: virtual authenticator end to end (no PIN)', function () {
  let va: VirtualAuthenticator;
  let key: Ctap2SecurityKey;
  let prompter: RecordingPrompter;

  beforeEach(async function () {
    va = new VirtualAuthenticator();
    prompter = new RecordingPrompter();
    key = await openVirtualSecurityKey(va, prompter);
  });
  afterEach(async function () {
    await key.close();
    va.unplug();
  });

  it('reads getInfo', function () {
    const info = key.authenticatorInfo;
    expect(info.versions).to.include('FIDO_2_1');
    expect(info.aaguid).to.have.length(16);
    expect(info.pinUvAuthProtocols).to.deep.equal([2, 1]);
    expect(info.options.get('clientPin')).to.equal(false);
    expect(info.algorithms).to.deep.equal([COSE_ES256, COSE_EDDSA]);
    expect(key.pinProtocol.version).to.equal(2);
    expect(key.label).to.equal('KeyVNet virtual key');
  });

  for (const alg of [COSE_ES256, COSE_EDDSA] as const) {
    const name = alg === COSE_ES256 ? 'ES256' : 'EdDSA';
    it(`makes an ${name} credential and signs assertions that verify`, async function () {
      const req = mcRequest({ algorithm: alg });
      const cred = await key.makeCredential(req, ctx);
      expect(cred.algorithm).to.equal(alg);
      expect(cred.publicKey).to.have.length(alg === COSE_ES256 ? 65 : 32);
      expect(cred.flags & (FLAG_UP | FLAG_AT)).to.equal(FLAG_UP | FLAG_AT);
      expect(cred.flags & FLAG_UV).to.equal(0);
      const pub = publicKeyObject(alg, cred.publicKey);
      expect(pub.asymmetricKeyType).to.equal(alg === COSE_ES256 ? 'ec' : 'ed25519');
      // packed self attestation: signed by the credential key over authData || clientDataHash
      expect(cred.fmt).to.equal('packed');
      expect(cred.attStmt.alg).to.equal(alg);
      const attData = Buffer.concat([cred.authData, req.clientDataHash]);
      expect(verify(alg === COSE_ES256 ? 'sha256' : null, attData, pub, cred.attStmt.sig as Buffer)).to.equal(
        true,
      );

      const ga = gaRequest([cred.credentialId]);
      const a1 = await key.getAssertion(ga, ctx);
      expect(a1.credentialId.equals(cred.credentialId)).to.equal(true);
      expect(a1.flags & FLAG_UP).to.equal(FLAG_UP);
      const signed = Buffer.concat([a1.authData, ga.clientDataHash]);
      expect(verify(alg === COSE_ES256 ? 'sha256' : null, signed, pub, a1.signature)).to.equal(true);
      if (alg === COSE_EDDSA) expect(a1.signature).to.have.length(64);

      const a2 = await key.getAssertion(gaRequest([cred.credentialId]), ctx);
      expect(a2.signCount).to.be.greaterThan(a1.signCount);
      expect(a1.signCount).to.be.greaterThan(cred.signCount);
    });
  }

  it('signs without touch for no-touch-required (up=false → UP flag clear, no prompt)', async function () {
    const cred = await key.makeCredential(mcRequest(), ctx);
    const before = prompter.touchNeededCount;
    const a = await key.getAssertion(gaRequest([cred.credentialId], { userPresence: false }), ctx);
    expect(a.flags & FLAG_UP).to.equal(0);
    expect(prompter.touchNeededCount).to.equal(before);
  });

  it('fires touchNeeded exactly once per waiting operation, then touchDone', async function () {
    va.setTouchPolicy({ mode: 'manual' });
    prompter.onTouchNeeded = () => setTimeout(() => va.touch(), 350); // several keepalives first
    await key.makeCredential(mcRequest(), ctx);
    expect(prompter.events).to.deep.equal(['touchNeeded', 'touchDone']);
  });

  it('maps a refused touch to user-denied', async function () {
    va.setTouchPolicy({ mode: 'deny' });
    const err = await rejection(key.makeCredential(mcRequest(), ctx));
    expect(err).to.be.instanceOf(FidoError);
    expect(err.code).to.equal('user-denied');
    expect(prompter.events).to.deep.equal(['touchNeeded', 'touchDone']);
  });

  it('maps no touch in time to timeout', async function () {
    va.unplug();
    va = new VirtualAuthenticator({ touch: { mode: 'never' }, touchTimeoutMs: 300 });
    await key.close();
    key = await openVirtualSecurityKey(va, prompter);
    const err = await rejection(key.makeCredential(mcRequest(), ctx));
    expect(err.code).to.equal('timeout');
    expect(prompter.touchNeededCount).to.equal(1);
    expect(prompter.touchDoneCount).to.equal(1);
  });

  it('reports an unknown credential as no-credentials', async function () {
    const cred = await key.makeCredential(mcRequest(), ctx);
    const err = await rejection(key.getAssertion(gaRequest([cred.credentialId], { rpId: 'ssh:other' }), ctx));
    expect(err.code).to.equal('no-credentials');
  });

  it('finds resident credentials without an allow list', async function () {
    const cred = await key.makeCredential(
      mcRequest({ residentKey: true, userId: Buffer.from('alice') }),
      ctx,
    );
    const a = await key.getAssertion(gaRequest([]), ctx);
    expect(a.credentialId.equals(cred.credentialId)).to.equal(true);
  });

  it('cancels a waiting operation through AbortSignal', async function () {
    va.setTouchPolicy({ mode: 'manual' });
    const ac = new AbortController();
    prompter.onTouchNeeded = () => ac.abort();
    const err = await rejection(key.makeCredential(mcRequest(), { ...ctx, signal: ac.signal }));
    expect(err.code).to.equal('cancelled');
    expect(prompter.touchDoneCount).to.equal(1);
    // The channel stays usable afterwards.
    va.setTouchPolicy({ mode: 'auto' });
    await key.makeCredential(mcRequest(), ctx);
  });

  it('fails promptly with device-removed when the key is pulled out mid-operation', async function () {
    va.setTouchPolicy({ mode: 'manual' });
    prompter.onTouchNeeded = () => va.unplug();
    const err = await rejection(key.makeCredential(mcRequest(), ctx));
    expect(err.code).to.equal('device-removed');
    expect(prompter.touchDoneCount).to.equal(1);
    const again = await rejection(key.getAssertion(gaRequest([Buffer.alloc(16)]), ctx));
    expect(again.code).to.equal('device-removed');
  });

  it('refuses U2F-only keys with a clear message', async function () {
    const u2f = new VirtualAuthenticator({ ctap1Only: true });
    const err = await rejection(openVirtualSecurityKey(u2f, prompter));
    expect(err.code).to.equal('unsupported');
    expect(err.message).to.match(/only supports U2F \(CTAP1\); KeyVNet needs a FIDO2 key/);
    u2f.unplug();
  });
});
