import { expect } from 'chai';
import { abortError, sshError } from '../../../systemext/ssh/errors';

describe('abortError', () => {
  it('passes on the DialError the signal carries', () => {
    const ac = new AbortController();
    const reason = sshError('HOST_KEY_UNKNOWN', 'not known');
    ac.abort(reason);
    expect(abortError(ac.signal, 'connecting')).to.equal(reason);
  });

  it('reports a passed deadline (AbortSignal.timeout) as SETUP_TIMEOUT, not as a cancel', () => {
    const ac = new AbortController();
    ac.abort(new DOMException('The operation timed out.', 'TimeoutError'));
    const err = abortError(ac.signal, 'connecting to corp');
    expect(err.code).to.equal('SETUP_TIMEOUT');
    expect(err.message).to.equal('connecting to corp did not finish before its deadline');
  });

  it('reports any other abort as CANCELLED', () => {
    const ac = new AbortController();
    ac.abort();
    const err = abortError(ac.signal, 'signing');
    expect(err.code).to.equal('CANCELLED');
    expect(err.message).to.equal('signing was cancelled');
  });
});
