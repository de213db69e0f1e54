// The relay worker's contract, with its messages forced into every order that matters: the engine
// against a stand-in endpoint (dial results racing a client's RST, deadlines and late messages, the
// worker dying with flows in each phase), and RelayCore (the worker's logic) in process on real
// loopback sockets (abort before connect, after connect, after accept; strangers on the listener).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import type { TunDevice } from '../../../systemext/tun/device';
import { createMemoryTunPair } from '../../../systemext/tun/memory';
import { bytesToIp, ipToBytes } from '../../../systemext/net/addr';
import { buildIcmp, buildTcp } from '../../../systemext/net/build';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../../systemext/net/packet';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import type { RelayTarget } from '../../../systemext/vnet/dialer';
import { VNetEngine, type VNetEvents } from '../../../systemext/vnet/engine';
import { createFastPath, REPLY } from '../../../systemext/vnet/fast-path';
import { NatView } from '../../../systemext/vnet/nat-view';
import {
  createNatInit,
  natInitForPlan,
  NatTable,
  ST_CLOSING,
  ST_OPEN,
} from '../../../systemext/vnet/nat-table';
import { Relay, type RelayEndpoint } from '../../../systemext/vnet/relay';
import { RelayCore } from '../../../systemext/vnet/relay-core';
import {
  relayShared,
  type FromRelay,
  type RelayWorkerData,
  type ToRelay,
} from '../../../systemext/vnet/relay-protocol';
import { StaticResolver, type AppInfo } from '../../../systemext/vnet/resolver';
import { claim } from '../../../systemext/vnet/syn-offer';
import { clientSyn, FakeKernel, ManualDialer, tcpOf, until } from './kernel';

const LPORT = 4000;
const RPORT4 = 4100;
const isTcp = (p: Buffer): boolean => p[0] >> 4 === 4 && p[9] === 6;
const isIcmp = (p: Buffer): boolean => p[0] >> 4 === 4 && p[9] === 1;

/** The relay worker's stand-in: records what the engine posts; the test answers when it chooses. */
class FakeRelay implements RelayEndpoint {
  posted: ToRelay[] = [];
  data!: RelayWorkerData;
  private toEngine: (m: FromRelay) => void = () => {};
  private exit: (why: string) => void = () => {};
  terminated = false;
  /** Answer 'listen' with a failure (e.g. no such address). */
  failListen = false;
  post(m: ToRelay): void {
    this.posted.push(m);
    if (m.t === 'listen' && this.failListen)
      queueMicrotask(() => this.send({ t: 'listen-failed', family: m.family, message: 'EADDRNOTAVAIL' }));
    else if (m.t === 'listen')
      queueMicrotask(() => this.send({ t: 'listening', family: m.family, port: RPORT4, fd: -1 }));
  }
  onMessage(cb: (m: FromRelay) => void): void {
    this.toEngine = cb;
  }
  onExit(cb: (why: string) => void): void {
    this.exit = cb;
  }
  terminate(): Promise<void> {
    this.terminated = true;
    return Promise.resolve();
  }
  send(m: FromRelay): void {
    this.toEngine(m);
  }
  die(why: string): void {
    this.exit(why);
  }
  of(t: ToRelay['t']): ToRelay[] {
    return this.posted.filter((m) => m.t === t);
  }
}

/** A direct dialer whose plain-TCP target the relay dials; dial() is only called without a relay. */
class RelayableDialer extends ManualDialer {
  relayTarget(app: AppInfo, port: number): RelayTarget {
    return { host: app.target.host, port, timeoutMs: 1000 };
  }
}

describe('vnet relay worker: the engine side, messages in forced orders', () => {
  let now = 1_000_000;
  let engine: VNetEngine;
  let k: FakeKernel;
  let plan: AddressPlan;
  let relay: FakeRelay;
  let dialer: RelayableDialer;
  const events: Array<{ type: string; e: Record<string, unknown> }> = [];

  afterEach(async () => engine?.stop());

  /** The engine's side of the tun pair: the worker's stand-in writes its SYNs here. */
  let engTun: TunDevice;

  async function start(failListen = false, writesSyn = false): Promise<void> {
    const [eng, kern] = createMemoryTunPair(1500);
    engTun = eng;
    // The real worker gets the tun's fd; the stand-in writes through the engine's side of the pair.
    if (writesSyn) eng.sharedWriter = () => ({ fd: -1, framing: 'none' });
    plan = new AddressPlan({ ipv6Prefix: 'fd00:9:7::/48' });
    relay = new FakeRelay();
    relay.failListen = failListen;
    dialer = new RelayableDialer();
    events.length = 0;
    engine = new VNetEngine({
      plan,
      resolver: new StaticResolver(['corp.test'], [{ fqdn: 'web.corp.test', target: { host: '127.0.0.1' } }]),
      dialer,
      upstreams: [],
      ipv6: false,
      listener: { port: LPORT, bind: false },
      relay: true,
      relayEndpoint: (data) => {
        relay.data = data;
        return relay;
      },
      sweepIntervalMs: 0,
      dialTimeoutMs: 15_000,
      timeWaitMs: 60_000,
      clock: () => now,
    });
    for (const type of ['refused', 'error', 'connection', 'closed'] as const)
      engine.on(type, (e: VNetEvents[typeof type]) => events.push({ type, e: { ...e } }));
    await engine.start(eng);
    k = new FakeKernel(kern);
  }

  const vip = (): string => plan.assign('web.corp.test').v4;
  const syn = (sport: number): Buffer =>
    buildTcp({
      src: ipToBytes(plan.tun4),
      dst: ipToBytes(vip()),
      sport,
      dport: 80,
      seq: 1000,
      flags: TCP_SYN,
    });
  const rst = (sport: number): Buffer =>
    buildTcp({
      src: ipToBytes(plan.tun4),
      dst: ipToBytes(vip()),
      sport,
      dport: 80,
      seq: 1001,
      flags: TCP_RST,
    });
  const types = (): string[] => events.map((x) => `${x.type}${x.e.code ? `:${x.e.code as string}` : ''}`);

  /** Waits until the engine has handled everything sent so far (an echo is answered in order). */
  async function barrier(): Promise<void> {
    k.send(buildIcmp(ipToBytes(plan.tun4), ipToBytes(plan.dns4), 8, 0, 0xbeef0003, Buffer.from('b')));
    await k.next((p) => isIcmp(p) && p.readUInt32BE(24) === 0xbeef0003);
  }

  async function nextDial(): Promise<Extract<ToRelay, { t: 'dial' }>> {
    for (let i = 0; i < 100 && relay.of('dial').length === 0; i++) await barrier();
    const m = relay.posted.find((x) => x.t === 'dial') as Extract<ToRelay, { t: 'dial' }>;
    relay.posted.splice(relay.posted.indexOf(m), 1);
    return m;
  }

  /** What the worker does when it accepts a flow's connection: marks it in shared memory. */
  const accept = (d: { entry: number; id: number }): void => {
    Atomics.store(new Int32Array(relay.data.accepted), d.entry, d.id);
  };

  /** A flow through SYN -> dial -> dialed -> SYN to the relay's listener -> accepted. */
  async function openFlow(sport: number): Promise<Extract<ToRelay, { t: 'dial' }>> {
    k.send(syn(sport));
    const d = await nextDial();
    relay.send({ t: 'dialed', id: d.id });
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: RPORT4, flags: TCP_SYN });
    accept(d);
    return d;
  }

  it('dials in the worker and rewrites the SYN to its listener; replies from it reach the client', async () => {
    await start();
    expect(relay.of('listen')).to.deep.equal([{ t: 'listen', host: plan.tun4, family: 4 }]);
    expect(engine.nat.relayPorts).to.deep.equal({ v4: RPORT4, v6: 0 });
    k.send(syn(43000));
    const d = await nextDial();
    expect(d).to.include({ host: '127.0.0.1', port: 80, timeoutMs: 1000 });
    expect(dialer.calls).to.have.length(0); // not dialed on the main thread
    await barrier();
    expect(k.drain().filter(isTcp)).to.deep.equal([]); // dial before accept: nothing yet
    relay.send({ t: 'dialed', id: d.id });
    const toListener = tcpOf(await k.next(isTcp));
    expect(toListener).to.include({ dst: plan.tun4, dport: RPORT4, flags: TCP_SYN });
    expect(engine.nat.listenerPort(d.entry)).to.equal(RPORT4);
    // The worker's listener answers: the SYN-ACK is rewritten back to the client.
    k.send(
      buildTcp({
        src: ipToBytes(plan.tun4),
        dst: ipToBytes(toListener.src),
        sport: RPORT4,
        dport: toListener.sport,
        seq: 5000,
        ack: 1001,
        flags: TCP_SYN | TCP_ACK,
      }),
    );
    expect(tcpOf(await k.next(isTcp))).to.include({
      src: vip(),
      sport: 80,
      dport: 43000,
      flags: TCP_SYN | TCP_ACK,
    });
    // The engine's own listener port is no business of this flow's: such a reply is not translated.
    k.send(
      buildTcp({
        src: ipToBytes(plan.tun4),
        dst: ipToBytes(toListener.src),
        sport: LPORT,
        dport: toListener.sport,
        seq: 5000,
        ack: 1001,
        flags: TCP_ACK,
      }),
    );
    await barrier();
    expect(k.drain().filter((p) => isTcp(p) && tcpOf(p).dport === 43000)).to.deep.equal([]);
    expect(engine.openConnections()).to.deep.equal([]); // not accepted yet
    accept(d);
    // Live bytes come from the worker's counters, without a message.
    const bytes = new Float64Array(relay.data.bytes);
    bytes[2 * d.entry] = 123;
    bytes[2 * d.entry + 1] = 4567;
    expect(engine.openConnections()).to.have.length(1);
    expect(engine.openConnections()[0]).to.deep.include({
      id: d.id,
      fqdn: 'web.corp.test',
      port: 80,
      via: 'direct',
      bytesFromClient: 123,
      bytesToClient: 4567,
    });
    relay.send({ t: 'closed', id: d.id, fromClient: 200, toClient: 5000 });
    expect(engine.nat.state(d.entry)).to.equal(ST_CLOSING); // held for TIME_WAIT
    expect(events.find((x) => x.type === 'closed')?.e).to.deep.include({
      bytesFromClient: 200,
      bytesToClient: 5000,
      id: d.id,
    });
    expect(engine.openConnections()).to.deep.equal([]);
    expect(engine.load.flows).to.equal(0);
  });

  it("a client's RST while the worker dials: abort posted; the dial result that crossed it is ignored", async () => {
    await start();
    k.send(syn(43001));
    const d = await nextDial();
    k.send(rst(43001));
    await barrier();
    expect(relay.of('abort')).to.deep.equal([{ t: 'abort', id: d.id }]);
    expect(engine.nat.size).to.equal(0);
    expect(engine.load.dials).to.equal(0);
    relay.send({ t: 'dialed', id: d.id }); // the worker connected before it saw the abort
    accept(d); // and nothing it does for the id counts any more
    relay.send({ t: 'closed', id: d.id, fromClient: 1, toClient: 1 });
    await barrier();
    expect(k.drain().filter(isTcp)).to.deep.equal([]); // no SYN reached the kernel
    expect(types()).to.deep.equal([]);
    expect(engine.load.flows).to.equal(0);
  });

  it('a failed dial in the worker resets the client and frees the entry (dial-failed)', async () => {
    await start();
    k.send(syn(43002));
    const d = await nextDial();
    relay.send({ t: 'dialed', id: d.id, error: 'connect to 127.0.0.1:80: refused', code: 'ECONNREFUSED' });
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 43002, flags: TCP_RST | TCP_ACK });
    expect(types()).to.deep.equal(['error:dial-failed']);
    expect(engine.nat.size).to.equal(0);
    expect(relay.of('abort')).to.deep.equal([]);
  });

  it('the handshake deadline aborts the flow in the worker; a late accept and close are ignored', async () => {
    await start();
    k.send(syn(43003));
    const d = await nextDial();
    relay.send({ t: 'dialed', id: d.id });
    await k.next(isTcp); // the SYN to the worker's listener
    now += 15_000;
    engine.sweep();
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 43003, flags: TCP_RST | TCP_ACK });
    expect(relay.of('abort')).to.deep.equal([{ t: 'abort', id: d.id }]);
    accept(d);
    relay.send({ t: 'closed', id: d.id, fromClient: 0, toClient: 0 });
    now += 15_000;
    engine.sweep();
    expect(types()).to.deep.equal(['connection', 'error:handshake-timeout']);
    expect(engine.nat.state(d.entry)).to.equal(ST_CLOSING);
  });

  it('an accept the worker marked just before the handshake deadline keeps the flow (no message needed)', async () => {
    await start();
    k.send(syn(43005));
    const d = await nextDial();
    relay.send({ t: 'dialed', id: d.id });
    await k.next(isTcp);
    accept(d);
    now += 15_000;
    engine.sweep();
    expect(types()).to.deep.equal(['connection']);
    expect(relay.of('abort')).to.deep.equal([]);
    expect(engine.openConnections().map((f) => f.id)).to.deep.equal([d.id]);
    // A mark left on the entry by an earlier flow (another id) does not count.
    k.send(syn(43006));
    const d2 = await nextDial();
    relay.send({ t: 'dialed', id: d2.id });
    await k.next(isTcp);
    accept({ entry: d2.entry, id: d2.id + 1000 });
    now += 15_000;
    engine.sweep();
    expect(types()).to.deep.equal(['connection', 'connection', 'error:handshake-timeout']);
  });

  it('an idle piped flow released by the sweep is aborted in the worker and reported closed once', async () => {
    await start();
    const d = await openFlow(43004);
    new Float64Array(relay.data.bytes)[2 * d.entry] = 77;
    now += 7_200_000;
    engine.sweep();
    expect(relay.of('abort')).to.deep.equal([{ t: 'abort', id: d.id }]);
    relay.send({ t: 'closed', id: d.id, fromClient: 99, toClient: 0 }); // crossed the abort: ignored
    const closed = events.filter((x) => x.type === 'closed');
    expect(closed).to.have.length(1);
    expect(closed[0].e).to.include({ bytesFromClient: 77, id: d.id });
  });

  it('the worker dying: flows in each phase end and say so, and new flows are piped on the main thread', async () => {
    await start();
    const piped = await openFlow(43010);
    k.send(syn(43011));
    const handshake = await nextDial();
    relay.send({ t: 'dialed', id: handshake.id });
    await k.next(isTcp);
    k.send(syn(43012));
    const dialing = await nextDial();
    events.length = 0;
    relay.die('relay worker exited (1)');
    await barrier();
    const rsts = k
      .drain()
      .filter((p) => isTcp(p) && tcpOf(p).flags === (TCP_RST | TCP_ACK))
      .map((p) => tcpOf(p).dport);
    expect(rsts.sort()).to.deep.equal([43011, 43012]);
    expect(types().sort()).to.deep.equal(
      ['closed', 'error:flow-error', 'error:flow-error', 'error:dial-failed', 'error:internal'].sort(),
    );
    expect(events.find((x) => x.type === 'closed')?.e.id).to.equal(piped.id);
    expect(engine.load.flows).to.equal(0);
    expect(dialing.id).to.be.a('number');
    // From now on: dialed and piped here, to the engine's own listener.
    k.send(syn(43013));
    const call = await dialer.nextCall();
    call.resolve(new PassThrough());
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: LPORT, flags: TCP_SYN });
    const [e] = engine.nat.entries().filter((i) => engine.nat.state(i) === ST_OPEN);
    expect(engine.nat.listenerPort(e)).to.equal(0);
  });

  it('a relay that cannot listen is stopped, said so, and flows are piped on the main thread', async () => {
    await start(true);
    expect(relay.terminated).to.equal(true);
    expect(types()).to.deep.equal(['error:listener']);
    expect(engine.nat.relayPorts).to.deep.equal({ v4: 0, v6: 0 });
    k.send(syn(43020));
    (await dialer.nextCall()).resolve(new PassThrough());
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: LPORT, flags: TCP_SYN });
  });

  /** What the worker does on connect when the SYN was offered (RelayCore's claim path). */
  const workerClaims = (d: Extract<ToRelay, { t: 'dial' }>): boolean => {
    const nat = new NatView(relay.data.nat);
    if (!claim(new Int32Array(relay.data.offers), nat, d.entry, d.id)) return false;
    const synPkt = Buffer.from(d.syn!);
    expect(createFastPath(relay.data.nat)(synPkt)).to.equal(REPLY);
    engTun.write(synPkt);
    return true;
  };

  it('the worker writes the SYN itself on connect; the main thread then writes no second one', async () => {
    await start(false, true);
    k.send(syn(43030));
    const d = await nextDial();
    expect(d.syn).to.not.equal(undefined); // offered
    expect(workerClaims(d)).to.equal(true);
    expect(engine.nat.state(d.entry)).to.equal(ST_OPEN);
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: RPORT4, flags: TCP_SYN });
    relay.send({ t: 'dialed', id: d.id, opened: true });
    await barrier();
    expect(k.drain().filter(isTcp)).to.deep.equal([]);
    expect(types()).to.deep.equal(['connection']);
    expect(engine.stats.relaySyns).to.equal(1);
    accept(d);
    relay.send({ t: 'closed', id: d.id, fromClient: 1, toClient: 2 });
    expect(engine.nat.state(d.entry)).to.equal(ST_CLOSING);
  });

  it("a client's RST after the worker wrote the SYN, before its 'dialed', goes to the listener as on any open flow", async () => {
    await start(false, true);
    k.send(syn(43031));
    const d = await nextDial();
    expect(workerClaims(d)).to.equal(true); // the SYN went to the kernel
    await k.next(isTcp);
    k.send(rst(43031));
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: RPORT4, flags: TCP_RST });
    relay.send({ t: 'dialed', id: d.id, opened: true });
    await barrier();
    expect(types()).to.deep.equal(['connection']);
    // The listener's side was reset, so the worker never accepts: the handshake deadline ends the
    // flow, and the entry, having reached the kernel, is held for TIME_WAIT.
    now += 15_000;
    engine.sweep();
    expect(types()).to.deep.equal(['connection', 'error:handshake-timeout']);
    expect(relay.of('abort')).to.deep.equal([{ t: 'abort', id: d.id }]);
    expect(engine.nat.state(d.entry)).to.equal(ST_CLOSING);
  });

  it("a client's RST before the worker connects: the offer is withdrawn, the worker writes nothing, the entry is freed", async () => {
    await start(false, true);
    k.send(syn(43032));
    const d = await nextDial();
    k.send(rst(43032));
    await barrier();
    expect(engine.nat.size).to.equal(0);
    expect(workerClaims(d)).to.equal(false); // its connect came too late
    await barrier();
    expect(k.drain().filter(isTcp)).to.deep.equal([]);
    expect(engine.nat.size).to.equal(0);
  });

  it('the dial deadline after the worker took the offer: the client is reset and the entry held', async () => {
    await start(false, true);
    k.send(syn(43033));
    const d = await nextDial();
    expect(workerClaims(d)).to.equal(true);
    await k.next(isTcp);
    now += 15_000;
    engine.sweep(); // 'dialed' never came
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 43033, flags: TCP_RST | TCP_ACK });
    expect(types()).to.deep.equal(['error:dial-timeout']);
    expect(relay.of('abort')).to.deep.equal([{ t: 'abort', id: d.id }]);
    // Freeing the entry at once could hand its fake address:port to a new flow while the kernel
    // still has the listener's connection from it: held for TIME_WAIT instead.
    expect(engine.nat.state(d.entry)).to.equal(ST_CLOSING);
    relay.send({ t: 'dialed', id: d.id, opened: true }); // crossed the abort: ignored
    await barrier();
    expect(types()).to.deep.equal(['error:dial-timeout']);
    expect(engine.stats.relaySyns).to.equal(0);
  });

  it('stop() terminates the worker', async () => {
    await start();
    await engine.stop();
    expect(relay.terminated).to.equal(true);
  });
});

describe('vnet relay worker: RelayCore on real loopback sockets', () => {
  let server: Server;
  let serverPort: number;
  const serverSockets: Socket[] = [];
  let core: RelayCore;
  let posted: FromRelay[];
  let nat: NatTable;
  let plan: AddressPlan;
  let bytes: Float64Array;
  let accepted: Int32Array;

  beforeEach(async () => {
    server = createServer({ allowHalfOpen: true }, (s) => {
      serverSockets.push(s);
      s.on('error', () => {});
      s.pipe(s); // echo
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    serverPort = (server.address() as { port: number }).port;
    plan = new AddressPlan({ ipv6Prefix: 'fd00:9:6::/48' });
    const init = natInitForPlan(plan, 64);
    nat = new NatTable(init);
    const data: RelayWorkerData = { nat: init, ...relayShared(64) };
    bytes = new Float64Array(data.bytes);
    accepted = new Int32Array(data.accepted);
    posted = [];
    core = new RelayCore(data, (m) => posted.push(m));
  });

  afterEach(async () => {
    core.stop();
    serverSockets.splice(0).forEach((s) => s.destroy());
    await new Promise<void>((r) => server.close(() => r()));
  });

  const entry = (cport: number): number => nat.allocate(clientSyn(cport), 12, 16, 4, cport, 80);
  const fakeOf = (e: number): [string, number] => [plan.fake4(nat.fakeIndex(e)), nat.natPort(e)];
  /** A duplex pair standing for the accepted socket: `client` is the far end. */
  function socketPair(): Promise<{ ours: Socket; theirs: Socket; close: () => void }> {
    return new Promise((resolve) => {
      const srv = createServer((ours) => resolve({ ours, theirs, close: () => srv.close() }));
      let theirs: Socket;
      srv.listen(0, '127.0.0.1', () => {
        theirs = connect((srv.address() as { port: number }).port, '127.0.0.1');
        theirs.on('error', () => {});
      });
    });
  }

  it('dial, accept by fake address, pipe both ways with live counters, closed with totals', async () => {
    const e = entry(50000);
    core.handle({
      t: 'dial',
      id: 7,
      entry: e,
      family: 4,
      host: '127.0.0.1',
      port: serverPort,
      timeoutMs: 5000,
    });
    await until(() => posted.length > 0);
    expect(posted).to.deep.equal([{ t: 'dialed', id: 7 }]);
    const { ours, theirs, close } = await socketPair();
    const [addr, port] = fakeOf(e);
    core.accepted(ours, addr, port);
    expect(posted).to.have.length(1); // the accept is marked in shared memory, not posted
    expect(accepted[e]).to.equal(7);
    theirs.write('hello');
    const echoed = (await once(theirs, 'data')) as [Buffer];
    expect(echoed[0].toString()).to.equal('hello');
    expect(bytes[2 * e]).to.equal(5);
    expect(bytes[2 * e + 1]).to.equal(5);
    theirs.end();
    await until(() => posted.length === 2);
    expect(posted[1]).to.deep.include({ t: 'closed', id: 7, fromClient: 5, toClient: 5 });
    expect(core.size).to.equal(0);
    close();
  });

  it('moves megabytes intact both ways (the upstream reads into its own large buffers)', async () => {
    const e = entry(50008);
    core.handle({
      t: 'dial',
      id: 15,
      entry: e,
      family: 4,
      host: '127.0.0.1',
      port: serverPort,
      timeoutMs: 5000,
    });
    await until(() => posted.length === 1);
    const { ours, theirs, close } = await socketPair();
    core.accepted(ours, ...fakeOf(e));
    const sent = randomBytes(8 << 20);
    const got: Buffer[] = [];
    let n = 0;
    theirs.on('data', (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n === sent.length) theirs.end();
    });
    theirs.write(sent);
    await until(() => posted.length === 2);
    expect(Buffer.concat(got).equals(sent)).to.equal(true);
    expect(posted[1]).to.deep.include({
      t: 'closed',
      id: 15,
      fromClient: sent.length,
      toClient: sent.length,
    });
    close();
  });

  it('upstream bytes that arrive before the accept wait for the client, then flow', async () => {
    const banner = createServer((s) => s.end('SSH-2.0-banner\r\n'));
    banner.listen(0, '127.0.0.1');
    await once(banner, 'listening');
    const e = entry(50009);
    core.handle({
      t: 'dial',
      id: 16,
      entry: e,
      family: 4,
      host: '127.0.0.1',
      port: (banner.address() as { port: number }).port,
      timeoutMs: 5000,
    });
    await until(() => posted.length === 1);
    await new Promise((r) => setTimeout(r, 20)); // the banner (and FIN) arrive before the accept
    const { ours, theirs, close } = await socketPair();
    let text = '';
    theirs.on('data', (d: Buffer) => (text += d.toString()));
    core.accepted(ours, ...fakeOf(e));
    await once(theirs, 'end');
    expect(text).to.equal('SSH-2.0-banner\r\n');
    theirs.end();
    await until(() => posted.length === 2);
    close();
    banner.close();
  });

  it('abort before the connect completes: nothing is ever posted and the upstream goes', async () => {
    const e = entry(50001);
    core.handle({
      t: 'dial',
      id: 8,
      entry: e,
      family: 4,
      host: '127.0.0.1',
      port: serverPort,
      timeoutMs: 5000,
    });
    core.handle({ t: 'abort', id: 8 }); // before the event loop could see the connect
    expect(core.size).to.equal(0);
    // Another dial after it: once that one is connected, the aborted one has had its chance to post.
    core.handle({
      t: 'dial',
      id: 99,
      entry: entry(50011),
      family: 4,
      host: '127.0.0.1',
      port: serverPort,
      timeoutMs: 5000,
    });
    await until(() => posted.length > 0);
    expect(posted).to.deep.equal([{ t: 'dialed', id: 99 }]);
    await until(() => serverSockets.slice(0, -1).every((s) => s.destroyed || s.readableEnded));
  });

  it('abort after the dial, before the accept: the late connection is refused, nothing posted', async () => {
    const e = entry(50002);
    core.handle({
      t: 'dial',
      id: 9,
      entry: e,
      family: 4,
      host: '127.0.0.1',
      port: serverPort,
      timeoutMs: 5000,
    });
    await until(() => posted.length === 1);
    core.handle({ t: 'abort', id: 9 });
    const { ours, close } = await socketPair();
    core.accepted(ours, ...fakeOf(e));
    await once(ours, 'close');
    expect(posted).to.deep.equal([{ t: 'dialed', id: 9 }]);
    close();
  });

  it('abort of a piped flow destroys both sockets and posts no closed', async () => {
    const e = entry(50003);
    core.handle({
      t: 'dial',
      id: 10,
      entry: e,
      family: 4,
      host: '127.0.0.1',
      port: serverPort,
      timeoutMs: 5000,
    });
    await until(() => posted.length === 1);
    const { ours, theirs, close } = await socketPair();
    core.accepted(ours, ...fakeOf(e));
    core.handle({ t: 'abort', id: 10 });
    await once(theirs, 'close');
    await until(() => serverSockets.length === 1 && serverSockets[0].destroyed);
    await new Promise((r) => setTimeout(r, 20)); // let any close handler run (it must post nothing)
    expect(posted.map((m) => m.t)).to.deep.equal(['dialed']);
    close();
  });

  it('a connection that names no waiting flow (a stranger, or a wrong port) is closed', async () => {
    const e = entry(50004);
    core.handle({
      t: 'dial',
      id: 11,
      entry: e,
      family: 4,
      host: '127.0.0.1',
      port: serverPort,
      timeoutMs: 5000,
    });
    await until(() => posted.length === 1);
    const [addr, port] = fakeOf(e);
    const v6 = Buffer.concat([plan.v6Prefix96.subarray(0, 12), ipToBytes(addr)]);
    expect(nat.entryOfFakeAddress(v6, port)).to.equal(e); // it names the entry; only the family is wrong
    for (const [a, p] of [
      [addr, port + 1],
      [bytesToIp(v6), port], // the same entry's fake source in IPv6
      ['127.0.0.1', port],
      ['not an address', port],
    ] as const) {
      const d: Duplex = new PassThrough();
      core.accepted(d, a, p);
      expect(d.destroyed).to.equal(true);
    }
    expect(posted).to.have.length(1);
  });

  it('a dial connect() refuses at once (bad port) fails alone; the core keeps serving', async () => {
    core.handle({
      t: 'dial',
      id: 13,
      entry: entry(50006),
      family: 4,
      host: '127.0.0.1',
      port: 70000,
      timeoutMs: 5000,
    });
    expect(posted).to.have.length(1);
    expect(posted[0]).to.include({ t: 'dialed', id: 13, code: 'ERROR' });
    expect(core.size).to.equal(0);
    core.handle({
      t: 'dial',
      id: 14,
      entry: entry(50007),
      family: 4,
      host: '127.0.0.1',
      port: serverPort,
      timeoutMs: 5000,
    });
    await until(() => posted.length === 2);
    expect(posted[1]).to.deep.equal({ t: 'dialed', id: 14 });
  });

  it('a refused dial says so with its code', async () => {
    const e = entry(50005);
    const closedPort = serverPort;
    await new Promise<void>((r) => server.close(() => r()));
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    core.handle({
      t: 'dial',
      id: 12,
      entry: e,
      family: 4,
      host: '127.0.0.1',
      port: closedPort,
      timeoutMs: 5000,
    });
    await until(() => posted.length === 1);
    expect(posted[0]).to.include({ t: 'dialed', id: 12, code: 'ECONNREFUSED' });
    expect(core.size).to.equal(0);
  });
});

describe('vnet relay worker: the real thread (loopback stands in for the tun)', () => {
  it('listens, dials, accepts the connection from the fake source, pipes it, counts bytes, reports closed', async () => {
    const server = createServer((s) => s.pipe(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // Fake source 127.0.0.1 (one fake address), NAT ports from 41000: a local connect can be one.
    const init = createNatInit({
      capacity: 16,
      fakeCount: 1,
      portBase: 41000,
      tun4: 0x7f000001,
      fakeBase4: 0x7f000001,
      tun6: Buffer.alloc(16),
      prefix6: Buffer.alloc(12),
      seed: 1,
    });
    const nat = new NatTable(init);
    const relay = new Relay(init, 16);
    const got: string[] = [];
    relay.attach({
      relayClosed: (id, from, to) => got.push(`closed ${id} ${from} ${to}`),
      relayDied: (why) => got.push(`died ${why}`),
    });
    try {
      const { v4 } = await relay.listen({ tun4: '127.0.0.1', tun6: null, bindToDevice: null });
      const syn = buildTcp({
        src: ipToBytes('127.0.0.2'),
        dst: ipToBytes('127.0.0.3'),
        sport: 1,
        dport: 80,
        seq: 1,
        flags: TCP_SYN,
      });
      const e = nat.allocate(syn, 12, 16, 4, 1, 80);
      const port = (server.address() as { port: number }).port;
      await relay.dial(1, e, 4, '127.0.0.1', port, 5000, new AbortController().signal);
      const c = connect({
        host: '127.0.0.1',
        port: v4,
        localAddress: '127.0.0.1',
        localPort: nat.natPort(e),
      });
      c.write('ping');
      const [d] = (await once(c, 'data')) as [Buffer];
      expect(d.toString()).to.equal('ping');
      expect(relay.bytesOf(e)).to.deep.equal({ fromClient: 4, toClient: 4 });
      c.end();
      await once(c, 'close');
      for (let i = 0; i < 400 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 5));
      expect(got).to.deep.equal(['closed 1 4 4']);
    } finally {
      await relay.stop();
      server.close();
    }
    expect(got.filter((x) => x.startsWith('died'))).to.deep.equal([]); // stop() is no death
    // A stopped relay refuses new dials at once.
    const err = await relay
      .dial(2, 0, 4, '127.0.0.1', 1, 1000, new AbortController().signal)
      .catch((x: Error) => x);
    expect(err).to.be.instanceOf(Error);
  });
});
