// The prompt contract (issue 10 §4) through the real transport and the virtual key: one request
// at a time per key, a queue the UI can list and cancel, AbortSignal per prompt (a cancelled
// request closes its prompt at once and the next moves up), and the timeout starting when the
// request reaches the key. The interleavings are forced by a manual touch policy, not by timers.
import { expect } from 'chai';
import { FidoError, type PinPrompt, type Purpose } from '../../../app/fido/api';
import { RequestQueue } from '../../../app/fido/request-queue';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { gaRequest, mcRequest, RecordingPrompter, rejection } from './helpers';

const login = (host: string): Purpose => ({ what: 'ssh-login', host, requester: 'daemon' });

describe('fido: request queue and the prompt contract', function () {
  let va: VirtualAuthenticator;
  let key: Ctap2SecurityKey;
  let queue: RequestQueue;
  let prompter: RecordingPrompter;
  let cred: Buffer;

  beforeEach(async function () {
    va = new VirtualAuthenticator({ touch: { mode: 'auto' } });
    prompter = new RecordingPrompter();
    queue = new RequestQueue();
    key = await openVirtualSecurityKey(va, prompter, { queue });
    cred = (await key.makeCredential(mcRequest(), { purpose: { what: 'enroll', requester: 'app' } }))
      .credentialId;
    va.setTouchPolicy({ mode: 'manual' });
    prompter.touchRequests = [];
  });
  afterEach(async function () {
    await key.close();
    va.unplug();
  });

  const touchWaiting = (): Promise<void> =>
    new Promise((resolve) => {
      if (va.touchController.waiting) return resolve();
      va.once('touch-needed', () => resolve());
    });

  it('runs one request at a time per key and lists them for the UI', async function () {
    const results = ['a', 'b', 'c'].map((h) => key.getAssertion(gaRequest([cred]), { purpose: login(h) }));
    await touchWaiting();
    expect(queue.list().map((r) => [r.purpose.host, r.state])).to.deep.equal([
      ['a', 'active'],
      ['b', 'queued'],
      ['c', 'queued'],
    ]);
    for (let i = 0; i < 3; i++) {
      await touchWaiting();
      expect(queue.list().filter((r) => r.state === 'active')).to.have.length(1);
      va.touch();
      await results[i];
    }
    expect(queue.list()).to.deep.equal([]);
    expect(prompter.touchRequests.map((t) => t.purpose.host)).to.deep.equal(['a', 'b', 'c']);
  });

  it('cancel(id) of a queued request rejects it at once; the others go on', async function () {
    const a = key.getAssertion(gaRequest([cred]), { purpose: login('a') });
    const b = key.getAssertion(gaRequest([cred]), { purpose: login('b') });
    await touchWaiting();
    const idB = queue.list()[1].id;
    expect(queue.cancel(idB)).to.equal(true);
    const err = await rejection(b);
    expect(err.code).to.equal('cancelled');
    expect(queue.list().map((r) => r.purpose.host)).to.deep.equal(['a']);
    va.touch();
    await a;
    expect(queue.cancel(idB)).to.equal(false);
  });

  it('cancel(id) of the active request stops the blinking, closes its prompt, and the next moves up', async function () {
    const a = key.getAssertion(gaRequest([cred]), { purpose: login('a') });
    const b = key.getAssertion(gaRequest([cred]), { purpose: login('b') });
    await touchWaiting();
    await new Promise((r) => setImmediate(r));
    const touchA = prompter.touchRequests[0];
    expect(touchA.signal.aborted).to.equal(false);
    const outcome = new Promise((resolve) => va.once('touch-done', resolve));
    queue.cancel(queue.list()[0].id);
    expect(touchA.signal.aborted).to.equal(true); // the UI closes its touch window at once
    expect(await outcome).to.equal('cancelled'); // CTAPHID_CANCEL reached the key
    expect((await rejection(a)).code).to.equal('cancelled');
    await touchWaiting();
    expect(queue.list().map((r) => [r.purpose.host, r.state])).to.deep.equal([['b', 'active']]);
    va.touch();
    await b;
  });

  it('an aborted request closes its PIN prompt at once, even if the UI never answers', async function () {
    const pinVa = new VirtualAuthenticator({ pin: '1234' });
    const pending: PinPrompt[] = [];
    const pinKey = await openVirtualSecurityKey(
      pinVa,
      {
        askPin: (req) => {
          pending.push(req);
          return new Promise(() => undefined); // a dialog nobody answers
        },
        touchNeeded: () => undefined,
        touchDone: () => undefined,
      },
      { queue },
    );
    try {
      const ac = new AbortController();
      const op = pinKey.makeCredential(mcRequest({ userVerification: true }), {
        purpose: login('pin'),
        signal: ac.signal,
      });
      while (pending.length === 0) await new Promise((r) => setImmediate(r));
      expect(pending[0].requestId).to.equal(queue.list()[0].id);
      ac.abort();
      expect(pending[0].signal.aborted).to.equal(true);
      expect((await rejection(op)).code).to.equal('cancelled');
      expect(queue.list()).to.deep.equal([]);
    } finally {
      await pinKey.close();
      pinVa.unplug();
    }
  });

  it('the timeout starts when the request reaches the key, not while it is queued', async function () {
    const a = key.getAssertion(gaRequest([cred]), { purpose: login('a') });
    const b = key.getAssertion(gaRequest([cred]), { purpose: login('b'), timeoutMs: 300 });
    await touchWaiting();
    // b waits in the queue for longer than its own timeout…
    await new Promise((r) => setTimeout(r, 600));
    expect(queue.list().map((r) => r.state)).to.deep.equal(['active', 'queued']);
    va.touch();
    await a;
    // …and still gets its full time at the key.
    await touchWaiting();
    va.touch();
    const got = await b;
    expect(got.credentialId).to.deep.equal(cred);
  });

  it('a request that runs out of time at the key fails with a timeout and the key stops', async function () {
    const outcome = new Promise((resolve) => va.once('touch-done', resolve));
    const err = await rejection(key.getAssertion(gaRequest([cred]), { purpose: login('a'), timeoutMs: 100 }));
    expect(err).to.be.instanceOf(FidoError);
    expect(err.code).to.equal('timeout');
    expect(err.message).to.match(/did not finish within 100 ms/);
    expect(await outcome).to.equal('cancelled');
  });
});
