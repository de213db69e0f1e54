import { expect } from 'chai';
import { pinLengthOk } from '../../../app/ui/pin-rules';
import { pinPromptText, touchPromptText } from '../../../app/ui/prompt-text';

describe('app/ui prompt texts', () => {
  const base = { keyLabel: 'YubiKey 5 NFC', purpose: 'Sign in to bastion.example.com' };

  it('names the key and the purpose', () => {
    const t = pinPromptText({ ...base, retriesLeft: null, wrongBefore: false });
    expect(t.title).to.equal('Enter the PIN of YubiKey 5 NFC');
    expect(t.detail).to.equal('Sign in to bastion.example.com');
    expect(t.warning).to.equal(null);
  });

  it('counts the attempts left, singular and plural', () => {
    expect(pinPromptText({ ...base, retriesLeft: 8, wrongBefore: false }).warning).to.equal(
      '8 attempts left.',
    );
    expect(pinPromptText({ ...base, retriesLeft: 1, wrongBefore: false }).warning).to.equal(
      '1 attempt left. Another wrong PIN blocks the key.',
    );
  });

  it('says "Wrong PIN" after a rejected attempt', () => {
    expect(pinPromptText({ ...base, retriesLeft: 3, wrongBefore: true }).warning).to.equal(
      'Wrong PIN. 3 attempts left.',
    );
    expect(pinPromptText({ ...base, retriesLeft: null, wrongBefore: true }).warning).to.equal('Wrong PIN.');
  });

  it('asks for a touch with the purpose and the key', () => {
    expect(touchPromptText(base)).to.deep.equal({
      title: 'Touch your security key',
      detail: 'Sign in to bastion.example.com (YubiKey 5 NFC)',
    });
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
