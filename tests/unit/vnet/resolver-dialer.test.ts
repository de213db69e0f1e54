// The resolver cache (coalescing, expiry, failures not cached) and the direct dialer.
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  CachingResolver,
  inZones,
  portAllowed,
  StaticResolver,
  type AppInfo,
  type AppResolver,
} from '../../../systemext/vnet/resolver';
import { DialError, DirectDialer } from '../../../systemext/vnet/dialer';

const app = (target: AppInfo['target'], allowedPorts: AppInfo['allowedPorts'] = []): AppInfo => ({
  fqdn: 'x.corp.test',
  allowedPorts,
  target,
  via: 'direct',
});

describe('vnet resolver', () => {
  it('matches zones by label, not by substring', () => {
    expect(inZones('a.corp.test', ['corp.test'])).to.equal(true);
    expect(inZones('CORP.TEST.', ['corp.test'])).to.equal(true);
    expect(inZones('evilcorp.test', ['corp.test'])).to.equal(false);
  });

  it('checks ports and ranges; an empty list allows all', () => {
    expect(portAllowed(app({ host: 'h' }), 1)).to.equal(true);
    const a = app({ host: 'h' }, [22, [8000, 8080]]);
    expect([22, 8000, 8080, 8081, 23].map((p) => portAllowed(a, p))).to.deep.equal([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('coalesces concurrent lookups, caches for the TTL, and does not cache failures', async () => {
    let calls = 0;
    let fail = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const inner: AppResolver = {
      zones: () => ['corp.test'],
      resolve: async (fqdn) => {
        calls++;
        await gate;
        if (fail) throw new Error('agent unreachable');
        return fqdn === 'x.corp.test' ? app({ host: 'h' }) : null;
      },
    };
    let now = 0;
    const c = new CachingResolver(inner, 1000, () => now);
    const all = Promise.all([c.resolve('x.corp.test'), c.resolve('X.corp.test.'), c.resolve('x.corp.test')]);
    release();
    const got = await all;
    expect(calls).to.equal(1);
    expect(got.every((g) => g?.fqdn === 'x.corp.test')).to.equal(true);
    await c.resolve('x.corp.test');
    expect(calls).to.equal(1);
    now = 1000;
    fail = true;
    await c.resolve('x.corp.test').then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.match(/unreachable/),
    );
    fail = false;
    expect((await c.resolve('x.corp.test'))?.fqdn).to.equal('x.corp.test');
    expect(calls).to.equal(3);
  });

  it('StaticResolver normalizes names and defaults via/allowedPorts', async () => {
    const r = new StaticResolver(
      ['corp.test'],
      [{ fqdn: 'A.Corp.Test.', target: { host: '10.0.0.1', port: 80 } }],
    );
    expect(await r.resolve('a.corp.test')).to.deep.equal({
      fqdn: 'a.corp.test',
      allowedPorts: [],
      target: { host: '10.0.0.1', port: 80 },
      via: 'direct',
    });
    expect(await r.resolve('b.corp.test')).to.equal(null);
  });
});

describe('vnet direct dialer', () => {
  it('connects to target host and fixed port, else the client port', async () => {
    const srv = createServer((s) => {
      s.on('error', () => {});
      s.end('hi');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const d = new DirectDialer(5000);
      const s1: Duplex = await d.dial(app({ host: '127.0.0.1', port }), 1, new AbortController().signal);
      s1.on('error', () => {});
      const [data] = await once(s1, 'data');
      expect(String(data)).to.equal('hi');
      s1.destroy();
      const s2 = await d.dial(app({ host: '127.0.0.1' }), port, new AbortController().signal);
      s2.on('error', () => {});
      s2.destroy();
    } finally {
      srv.close();
    }
  });

  it('rejects with a DialError on refusal and on abort', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const d = new DirectDialer(5000);
    const err = await d
      .dial(app({ host: '127.0.0.1', port }), 1, new AbortController().signal)
      .catch((e: DialError) => e);
    expect(err).to.be.instanceOf(DialError);
    expect((err as DialError).code).to.equal('ECONNREFUSED');
    const ac = new AbortController();
    ac.abort();
    const aborted = await d.dial(app({ host: '127.0.0.1', port }), 1, ac.signal).catch((e: DialError) => e);
    expect((aborted as DialError).code).to.equal('ABORTED');
  });
});
