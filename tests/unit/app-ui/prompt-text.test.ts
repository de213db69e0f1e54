import { expect } from 'chai';
import type { Purpose } from '../../../app/fido/api';
import { pinLengthOk } from '../../../app/ui/pin-rules';
import {
  cleanField,
  confirmPromptText,
  insertKeyPromptText,
  passphrasePromptText,
  pinPromptText,
  purposeAction,
  touchPromptText,
} from '../../../app/ui/prompt-text';

describe('app/ui prompt texts', () => {
  const login: Purpose = {
    what: 'ssh-login',
    bastion: 'corp',
    host: 'bastion.corp.example.com',
    user: 'alice',
    requester: 'daemon',
  };
  const signal = new AbortController().signal;
  const base = { requestId: 1, keyLabel: 'YubiKey 5 NFC', purpose: login, signal };

  it('says what the touch is for, from the structured purpose (the lead’s contract)', () => {
    expect(touchPromptText({ ...base, fingerprint: false })).to.deep.equal({
      title: 'Touch your security key to connect to corp (bastion.corp.example.com)',
      detail: 'As user alice\nSecurity key: YubiKey 5 NFC\nAsked by KeyVNet for the virtual network',
    });
    expect(touchPromptText({ ...base, fingerprint: true }).title).to.equal(
      'Touch the fingerprint sensor of your security key to connect to corp (bastion.corp.example.com)',
    );
  });

  it('words every kind of purpose and requester', () => {
    const p = (over: Partial<Purpose>): Purpose => ({ what: 'ssh-login', requester: 'ssh-agent', ...over });
    expect(purposeAction(p({}))).to.equal('log in with SSH');
    expect(purposeAction(p({ host: 'h.example' }))).to.equal('connect to h.example');
    expect(purposeAction(p({ bastion: 'b', host: 'b' }))).to.equal('connect to b');
    expect(purposeAction(p({ what: 'sign-data', namespace: 'git' }))).to.equal('sign a git commit');
    expect(purposeAction(p({ what: 'sign-data', namespace: 'file' }))).to.equal('sign a file');
    expect(purposeAction(p({ what: 'sign-data', namespace: 'x@y' }))).to.equal('sign data for "x@y"');
    expect(purposeAction(p({ what: 'enroll' }))).to.equal('create an SSH key');
    expect(purposeAction(p({ what: 'change-pin' }))).to.equal('change its PIN');
    const t = touchPromptText({
      ...base,
      fingerprint: false,
      purpose: p({ process: { pid: 42, name: 'ssh' } }),
    });
    expect(t.detail).to.include('Asked by ssh (pid 42) through the KeyVNet ssh-agent');
    expect(
      touchPromptText({ ...base, fingerprint: false, purpose: p({ what: 'select-key' }) }).title,
    ).to.equal('Touch the security key you want to use');
  });

  it('names the key and the purpose in the PIN prompt, and counts the attempts left', () => {
    const t = pinPromptText({ ...base, retriesLeft: null });
    expect(t.title).to.equal('Enter the PIN of YubiKey 5 NFC');
    expect(t.detail.split('\n')[0]).to.equal('To connect to corp (bastion.corp.example.com).');
    expect(t.warning).to.equal(null);
    expect(pinPromptText({ ...base, retriesLeft: 8 }).warning).to.equal('8 attempts left.');
    expect(pinPromptText({ ...base, retriesLeft: 1 }).warning).to.equal(
      '1 attempt left. Another wrong PIN blocks the key.',
    );
    // Setting or changing a PIN (keyvnet key pin): which PIN is asked, and which command asked.
    expect(
      pinPromptText({
        ...base,
        retriesLeft: null,
        purpose: { what: 'set-pin', requester: 'app', process: { pid: 5150, name: 'keyvnet' } },
      }).detail,
    ).to.equal('To set its PIN.\nAsked by the keyvnet command (pid 5150)');
    expect(pinPromptText({ ...base, retriesLeft: null, entry: 'new' }).title).to.equal(
      'Choose a new PIN for YubiKey 5 NFC (4 to 63 characters)',
    );
    expect(pinPromptText({ ...base, retriesLeft: null, entry: 'repeat' }).title).to.equal(
      'Enter the new PIN of YubiKey 5 NFC again',
    );
  });

  it('after a wrong PIN, the dialog says so with the tries left (and warns at the last one)', () => {
    expect(pinPromptText({ ...base, retriesLeft: 7, afterWrongPin: true }).warning).to.equal(
      'Wrong PIN. 7 tries left.',
    );
    expect(pinPromptText({ ...base, retriesLeft: 1, afterWrongPin: true }).warning).to.equal(
      'Wrong PIN. 1 try left. Another wrong PIN blocks the key.',
    );
    expect(pinPromptText({ ...base, retriesLeft: null, afterWrongPin: true }).warning).to.equal('Wrong PIN.');
    expect(pinPromptText({ ...base, retriesLeft: 7, afterWrongPin: false }).warning).to.equal(
      '7 attempts left.',
    );
  });

  it('"insert your security key" says what for, who asked and how long it waits', () => {
    const req = { requestId: 3, purpose: login, signal, cancel: () => undefined, timeoutMs: 60_000 };
    expect(insertKeyPromptText(req)).to.deep.equal({
      title: 'Insert your security key to connect to corp (bastion.corp.example.com)',
      detail: 'As user alice\nAsked by KeyVNet for the virtual network\nWaiting 60 s for a security key.',
    });
    expect(insertKeyPromptText({ ...req, timeoutMs: 300_000 }).detail).to.match(/Waiting 5 min /);
    expect(insertKeyPromptText({ ...req, purpose: { ...login, bastion: 'a\nb <b>x</b>' } }).title).to.equal(
      'Insert your security key to connect to a\uFFFDb <b>x</b> (bastion.corp.example.com)',
    );
  });

  it('passphrase and confirm prompts', () => {
    const pp = passphrasePromptText({
      requestId: 1,
      file: '/home/a/.ssh/id',
      attempt: 1,
      purpose: login,
      signal,
    });
    expect(pp.title).to.equal('Enter the passphrase of /home/a/.ssh/id');
    expect(pp.warning).to.equal('Wrong passphrase; try again.');
    const c = confirmPromptText({
      requestId: 1,
      keyComment: 'alice@laptop',
      keyFingerprint: 'SHA256:abc',
      purpose: login,
      signal,
    });
    expect(c.title).to.equal(
      'Allow the use of SSH key alice@laptop to connect to corp (bastion.corp.example.com)?',
    );
  });

  it('neutralises control and bidi characters a peer could put in names', () => {
    expect(cleanField('ali\nce\u202e')).to.equal('ali\uFFFDce\uFFFD');
    expect(cleanField('x'.repeat(200))).to.have.length(120);
    // Markup stays text: the GUI shows it with Qt::PlainText, the text keeps it verbatim.
    expect(purposeAction({ what: 'ssh-login', host: '<b>evil</b>', requester: 'daemon' })).to.equal(
      'connect to <b>evil</b>',
    );
  });

  it('accepts PINs of 4 code points up to 63 UTF-8 bytes (CTAP2 §6.5.1)', () => {
    expect(pinLengthOk('123')).to.equal(false);
    expect(pinLengthOk('1234')).to.equal(true);
    expect(pinLengthOk('ééé')).to.equal(false); // 6 bytes but 3 code points
    expect(pinLengthOk('😀😀😀😀')).to.equal(true);
    expect(pinLengthOk('x'.repeat(63))).to.equal(true);
    expect(pinLengthOk('x'.repeat(64))).to.equal(false);
    expect(pinLengthOk('é'.repeat(32))).to.equal(false); // 64 bytes
  });
});
