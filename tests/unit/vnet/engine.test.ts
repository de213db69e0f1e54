// The engine's TCP system stack and ICMP on an in-memory tun; the test plays the kernel.
import { expect } from 'chai';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { createMemoryTunPair } from '../../../systemext/tun/memory';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import { StaticResolver } from '../../../systemext/vnet/resolver';
import { DirectDialer } from '../../../systemext/vnet/dialer';
import { VNetEngine, type VNetOptions } from '../../../systemext/vnet/engine';
import { bytesToIp, ipToBytes } from '../../../systemext/net/addr';
import { buildIcmp, buildTcp, buildUdp, checksumsValid } from '../../../systemext/net/build';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../../systemext/net/packet';
import { FakeKernel, ManualDialer, tcpOf } from './kernel';

const LPORT = 4000;

const isTcp = (p: Buffer): boolean => (p[0] >> 4 === 4 ? p[9] === 6 : p[6] === 6);
const isIcmp = (p: Buffer): boolean => (p[0] >> 4 === 4 ? p[9] === 1 : p[6] === 58);

describe('vnet engine: TCP system stack and ICMP', () => {
  let echo: Server;
  let echoPort: number;
  let closedPort: number;
  let now = 1_000_000;
  let engine: VNetEngine;
  let k: FakeKernel;
  let plan: AddressPlan;

  before(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as { port: number }).port;
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    closedPort = (tmp.address() as { port: number }).port;
    await new Promise<void>((r) => tmp.close(() => r()));
  });
  after(() => echo.close());
  afterEach(async () => engine?.stop());

  async function start(extra: Partial<VNetOptions> = {}): Promise<void> {
    const [eng, kern] = createMemoryTunPair(1500);
    plan = new AddressPlan({ ipv6Prefix: 'fd00:7:8::/48' });
    engine = new VNetEngine({
      plan,
      resolver: new StaticResolver(
        ['corp.test'],
        [
          { fqdn: 'web.corp.test', target: { host: '127.0.0.1', port: echoPort } },
          {
            fqdn: 'db.corp.test',
            allowedPorts: [5432, [6000, 6010]],
            target: { host: '127.0.0.1', port: echoPort },
          },
          { fqdn: 'down.corp.test', target: { host: '127.0.0.1', port: closedPort } },
        ],
      ),
      dialer: new DirectDialer(),
      upstreams: [],
      listener: { port: LPORT, bind: false },
      sweepIntervalMs: 0,
      clock: () => now,
      ...extra,
    });
    await engine.start(eng);
    k = new FakeKernel(kern);
  }

  const syn = (vip: string, sport: number, dport: number, client = plan.tun4): Buffer =>
    buildTcp({ src: ipToBytes(client), dst: ipToBytes(vip), sport, dport, seq: 1000, flags: TCP_SYN });

  /** A ping through the engine: once its reply is back, everything sent before was processed. */
  async function barrier(): Promise<void> {
    const vip = plan.dns4;
    k.send(buildIcmp(ipToBytes(plan.tun4), ipToBytes(vip), 8, 0, 0xbeef0001, Buffer.from('barrier')));
    await k.next((p) => isIcmp(p) && p.readUInt32BE(24) === 0xbeef0001);
  }

  it('dials before accepting: no SYN reaches the listener until the dial resolves; retransmits are absorbed', async () => {
    const dialer = new ManualDialer();
    await start({ dialer });
    const vip = plan.assign('web.corp.test').v4;
    const events: string[] = [];
    engine.on('connection', (e: { fqdn: string; port: number }) => events.push(`${e.fqdn}:${e.port}`));
    k.send(syn(vip, 40000, 80));
    const call = await dialer.nextCall();
    expect(call.app.fqdn).to.equal('web.corp.test');
    expect(call.port).to.equal(80);
    k.send(syn(vip, 40000, 80)); // retransmit while dialing
    await barrier();
    expect(k.drain().filter(isTcp)).to.deep.equal([]);
    expect(dialer.calls).to.have.length(0); // no second dial
    call.resolve(new PassThrough());
    const out = tcpOf(await k.next(isTcp));
    expect(out).to.include({ dst: plan.tun4, dport: LPORT, seq: 1000, flags: TCP_SYN });
    expect(out.src).to.equal(plan.fake4(0));
    expect(events).to.deep.equal(['web.corp.test:80']);
  });

  it('only the SYN takes the slow path: SYN-ACK, handshake ACK and first data are rewritten by the fast path', async () => {
    await start();
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 40100, 80));
    const rewritten = tcpOf(await k.next(isTcp)); // dialed the echo server, SYN sent to the listener
    expect(engine.stats.slowPath).to.equal(1);
    const fast0 = engine.stats.fastPath;
    const fake = ipToBytes(rewritten.src);
    const tun = ipToBytes(plan.tun4);
    // The listener's SYN-ACK, then the client's ACK and first data, as the kernel would send them.
    k.send(
      buildTcp({
        src: tun,
        dst: fake,
        sport: LPORT,
        dport: rewritten.sport,
        seq: 5000,
        ack: 1001,
        flags: TCP_SYN | TCP_ACK,
      }),
    );
    const synAck = tcpOf(await k.next(isTcp));
    expect(synAck).to.include({
      src: vip,
      dst: plan.tun4,
      sport: 80,
      dport: 40100,
      flags: TCP_SYN | TCP_ACK,
    });
    const c2v = { src: tun, dst: ipToBytes(vip), sport: 40100, dport: 80, seq: 1001, ack: 5001 };
    k.send(buildTcp({ ...c2v, flags: TCP_ACK }));
    k.send(buildTcp({ ...c2v, flags: TCP_ACK, payload: Buffer.from('P') }));
    const ack = tcpOf(await k.next(isTcp));
    const data = tcpOf(await k.next(isTcp));
    for (const seg of [ack, data])
      expect(seg).to.include({ src: rewritten.src, dst: plan.tun4, dport: LPORT });
    expect(engine.stats.slowPath).to.equal(1);
    expect(engine.stats.fastPath - fast0).to.equal(3);
  });

  it('resets the client at once when the upstream refuses (closed port)', async () => {
    await start();
    const errors: Array<{ message: string }> = [];
    engine.on('error', (e: { message: string }) => errors.push(e));
    const vip = plan.assign('down.corp.test').v4;
    k.send(syn(vip, 40001, 80));
    const p = await k.next(isTcp);
    expect(checksumsValid(p)).to.equal(true);
    expect(tcpOf(p)).to.include({
      src: vip,
      dst: plan.tun4,
      sport: 80,
      dport: 40001,
      flags: TCP_RST | TCP_ACK,
      ack: 1001,
    });
    expect(errors[0].message).to.match(/ECONNREFUSED/);
    expect(engine.nat.size).to.equal(0);
  });

  it('refuses a port the app does not allow with RST and a refused event; allows listed ranges', async () => {
    await start({ dialer: new ManualDialer() });
    const vip = plan.assign('db.corp.test').v4;
    const refused = once(engine, 'refused');
    k.send(syn(vip, 40002, 22));
    expect(tcpOf(await k.next(isTcp))).to.include({ flags: TCP_RST | TCP_ACK, sport: 22, dport: 40002 });
    const [ev] = await refused;
    expect(ev).to.deep.include({ fqdn: 'db.corp.test', port: 22 });
    expect(ev.reason).to.match(/not allowed/);
    k.send(syn(vip, 40003, 6005));
    await barrier();
    expect(k.drain().filter(isTcp)).to.deep.equal([]); // 6005 is in range: dialing, no RST
  });

  it('resets SYNs to unknown virtual IPs and stray segments of unknown flows', async () => {
    await start();
    k.send(syn('100.64.9.9', 40004, 80));
    expect(tcpOf(await k.next(isTcp))).to.include({ src: '100.64.9.9', flags: TCP_RST | TCP_ACK, ack: 1001 });
    const vip = plan.assign('web.corp.test').v4;
    k.send(
      buildTcp({
        src: ipToBytes(plan.tun4),
        dst: ipToBytes(vip),
        sport: 40005,
        dport: 80,
        seq: 5,
        ack: 777,
        flags: TCP_ACK,
      }),
    );
    expect(tcpOf(await k.next(isTcp))).to.include({ flags: TCP_RST, seq: 777 });
    // An RST is never answered.
    k.send(
      buildTcp({ src: ipToBytes(plan.tun4), dst: ipToBytes(vip), sport: 40006, dport: 80, flags: TCP_RST }),
    );
    await barrier();
    expect(k.drain().filter(isTcp)).to.deep.equal([]);
  });

  it('forgets a dialing flow when the client resets it, aborting the dial', async () => {
    const dialer = new ManualDialer();
    await start({ dialer });
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 40007, 80));
    const call = await dialer.nextCall();
    k.send(
      buildTcp({
        src: ipToBytes(plan.tun4),
        dst: ipToBytes(vip),
        sport: 40007,
        dport: 80,
        seq: 1001,
        flags: TCP_RST,
      }),
    );
    await barrier();
    expect(call.signal.aborted).to.equal(true);
    expect(engine.nat.size).to.equal(0);
  });

  it('answers ping to apps and to the DNS address, over IPv4 and IPv6', async () => {
    await start();
    const app = plan.assign('web.corp.test');
    for (const [src, dst, type, reply] of [
      [plan.tun4, app.v4, 8, 0],
      [plan.tun4, plan.dns4, 8, 0],
      [plan.tun6, app.v6, 128, 129],
      [plan.tun6, plan.dns6, 128, 129],
    ] as const) {
      k.send(buildIcmp(ipToBytes(src), ipToBytes(dst), type, 0, 0x12340007, Buffer.from('abcdefgh')));
      const p = await k.next(isIcmp);
      expect(checksumsValid(p)).to.equal(true);
      const l4 = p[0] >> 4 === 4 ? 20 : 40;
      expect(p[l4]).to.equal(reply);
      expect(p.readUInt32BE(l4 + 4)).to.equal(0x12340007);
      expect(p.subarray(l4 + 8).toString()).to.equal('abcdefgh');
      expect(bytesToIp(p, l4 === 20 ? 12 : 8, l4 === 20 ? 4 : 16)).to.equal(dst);
    }
  });

  it('answers UDP to an app with ICMP port unreachable quoting the datagram', async () => {
    await start();
    const app = plan.assign('web.corp.test');
    const u4 = buildUdp({
      src: ipToBytes(plan.tun4),
      dst: ipToBytes(app.v4),
      sport: 5555,
      dport: 161,
      payload: Buffer.from('x'),
    });
    k.send(u4);
    const p4 = await k.next(isIcmp);
    expect(checksumsValid(p4)).to.equal(true);
    expect([p4[20], p4[21]]).to.deep.equal([3, 3]);
    expect(p4.subarray(28).equals(u4.subarray(0, 28))).to.equal(true);
    const u6 = buildUdp({
      src: ipToBytes(plan.tun6),
      dst: ipToBytes(app.v6),
      sport: 5555,
      dport: 161,
      payload: Buffer.from('x'),
    });
    k.send(u6);
    const p6 = await k.next(isIcmp);
    expect(checksumsValid(p6)).to.equal(true);
    expect([p6[40], p6[41]]).to.deep.equal([1, 4]);
    expect(p6.subarray(48).equals(u6)).to.equal(true);
  });

  it('rewrites IPv6 flows to the v6 listener and back', async () => {
    await start({ dialer: new ManualDialer(), listener: { port: LPORT, bind: false } });
    const dialer = (engine as unknown as { opts: { dialer: ManualDialer } }).opts.dialer;
    const app = plan.assign('web.corp.test');
    k.send(syn(app.v6, 40010, 443, plan.tun6));
    (await dialer.nextCall()).resolve(new PassThrough());
    const out = await k.next(isTcp);
    expect(checksumsValid(out)).to.equal(true);
    const f = tcpOf(out);
    expect(f).to.include({ src: plan.fake6(0), dst: plan.tun6, dport: LPORT });
    k.send(
      buildTcp({
        src: ipToBytes(plan.tun6),
        dst: ipToBytes(f.src),
        sport: LPORT,
        dport: f.sport,
        seq: 9,
        ack: 1001,
        flags: TCP_SYN | TCP_ACK,
      }),
    );
    const back = await k.next(isTcp);
    expect(checksumsValid(back)).to.equal(true);
    expect(tcpOf(back)).to.include({ src: app.v6, dst: plan.tun6, sport: 443, dport: 40010 });
  });

  it('resets new SYNs and reports when the NAT table is full', async () => {
    await start({ natCapacity: 2, dialer: new ManualDialer() });
    const vip = plan.assign('web.corp.test').v4;
    const refused = once(engine, 'refused');
    k.send([syn(vip, 41000, 80), syn(vip, 41001, 80), syn(vip, 41002, 80)]);
    expect(tcpOf(await k.next(isTcp))).to.include({ dport: 41002, flags: TCP_RST | TCP_ACK });
    const [ev] = await refused;
    expect(ev.reason).to.match(/NAT table full/);
    expect(engine.nat.size).to.equal(2);
  });

  it('carries bytes between the accepted socket and the upstream, reports close, and expires after FIN+TIME_WAIT', async () => {
    await start({ timeWaitMs: 5000 });
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 42000, 80));
    const s = tcpOf(await k.next(isTcp)); // dialed the echo server for real
    const client = await socketPair((srv) => engine.handleAccepted(srv, s.src, s.sport));
    const closed = once(engine, 'closed');
    client.write('hello vnet');
    const [data] = await once(client, 'data');
    expect(String(data)).to.equal('hello vnet');
    // While open, the counts so far and both ends as the client sees them (the status's live view).
    expect(engine.openConnections()).to.deep.equal([
      {
        id: 1,
        fqdn: 'web.corp.test',
        port: 80,
        via: 'direct',
        bytesFromClient: 10,
        bytesToClient: 10,
        client: { address: plan.tun4, port: 42000 },
        app: { address: vip, port: 80 },
      },
    ]);
    client.end();
    await once(client, 'close');
    const [ev] = await closed;
    expect(ev).to.deep.equal({
      fqdn: 'web.corp.test',
      port: 80,
      bytesFromClient: 10,
      bytesToClient: 10,
      id: 1,
    });
    expect(engine.openConnections()).to.deep.equal([]);
    // FIN each way through the NAT, then the sweep frees the entry after TIME_WAIT only.
    k.send(
      buildTcp({
        src: ipToBytes(plan.tun4),
        dst: ipToBytes(vip),
        sport: 42000,
        dport: 80,
        flags: TCP_FIN | TCP_ACK,
      }),
    );
    k.send(
      buildTcp({
        src: ipToBytes(plan.tun4),
        dst: ipToBytes(s.src),
        sport: LPORT,
        dport: s.sport,
        flags: TCP_FIN | TCP_ACK,
      }),
    );
    await k.next(isTcp);
    await k.next(isTcp);
    engine.sweep();
    expect(engine.nat.size).to.equal(1);
    now += 5000;
    engine.sweep();
    expect(engine.nat.size).to.equal(0);
  });

  it('expires idle flows and closes their sockets', async () => {
    await start({ idleMs: 60_000 });
    const vip = plan.assign('web.corp.test').v4;
    k.send(syn(vip, 42001, 80));
    const s = tcpOf(await k.next(isTcp));
    const client = await socketPair((srv) => engine.handleAccepted(srv, s.src, s.sport));
    const gone = once(client, 'close');
    now += 30_000;
    engine.sweep();
    expect(engine.nat.size).to.equal(1);
    now += 60_000;
    engine.sweep();
    await gone;
    // The flow is gone; its fake address:port stays held for TIME_WAIT (default 60 s).
    expect(engine.load.flows).to.equal(0);
    expect(engine.nat.size).to.equal(1);
    now += 60_000;
    engine.sweep();
    expect(engine.nat.size).to.equal(0);
  });

  it('destroys listener connections that match no flow', async () => {
    await start();
    const client = await socketPair((srv) => engine.handleAccepted(srv, plan.tun4, 12345));
    await once(client, 'close');
  });
});

async function socketPair(onServer: (s: Socket) => void): Promise<Socket> {
  const srv = createServer((s) => {
    onServer(s);
    srv.close();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const c = connect((srv.address() as { port: number }).port, '127.0.0.1');
  c.on('error', () => {});
  await once(c, 'connect');
  return c;
}
