// The engine's resource bounds and deadlines on an in-memory tun, with an injected clock: dial,
// lookup and handshake deadlines, dial limits, tuple reuse, the apps-changed and dns-miss hooks,
// DNS in-flight bounds, and a read that returns an empty batch.
import { expect } from 'chai';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createMemoryTunPair } from '../../../systemext/tun/memory';
import type { TunDevice } from '../../../systemext/tun/device';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import { type AppInfo, type AppResolver } from '../../../systemext/vnet/resolver';
import { VNetEngine, type VNetEvents, type VNetOptions } from '../../../systemext/vnet/engine';
import { ST_CLOSING, ST_OPEN, ST_RETIRED } from '../../../systemext/vnet/nat-table';
import { ipToBytes } from '../../../systemext/net/addr';
import { buildIcmp, buildTcp, buildUdp } from '../../../systemext/net/build';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../../systemext/net/packet';
import { FakeKernel, ManualDialer, tcpOf } from './kernel';

const LPORT = 4000;
const isTcp = (p: Buffer): boolean => (p[0] >> 4 === 4 ? p[9] === 6 : p[6] === 6);
const isIcmp = (p: Buffer): boolean => (p[0] >> 4 === 4 ? p[9] === 1 : p[6] === 58);

/** A resolver whose answers the test changes, and which can be made to hang. */
class MutableResolver implements AppResolver {
  apps = new Map<string, AppInfo>();
  hang = false;
  calls = 0;
  zones(): string[] {
    return ['corp.test'];
  }
  resolve(fqdn: string): Promise<AppInfo | null> {
    this.calls++;
    if (this.hang) return new Promise(() => {});
    return Promise.resolve(this.apps.get(fqdn) ?? null);
  }
  add(fqdn: string): void {
    this.apps.set(fqdn, { fqdn, allowedPorts: [], target: { host: '127.0.0.1' }, via: 'direct' });
  }
}

describe('vnet engine: deadlines, bounds and lifecycle (injected clock)', () => {
  let now = 5_000_000;
  let engine: VNetEngine;
  let k: FakeKernel;
  let plan: AddressPlan;
  let dialer: ManualDialer;
  let resolver: MutableResolver;
  const events: Array<{ type: string; e: Record<string, unknown> }> = [];

  afterEach(async () => engine?.stop());

  async function start(extra: Partial<VNetOptions> = {}, tun?: [TunDevice, TunDevice]): Promise<void> {
    const [eng, kern] = tun ?? createMemoryTunPair(1500);
    plan = new AddressPlan({ ipv6Prefix: 'fd00:9:8::/48' });
    dialer = new ManualDialer();
    resolver = new MutableResolver();
    resolver.add('web.corp.test');
    resolver.add('db.corp.test');
    events.length = 0;
    engine = new VNetEngine({
      plan,
      resolver,
      dialer,
      upstreams: [],
      listener: { port: LPORT, bind: false },
      sweepIntervalMs: 0,
      clock: () => now,
      ...extra,
    });
    for (const type of ['refused', 'error', 'connection', 'closed', 'dns-miss'] as const)
      engine.on(type, (e: VNetEvents[typeof type]) => events.push({ type, e: { ...e } }));
    await engine.start(eng);
    k = new FakeKernel(kern);
  }

  const syn = (vip: string, sport: number, dport = 80): Buffer =>
    buildTcp({ src: ipToBytes(plan.tun4), dst: ipToBytes(vip), sport, dport, seq: 1000, flags: TCP_SYN });
  const seg = (vip: string, sport: number, flags: number, dport = 80): Buffer =>
    buildTcp({ src: ipToBytes(plan.tun4), dst: ipToBytes(vip), sport, dport, seq: 1001, ack: 1, flags });

  async function barrier(): Promise<void> {
    k.send(buildIcmp(ipToBytes(plan.tun4), ipToBytes(plan.dns4), 8, 0, 0xbeef0002, Buffer.from('b')));
    await k.next((p) => isIcmp(p) && p.readUInt32BE(24) === 0xbeef0002);
  }

  const codes = (type: string): unknown[] => events.filter((x) => x.type === type).map((x) => x.e.code);

  it('a dial that never answers is aborted at its deadline: RST, entry freed, reason code', async () => {
    await start({ dialTimeoutMs: 15_000 });
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 40000));
    const call = await dialer.nextCall();
    now += 14_999;
    engine.sweep();
    expect(call.signal.aborted).to.equal(false);
    now += 1;
    engine.sweep();
    expect(call.signal.aborted).to.equal(true);
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 40000, flags: TCP_RST | TCP_ACK });
    expect(engine.nat.size).to.equal(0);
    expect(engine.load.dials).to.equal(0);
    expect(codes('error')).to.deep.equal(['dial-timeout']);
    // The dialer answers after all: the stream is closed, nothing reaches the kernel.
    const late = new PassThrough();
    call.resolve(late);
    await once(late, 'close');
    await barrier();
    expect(k.drain().filter(isTcp)).to.deep.equal([]);
  });

  it('a lookup that never answers is bounded the same way (resolve-timeout)', async () => {
    await start({ dialTimeoutMs: 15_000, resolveTimeoutMs: 3_600_000 });
    resolver.hang = true;
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 40001));
    await barrier();
    now += 15_000;
    engine.sweep();
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 40001, flags: TCP_RST | TCP_ACK });
    expect(codes('error')).to.deep.equal(['resolve-timeout']);
    expect(engine.nat.size).to.equal(0);
  });

  it('a dialed flow whose handshake never completes is released at the handshake deadline', async () => {
    await start({ dialTimeoutMs: 15_000, timeWaitMs: 60_000 });
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 40002));
    const up = new PassThrough();
    (await dialer.nextCall()).resolve(up);
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: LPORT, flags: TCP_SYN }); // to the listener
    now += 15_000;
    engine.sweep();
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 40002, flags: TCP_RST | TCP_ACK });
    expect(codes('error')).to.deep.equal(['handshake-timeout']);
    expect(up.destroyed).to.equal(true);
    // The SYN reached the kernel: the fake address:port is held for TIME_WAIT, then freed.
    const [e] = engine.nat.entries();
    expect(engine.nat.state(e)).to.equal(ST_CLOSING);
    now += 60_000;
    engine.sweep();
    expect(engine.nat.size).to.equal(0);
  });

  it('bounds dials in flight, overall and per app, and says why (dial-limit, app-dial-limit)', async () => {
    await start({ maxDials: 3, maxDialsPerApp: 2 });
    const web = plan.assign('web.corp.test').v4;
    const db = plan.assign('db.corp.test').v4;
    k.send([syn(web, 41000), syn(web, 41001), syn(web, 41002)]);
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 41002, flags: TCP_RST | TCP_ACK });
    k.send([syn(db, 41003), syn(db, 41004)]);
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 41004, flags: TCP_RST | TCP_ACK });
    expect(codes('refused')).to.deep.equal(['app-dial-limit', 'dial-limit']);
    expect(engine.stats.refused).to.equal(2);
    expect(engine.load.dials).to.equal(3);
    // A settled dial frees its slot.
    const first = await dialer.nextCall();
    first.reject(new Error('no route'));
    await k.next(isTcp); // its RST
    expect(codes('error')).to.deep.equal(['dial-failed']);
    expect(engine.load.dials).to.equal(2);
    k.send(syn(web, 41005));
    await barrier();
    expect(engine.load.dials).to.equal(3);
  });

  it('a new SYN on a tuple whose old flow ended starts a new flow; the old entry stays held', async () => {
    await start();
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 42000));
    (await dialer.nextCall()).resolve(new PassThrough());
    await k.next(isTcp);
    const [old] = engine.nat.entries();
    expect(engine.nat.state(old)).to.equal(ST_OPEN);
    k.send(seg(vip, 42000, TCP_FIN | TCP_ACK)); // the client closes (fast path marks it)
    await k.next(isTcp);
    k.send(syn(vip, 42000)); // ...and reuses the tuple
    const call = await dialer.nextCall();
    expect(engine.nat.state(old)).to.equal(ST_RETIRED);
    call.resolve(new PassThrough());
    const rewritten = tcpOf(await k.next(isTcp));
    expect(rewritten.flags).to.equal(TCP_SYN);
    expect(`${rewritten.src}:${rewritten.sport}`).to.not.equal(
      `${plan.fake4(engine.nat.fakeIndex(old))}:${engine.nat.natPort(old)}`,
    );
    expect(engine.nat.size).to.equal(2);
  });

  it('a new SYN on a tuple in TIME_WAIT (our sockets closed) starts a new flow', async () => {
    await start();
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 42100));
    (await dialer.nextCall()).resolve(new PassThrough());
    await k.next(isTcp);
    const [old] = engine.nat.entries();
    engine.nat.close(old, 0, 60_000); // as when the flow's sockets close
    expect(engine.nat.state(old)).to.equal(ST_CLOSING);
    k.send(syn(vip, 42100));
    const call = await dialer.nextCall(); // a new dial, not a SYN fed to the old socket
    expect(call.port).to.equal(80);
    expect(engine.nat.state(old)).to.equal(ST_RETIRED);
  });

  it('appsChanged() makes a new configuration answer at once (cached answers forgotten)', async () => {
    await start();
    const q = { type: 'A', name: 'new.corp.test' } as const;
    const rcode = (m: unknown): unknown => (m as { rcode?: string }).rcode;
    expect(rcode((await k.query(plan.tun4, plan.dns4, q)).msg)).to.equal('NXDOMAIN');
    resolver.add('new.corp.test');
    expect(rcode((await k.query(plan.tun4, plan.dns4, q)).msg)).to.equal('NXDOMAIN'); // cached (5 s)
    engine.appsChanged();
    const { msg } = await k.query(plan.tun4, plan.dns4, q);
    expect(rcode(msg)).to.equal('NOERROR');
    expect((msg.answers![0] as { data: string }).data).to.equal(plan.assign('new.corp.test').v4);
  });

  it("emits 'dns-miss' for a name in a zone that is no app, once per name per interval", async () => {
    await start({ dnsMissIntervalMs: 60_000 });
    const ask = (name: string, type: 'A' | 'AAAA' | 'TXT' = 'A') =>
      k.query(plan.tun4, plan.dns4, { type, name });
    await ask('nope.corp.test');
    await ask('nope.corp.test', 'AAAA');
    now += 10_000; // past the resolver cache, within the interval
    await ask('nope.corp.test');
    await ask('other.corp.test');
    await ask('web.corp.test'); // an app: no miss
    await ask('www.example.org'); // outside the zones: no miss
    await ask('_ldap.corp.test', 'TXT'); // service discovery noise: no miss
    const misses = () => events.filter((x) => x.type === 'dns-miss').map((x) => x.e.fqdn);
    expect(misses()).to.deep.equal(['nope.corp.test', 'other.corp.test']);
    now += 60_000;
    await ask('nope.corp.test');
    expect(misses()).to.deep.equal(['nope.corp.test', 'other.corp.test', 'nope.corp.test']);
  });

  it('bounds DNS queries in flight: over the bound UDP queries are dropped and counted', async () => {
    await start({ maxDnsInflight: 2 });
    resolver.hang = true; // queries for names in the zone wait for the (hanging) agent
    const pending = [1, 2, 3].map((i) =>
      k.query(plan.tun4, plan.dns4, { type: 'A', name: `h${i}.corp.test` }).catch(() => null),
    );
    await barrier();
    expect(engine.load.dnsQueries).to.equal(2);
    expect(engine.stats.dnsRefused).to.equal(1);
    await k.tun.close(); // the hung ones end with the tun
    await Promise.all(pending);
  });

  // Regression: the engine took an empty batch from read() for "device closed" and left its read
  // loop for good. Closing is explicit now (TunClosedError); an empty batch is just read again.
  it('keeps running when a read returns an empty batch', async () => {
    const [eng, kern] = createMemoryTunPair(1500);
    let first = true;
    const read = eng.read.bind(eng);
    eng.read = () => {
      if (first) {
        first = false;
        return Promise.resolve([]);
      }
      return read();
    };
    await start({}, [eng, kern]);
    await barrier(); // answered: the loop is alive
    expect(codes('error')).to.deep.equal([]);
  });

  it("reports a device closed under it as an error ('tun-closed'), not silently", async () => {
    const pair = createMemoryTunPair(1500);
    await start({}, pair);
    await pair[0].close();
    await new Promise((r) => setImmediate(r));
    expect(codes('error')).to.deep.equal(['tun-closed']);
  });

  it('rate-limits ICMP port unreachable (1000/s, burst 50): a UDP flood gets no answer per datagram', async () => {
    await start();
    const vip = plan.assign('web.corp.test').v4;
    const udp = (i: number) =>
      buildUdp({
        src: ipToBytes(plan.tun4),
        dst: ipToBytes(vip),
        sport: 5000 + i,
        dport: 9,
        payload: Buffer.from('x'),
      });
    k.send(Array.from({ length: 60 }, (_, i) => udp(i)));
    await barrier();
    const icmp = k.drain().filter(isIcmp);
    expect(icmp).to.have.length(50);
    expect(engine.stats.icmpLimited).to.equal(10);
    now += 10; // 10 ms: 10 more tokens
    k.send(Array.from({ length: 20 }, (_, i) => udp(100 + i)));
    await barrier();
    expect(k.drain().filter(isIcmp)).to.have.length(10);
  });

  it('a client RST while dialing aborts the dial and frees the entry at once', async () => {
    await start();
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 43000));
    const call = await dialer.nextCall();
    k.send(seg(vip, 43000, TCP_RST));
    await barrier();
    expect(call.signal.aborted).to.equal(true);
    expect(engine.nat.size).to.equal(0);
    expect(engine.load.dials).to.equal(0);
  });
});
