// The agent's watched prompter passes every prompt on, optional ones included: a wrapper that
// dropped insertKey made a missing key fail at once instead of asking for it (seen after a merge).
import { expect } from 'chai';
import type { InsertKeyPrompt, UserPrompter } from '../../../app/fido/api';
import { WatchedPrompter, type PromptNote } from '../../../app/agent/prompt-watch';

describe('WatchedPrompter', () => {
  const base: UserPrompter = { askPin: async () => null, touchNeeded: () => {}, touchDone: () => {} };
  const purpose = {
    what: 'ssh-login' as const,
    bastion: 'corp',
    host: 'bastion.corp.test',
    requester: 'daemon' as const,
  };
  const insertReq = (): InsertKeyPrompt => ({
    requestId: 1,
    purpose,
    signal: new AbortController().signal,
    cancel: () => {},
    timeoutMs: 60_000,
  });

  it('forwards insertKey to a front end that has it, and announces it', () => {
    const got: InsertKeyPrompt[] = [];
    const w = new WatchedPrompter({ ...base, insertKey: (r) => void got.push(r) });
    const notes: PromptNote[] = [];
    w.on('prompt', (n) => notes.push(n));
    const req = insertReq();
    w.insertKey!(req);
    expect(got).to.deep.equal([req]);
    expect(notes).to.have.length(1);
    expect(notes[0].kind).to.equal('insert');
    expect(notes[0].title).to.match(/^Insert your security key to connect to corp/);
  });

  it('has no insertKey (nor the other optional prompts) when the front end has none', () => {
    const w = new WatchedPrompter(base);
    expect(w.insertKey).to.equal(undefined);
    expect(w.askPassphrase).to.equal(undefined);
    expect(w.confirm).to.equal(undefined);
  });
});
