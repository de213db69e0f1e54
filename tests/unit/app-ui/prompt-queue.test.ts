import { expect } from 'chai';
import type { UserPrompter } from '../../../app/fido/api';
import { PromptTracker, promptSummary, purposeText } from '../../../app/ui/prompt-queue';

function fakePrompter() {
  const calls: string[] = [];
  const pins: Array<(v: string | null) => void> = [];
  const p: UserPrompter = {
    touchNeeded: (r) => calls.push(`touch ${r.purpose}`),
    touchDone: () => calls.push('done'),
    askPin: () => new Promise((resolve) => pins.push(resolve)),
  };
  return { p, calls, pins };
}

describe('prompt queue tracking', () => {
  it('tracks a touch while it waits and a PIN dialog until it is answered', async () => {
    const f = fakePrompter();
    const t = new PromptTracker(f.p, () => 42);
    let changes = 0;
    t.on('change', () => changes++);
    t.prompter.touchNeeded({ keyLabel: 'YubiKey', purpose: 'Sign in to bastion.corp.example.com' });
    expect(t.list()).to.deep.equal([
      {
        id: 1,
        kind: 'touch',
        keyLabel: 'YubiKey',
        what: 'Sign in to bastion.corp.example.com',
        bastion: null,
        since: 42,
      },
    ]);
    const answer = t.prompter.askPin({
      keyLabel: 'YubiKey',
      purpose: 'Unlock',
      retriesLeft: 3,
      wrongBefore: false,
    });
    expect(promptSummary(t.list())).to.equal('Touch your security key (1 more waiting)');
    t.prompter.touchDone();
    expect(t.list().map((x) => x.kind)).to.deep.equal(['pin']);
    f.pins[0]('1234');
    expect(await answer).to.equal('1234');
    await Promise.resolve();
    expect(t.list()).to.deep.equal([]);
    expect(f.calls).to.deep.equal(['touch Sign in to bastion.corp.example.com', 'done']);
    expect(changes).to.equal(4);
  });

  it('a second touchNeeded replaces the first (one key blinks once)', () => {
    const t = new PromptTracker(fakePrompter().p);
    t.prompter.touchNeeded({ keyLabel: 'k', purpose: 'a' });
    t.prompter.touchNeeded({ keyLabel: 'k', purpose: 'b' });
    expect(t.list().map((x) => x.what)).to.deep.equal(['b']);
  });

  it('reads structured purposes (the prompt contract) as well as strings', () => {
    expect(purposeText({ what: 'SSH login', host: 'bastion.corp.example.com', bastion: 'corp' })).to.equal(
      'SSH login: corp (bastion.corp.example.com)',
    );
    expect(purposeText({ what: 'Sign a file' })).to.equal('Sign a file');
    expect(purposeText(undefined)).to.equal('Use your security key');
    expect(promptSummary([])).to.equal(null);
  });
});
