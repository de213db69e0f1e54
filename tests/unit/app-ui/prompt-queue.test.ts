import { expect } from 'chai';
import type { InsertKeyPrompt, PinPrompt, Purpose, TouchPrompt, UserPrompter } from '../../../app/fido/api';
import { RequestQueue } from '../../../app/fido/request-queue';
import { PromptTracker, promptSummary } from '../../../app/ui/prompt-queue';

const purpose: Purpose = {
  what: 'ssh-login',
  bastion: 'corp',
  host: 'bastion.corp.example.com',
  user: 'alice',
  requester: 'daemon',
};

function fakePrompter() {
  const calls: string[] = [];
  const pins: Array<(v: string | null) => void> = [];
  const p: UserPrompter = {
    touchNeeded: (r) => calls.push(`touch ${r.requestId}`),
    touchDone: (r) => calls.push(`done ${r.requestId}`),
    askPin: () => new Promise((resolve) => pins.push(resolve)),
  };
  return { p, calls, pins };
}

function touch(requestId: number, signal = new AbortController().signal): TouchPrompt {
  return { requestId, keyLabel: 'YubiKey 5', purpose, signal, fingerprint: false };
}

describe('prompt queue tracking', () => {
  it('tracks a touch while it waits and a PIN dialog until it is answered', async () => {
    const f = fakePrompter();
    const t = new PromptTracker(f.p, null, () => 42);
    let changes = 0;
    t.on('change', () => changes++);
    t.prompter.touchNeeded(touch(1));
    expect(t.list()).to.deep.equal([
      {
        id: 1,
        kind: 'touch',
        keyLabel: 'YubiKey 5',
        title: 'Touch your security key to connect to corp (bastion.corp.example.com)',
        detail: 'As user alice\nSecurity key: YubiKey 5\nAsked by KeyVNet for the virtual network',
        what: 'Connect to corp (bastion.corp.example.com)',
        bastion: 'corp',
        since: 42,
      },
    ]);
    const pin: PinPrompt = {
      requestId: 2,
      keyLabel: 'YubiKey 5',
      purpose,
      signal: new AbortController().signal,
      retriesLeft: 3,
    };
    const answer = t.prompter.askPin(pin);
    expect(promptSummary(t.list())).to.equal('Touch your security key (1 more waiting)');
    t.prompter.touchDone(touch(1));
    expect(t.list().map((x) => x.kind)).to.deep.equal(['pin']);
    expect(promptSummary(t.list())).to.equal('Enter your security key PIN');
    f.pins[0]('1234');
    expect(await answer).to.equal('1234');
    await Promise.resolve();
    expect(t.list()).to.deep.equal([]);
    expect(f.calls).to.deep.equal(['touch 1', 'done 1']);
    expect(changes).to.equal(4);
  });

  it('an aborted request leaves the list at once', () => {
    const t = new PromptTracker(fakePrompter().p);
    const ac = new AbortController();
    t.prompter.touchNeeded(touch(5, ac.signal));
    expect(t.list()).to.have.length(1);
    ac.abort();
    expect(t.list()).to.deep.equal([]);
    t.prompter.touchNeeded(touch(6, ac.signal)); // already aborted: never listed
    expect(t.list()).to.deep.equal([]);
  });

  it('lists the requests queued on the key and cancels through the RequestQueue', async () => {
    const queue = new RequestQueue();
    const t = new PromptTracker(fakePrompter().p, queue, () => 7);
    const lane = {};
    let release: () => void = () => undefined;
    const first = queue.run(lane, 'YubiKey 5', { purpose }, () => new Promise<void>((r) => (release = r)));
    const second = queue.run(
      lane,
      'YubiKey 5',
      { purpose: { what: 'sign-data', namespace: 'git', requester: 'ssh-agent' } },
      async () => 'x',
    );
    await Promise.resolve();
    t.prompter.touchNeeded(touch(1)); // the first request's touch is on screen
    expect(t.list().map((p) => [p.id, p.kind, p.what])).to.deep.equal([
      [1, 'touch', 'Connect to corp (bastion.corp.example.com)'],
      [2, 'waiting', 'Sign a git commit'],
    ]);
    t.cancel(2);
    await second.then(
      () => expect.fail('should be cancelled'),
      (err: Error) => expect(err.message).to.match(/cancelled/),
    );
    expect(t.list().map((p) => p.id)).to.deep.equal([1]);
    release();
    await first;
  });

  it('an "insert your key" prompt: listed while it waits, cancelled by its id through its own cancel', () => {
    const queue = new RequestQueue();
    const calls: string[] = [];
    const inner: UserPrompter = {
      ...fakePrompter().p,
      insertKey: (r) => void calls.push(`insert ${r.requestId}`),
    };
    const t = new PromptTracker(inner, queue, () => 9);
    const ended = new AbortController();
    const id = queue.reserveId();
    const req: InsertKeyPrompt = {
      requestId: id,
      purpose,
      signal: ended.signal,
      cancel: () => {
        calls.push('cancel');
        ended.abort();
      },
      timeoutMs: 60_000,
    };
    t.prompter.insertKey!(req);
    expect(calls).to.deep.equal([`insert ${id}`]);
    expect(t.list()).to.deep.equal([
      {
        id,
        kind: 'insert',
        keyLabel: '',
        title: 'Insert your security key to connect to corp (bastion.corp.example.com)',
        detail: 'As user alice\nAsked by KeyVNet for the virtual network\nWaiting 60 s for a security key.',
        what: 'Connect to corp (bastion.corp.example.com)',
        bastion: 'corp',
        since: 9,
      },
    ]);
    expect(promptSummary(t.list())).to.equal('Insert your security key');
    t.cancel(id);
    expect(calls).to.deep.equal([`insert ${id}`, 'cancel']);
    expect(t.list()).to.deep.equal([]);
    // Its id is never one of the queue's requests.
    expect(queue.reserveId()).to.equal(id + 1);
  });

  it('a prompter without insertKey is not given one (the key source then fails at once)', () => {
    expect(new PromptTracker(fakePrompter().p).prompter.insertKey).to.equal(undefined);
  });

  it('summaries', () => {
    expect(promptSummary([])).to.equal(null);
  });
});
