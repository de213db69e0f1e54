// U2F (CTAP1) keys: APDU framing, and end to end through CTAPHID_MSG against the virtual
// authenticator in U2F-only mode; results must look like CTAP2 ones (signatures over
// authenticatorData || clientDataHash).

import { expect } from 'chai';
import { createHash, generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { COSE_EDDSA, COSE_ES256, FLAG_AT, FLAG_UP } from '../../../app/fido/api';
import * as A from '../../../app/fido/ctap1/apdu';
import { U2fSecurityKey } from '../../../app/fido/ctap1/u2f-security-key';
import { publicKeyObject } from '../../../app/fido/ctap2/cose';
import { CtapHidConnection } from '../../../app/fido/ctaphid/connection';
import { selfSignedCertificate } from '../../../app/fido/virtual/x509';
import { openKeyOnDevice } from '../../../app/fido';
import { openVirtualSecurityKey, openVirtualKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { ctx, gaRequest, mcRequest, RecordingPrompter, rejection } from './helpers';

describe('fido: U2F APDUs', function () {
  it('encodes extended-length APDUs and decodes them back', function () {
    const data = Buffer.alloc(64, 7);
    const apdu = A.encodeApdu(A.U2F_REGISTER, 0, data);
    expect(apdu.subarray(0, 7)).to.deep.equal(Buffer.from([0, 1, 0, 0, 0, 0, 64]));
    expect(apdu.subarray(-2)).to.deep.equal(Buffer.from([0, 0]));
    expect(A.decodeApdu(apdu)).to.deep.equal({ cla: 0, ins: 1, p1: 0, p2: 0, data });
    expect(A.decodeApdu(A.encodeApdu(A.U2F_VERSION, 0, Buffer.alloc(0))).data).to.have.length(0);
    // short-form Lc, as some hosts send
    expect(A.decodeApdu(Buffer.from([0, 2, 7, 0, 2, 0xaa, 0xbb])).data).to.deep.equal(
      Buffer.from([0xaa, 0xbb]),
    );
    expect(() => A.decodeApdu(Buffer.from([0, 2, 7, 0, 0, 0, 9, 1]))).to.throw(/shorter than Lc/);
  });

  it('finds the certificate length in DER and rejects truncated registrations', function () {
    expect(A.derLength(Buffer.from([0x30, 0x03, 1, 2, 3]))).to.equal(5);
    expect(A.derLength(Buffer.from([0x30, 0x82, 0x01, 0x00]))).to.equal(260);
    expect(() => A.derLength(Buffer.from([0x04, 0x01]))).to.throw(/not a DER SEQUENCE/);
    const ok = Buffer.concat([
      Buffer.from([5]),
      Buffer.from([4]),
      Buffer.alloc(64),
      Buffer.from([2, 9, 9]),
      Buffer.from([0x30, 0]),
      Buffer.from([0x30, 1, 2]),
    ]);
    expect(A.parseRegisterResponse(ok).keyHandle).to.deep.equal(Buffer.from([9, 9]));
    expect(() => A.parseRegisterResponse(ok.subarray(0, 70))).to.throw(/truncated/);
    expect(() => A.parseRegisterResponse(ok.subarray(0, 71))).to.throw(/no signature/);
  });
});

describe('fido: virtual U2F attestation certificate', function () {
  it('is valid DER for any serial (leading zero bytes, high bit) and verifies', function () {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (const serial of ['00112233', '0000', '80', '00ff']) {
      const der = selfSignedCertificate(pair.privateKey, pair.publicKey, 'test', Buffer.from(serial, 'hex'));
      const cert = new X509Certificate(der);
      expect(cert.verify(pair.publicKey)).to.equal(true);
      expect(A.derLength(der)).to.equal(der.length);
    }
  });
});

describe('fido: U2F-only key end to end (virtual, CTAPHID_MSG)', function () {
  let va: VirtualAuthenticator;
  let key: U2fSecurityKey;
  let prompter: RecordingPrompter;

  beforeEach(async function () {
    va = new VirtualAuthenticator({ ctap1Only: true });
    prompter = new RecordingPrompter();
    const k = await openVirtualKey(va, prompter, { pollIntervalMs: 20 });
    expect(k.kind).to.equal('u2f');
    key = k as U2fSecurityKey;
  });
  afterEach(async function () {
    await key.close();
    va.unplug();
  });

  it('is refused by the CTAP2-only entry points with a clear message', async function () {
    const other = new VirtualAuthenticator({ ctap1Only: true });
    const err = await rejection(openVirtualSecurityKey(other, prompter));
    expect(err.code).to.equal('unsupported');
    expect(err.message).to.match(/only supports U2F \(CTAP1\); KeyVNet needs a FIDO2 key/);
    const err2 = await rejection(openKeyOnDevice(other.connect(), prompter, { allowU2f: false }));
    expect(err2.code).to.equal('unsupported');
    other.unplug();
  });

  it('registers (fido-u2f attestation verifies) and signs like CTAP2', async function () {
    const req = mcRequest();
    const cred = await key.makeCredential(req, ctx);
    expect(prompter.events).to.deep.equal(['touchNeeded', 'touchDone']);
    expect(cred.algorithm).to.equal(COSE_ES256);
    expect(cred.flags).to.equal(FLAG_UP | FLAG_AT);
    expect(cred.fmt).to.equal('fido-u2f');
    const cert = new X509Certificate((cred.attStmt.x5c as Buffer[])[0]);
    const app = createHash('sha256').update('ssh:').digest();
    const signedReg = Buffer.concat([
      Buffer.from([0]),
      app,
      req.clientDataHash,
      cred.credentialId,
      cred.publicKey,
    ]);
    expect(verify('sha256', signedReg, cert.publicKey, cred.attStmt.sig as Buffer)).to.equal(true);

    const pub = publicKeyObject(COSE_ES256, cred.publicKey);
    const ga = gaRequest([Buffer.alloc(70, 1), cred.credentialId]); // a foreign handle first
    const a1 = await key.getAssertion(ga, ctx);
    expect(a1.credentialId).to.deep.equal(cred.credentialId);
    expect(a1.flags & FLAG_UP).to.equal(FLAG_UP);
    expect(verify('sha256', Buffer.concat([a1.authData, ga.clientDataHash]), pub, a1.signature)).to.equal(
      true,
    );
    const a2 = await key.getAssertion(gaRequest([cred.credentialId], { userPresence: false }), ctx);
    expect(a2.flags & FLAG_UP).to.equal(0);
    expect(a2.signCount).to.be.greaterThan(a1.signCount);
    expect(prompter.touchNeededCount).to.equal(2); // register + first assertion, not the no-touch one
  });

  it('refuses what U2F cannot do, with reasons', async function () {
    expect((await rejection(key.makeCredential(mcRequest({ algorithm: COSE_EDDSA }), ctx))).message).to.match(
      /Ed25519/,
    );
    expect((await rejection(key.makeCredential(mcRequest({ residentKey: true }), ctx))).code).to.equal(
      'unsupported',
    );
    expect(
      (await rejection(key.makeCredential(mcRequest({ userVerification: true }), ctx))).message,
    ).to.match(/no PIN/);
    expect((await rejection(key.getAssertion(gaRequest([]), ctx))).code).to.equal('unsupported');
    expect((await rejection(key.getAssertion(gaRequest([Buffer.alloc(70)]), ctx))).code).to.equal(
      'no-credentials',
    );
  });

  it('times out, cancels and notices removal while polling for a touch', async function () {
    await key.close();
    va.unplug();
    va = new VirtualAuthenticator({ ctap1Only: true, touch: { mode: 'never' } });
    key = (await openVirtualKey(va, prompter, { pollIntervalMs: 20, touchTimeoutMs: 200 })) as U2fSecurityKey;
    expect((await rejection(key.makeCredential(mcRequest(), ctx))).code).to.equal('timeout');

    const ac = new AbortController();
    prompter.onTouchNeeded = () => ac.abort();
    expect((await rejection(key.makeCredential(mcRequest(), { ...ctx, signal: ac.signal }))).code).to.equal(
      'cancelled',
    );
    prompter.onTouchNeeded = () => va.unplug();
    expect((await rejection(key.makeCredential(mcRequest(), ctx))).code).to.equal('device-removed');
    expect(prompter.touchDoneCount).to.equal(prompter.touchNeededCount);
  });
});

describe('fido: U2F and CTAP2 on one key', function () {
  it('a U2F registration signs through CTAP2 too (same key handles, like real keys)', async function () {
    const va = new VirtualAuthenticator();
    const prompter = new RecordingPrompter();
    const conn = await CtapHidConnection.open(va.connect());
    expect(conn.supportsMsg).to.equal(true);
    const u2f = await U2fSecurityKey.open(conn, 'v', prompter, { pollIntervalMs: 20 });
    const cred = await u2f.makeCredential(mcRequest(), ctx);
    const ctap2 = await openVirtualSecurityKey(va, prompter);
    const ga = gaRequest([cred.credentialId]);
    const a = await ctap2.getAssertion(ga, ctx);
    const pub = publicKeyObject(COSE_ES256, cred.publicKey);
    expect(verify('sha256', Buffer.concat([a.authData, ga.clientDataHash]), pub, a.signature)).to.equal(true);
    await ctap2.close();
    va.unplug();
  });
});
