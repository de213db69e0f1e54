// Several security keys plugged in (issue 10 §2): the key holding a credential is found without a
// touch, and "touch the key you mean" makes every key blink, takes the first touched and stops the
// others.
import { expect } from 'chai';
import type { OperationContext } from '../../../app/fido/api';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { findKeyForCredential, selectKeyByTouch } from '../../../app/fido/select';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { mcRequest, RecordingPrompter } from './helpers';

const ctx: OperationContext = { purpose: { what: 'ssh-login', host: 'h', requester: 'daemon' } };

describe('fido: several keys plugged in', function () {
  const vas: VirtualAuthenticator[] = [];
  const keys: Ctap2SecurityKey[] = [];
  beforeEach(async function () {
    for (let i = 0; i < 3; i++) {
      const va = new VirtualAuthenticator({ label: `key ${i}` });
      vas.push(va);
      keys.push(await openVirtualSecurityKey(va, new RecordingPrompter()));
    }
  });
  afterEach(async function () {
    for (const k of keys.splice(0)) await k.close();
    for (const va of vas.splice(0)) va.unplug();
  });

  it('finds the key that holds the credential without asking for a touch', async function () {
    const cred = await keys[2].makeCredential(mcRequest(), ctx);
    for (const va of vas) va.setTouchPolicy({ mode: 'never' }); // any touch asked would hang
    const found = await findKeyForCredential(keys, 'ssh:', cred.credentialId, ctx);
    expect(found).to.equal(keys[2]);
    expect(await findKeyForCredential(keys, 'ssh:', Buffer.alloc(64, 1), ctx)).to.equal(null);
    // One key plugged in: that one, even when the probe cannot see the credential.
    expect(await findKeyForCredential([keys[0]], 'ssh:', Buffer.alloc(64, 1), ctx)).to.equal(keys[0]);
  });

  it('touch the key you mean: all blink, the first touched wins, the others stop', async function () {
    for (const va of vas) va.setTouchPolicy({ mode: 'manual' });
    const outcomes: string[] = [];
    vas.forEach((va, i) => va.on('touch-done', (o: string) => outcomes.push(`${i}:${o}`)));
    const blinking = Promise.all(vas.map((va) => new Promise((r) => va.once('touch-needed', r))));
    const chosen = selectKeyByTouch(keys, ctx);
    await blinking;
    vas[1].touch();
    expect(await chosen).to.equal(keys[1]);
    while (outcomes.length < 3) await new Promise((r) => setTimeout(r, 10));
    expect(outcomes.sort()).to.deep.equal(['0:cancelled', '1:touched', '2:cancelled']);
  });
});
