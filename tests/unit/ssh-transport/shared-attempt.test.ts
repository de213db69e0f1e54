// SharedAttempt: one set-up for every waiting dial, cancelled only when all waiters give up.
import { expect } from 'chai';
import { DialError } from '../../../systemext/vnet/dialer';
import { SharedAttempt } from '../../../systemext/ssh/shared-attempt';

/** A set-up whose outcome the test decides, recording the signal it was given. */
function controlled<T>() {
  const c = {
    runs: 0,
    signal: null as AbortSignal | null,
    resolve: (_v: T) => {},
    reject: (_e: unknown) => {},
    run: (signal: AbortSignal) => {
      c.runs++;
      c.signal = signal;
      return new Promise<T>((res, rej) => {
        c.resolve = res;
        c.reject = rej;
        signal.addEventListener('abort', () => rej(signal.reason));
      });
    },
  };
  return c;
}

const timeoutErr = () => new DialError('set-up timed out', 'SETUP_TIMEOUT');

describe('SharedAttempt', () => {
  it('runs the set-up once for concurrent waiters and gives each the result', async () => {
    const c = controlled<string>();
    const orphans: string[] = [];
    const a = new SharedAttempt(c.run, 60_000, timeoutErr, (v) => orphans.push(v));
    const p1 = a.join(new AbortController().signal, 'x');
    const p2 = a.join(new AbortController().signal, 'x');
    expect(a.waiting).to.equal(2);
    c.resolve('session');
    expect(await Promise.all([p1, p2])).to.deep.equal(['session', 'session']);
    expect(c.runs).to.equal(1);
    expect(orphans).to.deep.equal([]);
  });

  it('fails every waiter at once with the same error when the set-up fails', async () => {
    const c = controlled<string>();
    const a = new SharedAttempt(c.run, 60_000, timeoutErr, () => {});
    const ps = [1, 2, 3].map(() => a.join(new AbortController().signal, 'x'));
    const denied = new DialError('touch was denied', 'AUTH_DENIED');
    c.reject(denied);
    const out = await Promise.allSettled(ps);
    expect(out.map((o) => (o.status === 'rejected' ? o.reason : o))).to.deep.equal([denied, denied, denied]);
  });

  it('one waiter giving up leaves the set-up running for the others', async () => {
    const c = controlled<string>();
    const a = new SharedAttempt(c.run, 60_000, timeoutErr, () => {});
    const ac1 = new AbortController();
    const p1 = a.join(ac1.signal, 'connecting');
    const p2 = a.join(new AbortController().signal, 'connecting');
    ac1.abort();
    const e1 = await p1.catch((e: DialError) => e);
    expect(e1).to.be.instanceOf(DialError).and.include({ code: 'CANCELLED' });
    expect(c.signal!.aborted).to.equal(false);
    c.resolve('session');
    expect(await p2).to.equal('session');
  });

  it('the last waiter giving up cancels the set-up', async () => {
    const c = controlled<string>();
    const a = new SharedAttempt(c.run, 60_000, timeoutErr, () => {});
    const ac1 = new AbortController();
    const ac2 = new AbortController();
    const ps = [a.join(ac1.signal, 'x'), a.join(ac2.signal, 'x')];
    ac1.abort();
    expect(c.signal!.aborted).to.equal(false);
    ac2.abort();
    expect(c.signal!.aborted).to.equal(true);
    expect((c.signal!.reason as DialError).code).to.equal('CANCELLED');
    for (const r of await Promise.allSettled(ps)) expect(r.status).to.equal('rejected');
  });

  it('a waiter whose signal carries a DialError fails with that error', async () => {
    const c = controlled<string>();
    const a = new SharedAttempt(c.run, 60_000, timeoutErr, () => {});
    const ac = new AbortController();
    const p = a.join(ac.signal, 'x');
    const why = new DialError('engine shutting down', 'CANCELLED');
    ac.abort(why);
    expect(await p.catch((e: unknown) => e)).to.equal(why);
  });

  it('the set-up deadline fails every waiter with SETUP_TIMEOUT', async () => {
    const c = controlled<string>();
    const a = new SharedAttempt(c.run, 10, timeoutErr, () => {});
    const out = await Promise.allSettled([
      a.join(new AbortController().signal, 'x'),
      a.join(new AbortController().signal, 'x'),
    ]);
    for (const r of out)
      expect(r.status === 'rejected' && (r.reason as DialError).code).to.equal('SETUP_TIMEOUT');
    expect(c.signal!.aborted).to.equal(true);
  });

  it('abort() fails every waiter with the given reason', async () => {
    const c = controlled<string>();
    const a = new SharedAttempt(c.run, 60_000, timeoutErr, () => {});
    const p = a.join(new AbortController().signal, 'x');
    const why = new DialError('disconnected', 'CANCELLED');
    a.abort(why);
    expect(await p.catch((e: unknown) => e)).to.equal(why);
  });

  it('a result nobody waits for any more goes to onOrphan', async () => {
    let resolveRun: (v: string) => void = () => {};
    // A set-up that ignores its signal and completes anyway.
    const a = new SharedAttempt(
      () => new Promise<string>((r) => (resolveRun = r)),
      60_000,
      timeoutErr,
      (v) => orphans.push(v),
    );
    const orphans: string[] = [];
    const ac = new AbortController();
    const p = a.join(ac.signal, 'x');
    ac.abort();
    await p.catch(() => undefined);
    resolveRun('late session');
    await new Promise((r) => setImmediate(r));
    expect(orphans).to.deep.equal(['late session']);
  });

  it('a waiter joining a settled attempt gets the outcome at once', async () => {
    const c = controlled<string>();
    const a = new SharedAttempt(c.run, 60_000, timeoutErr, () => {});
    const p = a.join(new AbortController().signal, 'x');
    c.resolve('s');
    await p;
    expect(a.settled).to.equal(true);
    expect(await a.join(new AbortController().signal, 'x')).to.equal('s');
  });
});
