// RpcPeer over a real Unix socket pair: validation both ways, deadlines, cancellation both ways,
// the in-flight bound, close with requests pending, and liveness. Interleavings are forced with
// promises the test controls, never with sleeps.
import { expect } from 'chai';
import type { Socket } from 'node:net';
import { ErrorCodes } from '../../../ipc/messages';
import { RpcError, RpcPeer } from '../../../ipc/rpc';
import { socketPair } from './socket-pair';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('RpcPeer', () => {
  let a: RpcPeer;
  let b: RpcPeer;
  let rawB: Socket;
  let cleanup: () => void;

  beforeEach(async () => {
    const p = await socketPair();
    cleanup = p.cleanup;
    rawB = p.b;
    a = new RpcPeer(p.a, { peerName: 'a-side', maxInFlight: 2 });
    b = new RpcPeer(p.b, { peerName: 'b-side' });
  });
  afterEach(() => {
    a.close('test over');
    b.close('test over');
    cleanup();
  });

  it('answers a request with a validated result', async () => {
    a.handle('app/resolve', async (p) => ({
      app: {
        fqdn: p.fqdn,
        target: { host: '10.0.0.1', port: 80 },
        allowedPorts: [80, [8000, 8100]],
        via: 'direct',
      },
    }));
    const r = await b.request('app/resolve', { fqdn: 'x.corp.test' });
    expect(r.app?.allowedPorts).to.deep.equal([80, [8000, 8100]]);
  });

  it('refuses invalid params with a clear error, and keeps serving', async () => {
    a.handle('app/resolve', async () => ({ app: null }));
    const err = await b.request('app/resolve', { fqdn: 42 } as never).catch((e: RpcError) => e);
    expect(err).to.be.instanceOf(RpcError);
    expect((err as RpcError).reason).to.equal('invalid-params');
    expect((err as RpcError).message).to.match(/invalid app\/resolve params: fqdn/);
    expect(await b.request('app/resolve', { fqdn: 'ok.corp.test' })).to.deep.equal({ app: null });
  });

  it('refuses an invalid answer from the peer (the caller gets an error, not the bad data)', async () => {
    a.handle('app/resolve', async () => ({ app: { fqdn: 'x', target: 'nope' } }) as never);
    const err = await b.request('app/resolve', { fqdn: 'x.corp.test' }).catch((e: RpcError) => e);
    expect((err as RpcError).reason).to.equal('invalid-result');
  });

  it('a request not answered by its deadline fails with reason timeout, and the handler is cancelled', async () => {
    let handlerSignal: AbortSignal | null = null;
    const aborted = new Promise<void>((resolve) => {
      a.handle('key/sign', (_p, signal) => {
        handlerSignal = signal;
        signal.addEventListener('abort', () => resolve());
        return new Promise(() => {}); // never answers
      });
    });
    const params = { publicKey: 'k', data: '', purpose: { bastion: 'b', host: 'h', user: 'u' } };
    const err = await b.request('key/sign', params, { timeoutMs: 50 }).catch((e: RpcError) => e);
    expect((err as RpcError).reason).to.equal('timeout');
    await aborted; // the other side heard the cancellation
    expect(handlerSignal!.aborted).to.equal(true);
  });

  it('aborting the caller’s signal cancels at once, on both sides', async () => {
    const started = deferred();
    const aborted = deferred();
    a.handle('key/sign', (_p, signal) => {
      started.resolve();
      signal.addEventListener('abort', () => aborted.resolve());
      return new Promise(() => {});
    });
    const ac = new AbortController();
    const params = { publicKey: 'k', data: '', purpose: { bastion: 'b', host: 'h', user: 'u' } };
    const p = b.request('key/sign', params, { signal: ac.signal, timeoutMs: 60_000 });
    await started.promise;
    ac.abort();
    const err = await p.catch((e: RpcError) => e);
    expect((err as RpcError).reason).to.equal('cancelled');
    await aborted.promise;
  });

  it('at most maxInFlight requests are handled at once; the next one gets Busy', async () => {
    const release = deferred();
    let running = 0;
    b.handle('app/resolve', async () => ({ app: null })); // unused side
    a.handle('bastion/get', async () => {
      running++;
      await release.promise;
      return { bastion: null };
    });
    const p1 = b.request('bastion/get', { name: 'one' });
    const p2 = b.request('bastion/get', { name: 'two' });
    // Wait until both are inside the handler, then send a third.
    while (running < 2) await new Promise((r) => setImmediate(r));
    const err = await b.request('bastion/get', { name: 'three' }).catch((e: RpcError) => e);
    expect((err as RpcError).code).to.equal(ErrorCodes.Busy);
    release.resolve();
    expect(await p1).to.deep.equal({ bastion: null });
    expect(await p2).to.deep.equal({ bastion: null });
  });

  it('closing fails every pending request at once (no wait for a deadline)', async () => {
    a.handle('bastion/get', () => new Promise(() => {}));
    const p = b.request('bastion/get', { name: 'x' }, { timeoutMs: 60_000 });
    const closed = new Promise<string>((resolve) => b.once('close', resolve));
    a.close('going away');
    const err = await p.catch((e: RpcError) => e);
    expect((err as RpcError).reason).to.equal('disconnected');
    expect(await closed).to.match(/closed|EPIPE|ECONNRESET/);
    const later = await b.request('bastion/get', { name: 'y' }).catch((e: RpcError) => e);
    expect((later as RpcError).message).to.match(/not connected/);
  });

  it('a frame over the size limit closes the connection with a protocol error', async () => {
    const closed = new Promise<string>((resolve) => a.once('close', resolve));
    rawB.write(`Content-Length: ${2 << 20}\r\n\r\n`);
    expect(await closed).to.match(/protocol error: frame of \d+ bytes is over the limit/);
  });

  it('invalid JSON closes the connection with a protocol error', async () => {
    const closed = new Promise<string>((resolve) => a.once('close', resolve));
    rawB.write('Content-Length: 5\r\n\r\n{{{{{');
    expect(await closed).to.match(/protocol error/);
  });

  it('liveness: a peer that stops answering pings is closed', async () => {
    // Stop b from answering anything by pausing its socket: bytes pile up unread, pings go unanswered.
    rawB.pause();
    const closed = new Promise<string>((resolve) => a.once('close', resolve));
    a.startLiveness(20, 60);
    expect(await closed).to.match(/peer not answering/);
  });

  it('an invalid notification is dropped and the connection stays', async () => {
    const got: unknown[] = [];
    const second = new Promise<void>((resolve) =>
      a.onNotification('event', (ev) => {
        got.push(ev);
        resolve();
      }),
    );
    b.notify('event', { type: 'nonsense' } as never);
    b.notify('event', { type: 'dns-miss', fqdn: 'x.corp.test', at: 1 });
    await second;
    expect(got).to.deep.equal([{ type: 'dns-miss', fqdn: 'x.corp.test', at: 1 }]);
    expect(a.closed).to.equal(false);
  });
});
