// The VNet DNS server, over UDP packets through the engine on an in-memory tun, and over TCP.
import { expect } from 'chai';
import { connect, createServer, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { createMemoryTunPair } from '../../../systemext/tun/memory';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import { StaticResolver } from '../../../systemext/vnet/resolver';
import { DirectDialer } from '../../../systemext/vnet/dialer';
import { VNetEngine, type VNetOptions } from '../../../systemext/vnet/engine';
import { DnsResponder } from '../../../systemext/dns/responder';
import { UpstreamForwarder } from '../../../systemext/dns/forwarder';
import { createDnsTcpSession } from '../../../systemext/dns/tcp-session';
import { ipToBytes } from '../../../systemext/net/addr';
import { buildTcp } from '../../../systemext/net/build';
import { parseIp, parseTcp, TCP_SYN } from '../../../systemext/net/packet';
import { FakeKernel } from '../vnet/kernel';
import { StubUpstream } from './stub-upstream';

type Rcoded = dnsPacket.Packet & { rcode?: string; flag_aa?: boolean; flag_tc?: boolean };

const zones = ['corp.test'];
const apps = [{ fqdn: 'web.corp.test', target: { host: '127.0.0.1', port: 1 } }];
const bigTxt = (n: number): dnsPacket.Answer[] =>
  Array.from({ length: n }, (_, i) => ({
    type: 'TXT',
    name: 'big.example.org',
    ttl: 60,
    data: `record-${i}-${'x'.repeat(40)}`,
  }));

async function withEngine(
  extra: Partial<VNetOptions>,
  fn: (k: FakeKernel, plan: AddressPlan, engine: VNetEngine) => Promise<void>,
): Promise<void> {
  const [eng, kern] = createMemoryTunPair(1500);
  const plan = new AddressPlan({ ipv6Prefix: 'fd00:5:6::/48' });
  const engine = new VNetEngine({
    plan,
    resolver: new StaticResolver(zones, apps),
    dialer: new DirectDialer(),
    upstreams: [],
    // A hang guard only: tests that need the deadline to pass use a silent upstream and 1 ms.
    forwardTimeoutMs: 30_000,
    listener: { port: 4000, bind: false },
    sweepIntervalMs: 0,
    ...extra,
  });
  await engine.start(eng);
  try {
    await fn(new FakeKernel(kern), plan, engine);
  } finally {
    await engine.stop();
  }
}

describe('dns responder', () => {
  const stubs: StubUpstream[] = [];
  const stub = async (h: ConstructorParameters<typeof StubUpstream>[0]): Promise<StubUpstream> => {
    const s = await new StubUpstream(h).start();
    stubs.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(stubs.splice(0).map((s) => s.stop()));
  });

  it('answers A and AAAA for apps (TTL 10, authoritative), over IPv4 and IPv6', async () => {
    await withEngine({}, async (k, plan) => {
      const ips = plan.assign('web.corp.test');
      const a = (await k.query(plan.tun4, plan.dns4, { type: 'A', name: 'WEB.corp.test' })).msg as Rcoded;
      expect(a.rcode).to.equal('NOERROR');
      expect(a.flag_aa).to.equal(true);
      expect(a.answers).to.deep.equal([
        { type: 'A', name: 'WEB.corp.test', ttl: 10, class: 'IN', flush: false, data: ips.v4 },
      ]);
      const aaaa = (await k.query(plan.tun6, plan.dns6, { type: 'AAAA', name: 'web.corp.test' })).msg;
      expect(aaaa.answers?.map((x) => (x as { data: string }).data)).to.deep.equal([ips.v6]);
      expect(aaaa.answers?.[0]).to.include({ ttl: 10 });
    });
  });

  it('answers NODATA (NOERROR, no answer, SOA) for AAAA when IPv6 is off and for MX of an app', async () => {
    await withEngine({ ipv6: false }, async (k, plan) => {
      for (const type of ['AAAA', 'MX'] as const) {
        const m = (await k.query(plan.tun4, plan.dns4, { type, name: 'web.corp.test' })).msg as Rcoded;
        expect(m.rcode).to.equal('NOERROR');
        expect(m.answers).to.deep.equal([]);
        expect(m.authorities?.[0]).to.include({ type: 'SOA', name: 'corp.test', ttl: 10 });
      }
    });
  });

  it('relays upstream NXDOMAIN for a zone name that is no app, and says NXDOMAIN itself when upstream is silent', async () => {
    const upstreamSoa = {
      type: 'SOA',
      name: 'corp.test',
      ttl: 99,
      data: {
        mname: 'ns.upstream.test',
        rname: 'x.upstream.test',
        serial: 7,
        refresh: 1,
        retry: 1,
        expire: 1,
        minimum: 99,
      },
    } as dnsPacket.Answer;
    const nx = await stub(() => ({ flags: 3, authorities: [upstreamSoa] }));
    await withEngine({ upstreams: [{ host: '127.0.0.1', port: nx.port }] }, async (k, plan) => {
      const m = (await k.query(plan.tun4, plan.dns4, { type: 'A', name: 'nope.corp.test' })).msg as Rcoded;
      expect(m.rcode).to.equal('NXDOMAIN');
      expect(nx.queries).to.equal(1);
      // The upstream's own answer (its SOA, not ours), relayed.
      expect(m.authorities?.[0]).to.deep.include({ name: 'corp.test', ttl: 99 });
      expect((m.authorities?.[0] as { data: { mname: string } }).data.mname).to.equal('ns.upstream.test');
    });
    const silent = await stub(() => null);
    await withEngine(
      { upstreams: [{ host: '127.0.0.1', port: silent.port }], forwardTimeoutMs: 1 },
      async (k, plan) => {
        const m = (await k.query(plan.tun4, plan.dns4, { type: 'A', name: 'nope.corp.test' })).msg as Rcoded;
        expect(m.rcode).to.equal('NXDOMAIN');
        expect(m.flag_aa).to.equal(true);
      },
    );
  });

  it('forwards other names to all upstreams: the first real answer wins, SERVFAIL and silence lose', async () => {
    const silent = await stub(() => null);
    const failing = await stub(() => ({ flags: 2 }));
    const good = await stub((q) => ({
      answers: [{ type: 'A', name: q.questions![0].name, ttl: 300, data: '192.0.2.7' }],
    }));
    const upstreams = [silent, failing, good].map((s) => ({ host: '127.0.0.1', port: s.port }));
    await withEngine({ upstreams }, async (k, plan) => {
      const { msg } = await k.query(plan.tun4, plan.dns4, { type: 'A', name: 'www.example.org' });
      expect((msg as Rcoded).rcode).to.equal('NOERROR');
      expect(msg.answers?.map((a) => (a as { data: string }).data)).to.deep.equal(['192.0.2.7']);
      expect(silent.queries + failing.queries + good.queries).to.equal(3);
    });
  });

  it('answers SERVFAIL when no upstream answers in time (a silent upstream, 1 ms deadline)', async () => {
    const silent = await stub(() => null);
    await withEngine(
      { upstreams: [{ host: '127.0.0.1', port: silent.port }], forwardTimeoutMs: 1 },
      async (k, plan) => {
        const m = (await k.query(plan.tun4, plan.dns4, { type: 'A', name: 'www.example.org' })).msg as Rcoded;
        expect(m.rcode).to.equal('SERVFAIL');
      },
    );
  });

  it('FORMERR for a query whose header parses but body does not; drops what has no header', async () => {
    await withEngine({}, async (k, plan) => {
      const r = new DnsResponder({
        resolver: new StaticResolver(zones, apps),
        addresses: (n) => plan.assign(n),
        ipv6: true,
        forwarder: new UpstreamForwarder(() => [], 100),
      });
      const bad = Buffer.from('1234010000010000000000000377777700', 'hex'); // name then no type/class
      const ans = await r.handle(bad, 'udp');
      expect(ans).to.not.equal(null);
      expect(ans!.readUInt16BE(0)).to.equal(0x1234);
      expect(ans![3] & 0x0f).to.equal(1);
      expect(ans![2] & 0x80).to.equal(0x80);
      expect(await r.handle(Buffer.from('1234'), 'udp')).to.equal(null);
      const two = dnsPacket.encode({
        type: 'query',
        id: 9,
        questions: [
          { type: 'A', name: 'a.corp.test' },
          { type: 'A', name: 'b.corp.test' },
        ],
      });
      expect((await r.handle(two, 'udp'))![3] & 0x0f).to.equal(1);
      const notify = Buffer.from(
        dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: 'x' }] }),
      );
      notify[2] |= 4 << 3; // opcode NOTIFY
      expect((await r.handle(notify, 'udp'))![3] & 0x0f).to.equal(4);
      // And through the engine, a FORMERR comes back as a UDP packet.
      const { raw } = await k.queryRaw(plan.tun4, plan.dns4, bad);
      expect(raw[3] & 0x0f).to.equal(1);
    });
  });

  it('sets TC on UDP answers over 512 bytes (no EDNS), honours EDNS sizes, and serves the full answer over TCP', async () => {
    const big = await stub(() => ({ answers: bigTxt(12) }));
    const upstreams = [{ host: '127.0.0.1', port: big.port }];
    await withEngine({ upstreams }, async (k, plan, engine) => {
      const small = await k.query(plan.tun4, plan.dns4, { type: 'TXT', name: 'big.example.org' });
      expect((small.msg as Rcoded).flag_tc).to.equal(true);
      expect(small.msg.answers).to.deep.equal([]);
      const edns = await k.query(
        plan.tun4,
        plan.dns4,
        { type: 'TXT', name: 'big.example.org' },
        { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1400 } as dnsPacket.Answer] },
      );
      expect((edns.msg as Rcoded).flag_tc).to.equal(false);
      expect(edns.msg.answers).to.have.length(12);

      // DNS over TCP through the system stack: the SYN to DNS:53 is accepted at once (built-in app)...
      k.send(
        buildTcp({
          src: ipToBytes(plan.tun4),
          dst: ipToBytes(plan.dns4),
          sport: 45000,
          dport: 53,
          seq: 1,
          flags: TCP_SYN,
        }),
      );
      const syn = await k.next((p) => p[9] === 6);
      const ip = parseIp(syn);
      if (typeof ip === 'string') throw new Error(ip);
      const tcp = parseTcp(syn, ip);
      if (typeof tcp === 'string') throw new Error(tcp);
      expect(tcp.dport).to.equal(4000);
      // ...and the connection the kernel would hand our listener speaks length-prefixed DNS.
      const client = await socketPair((server) => engine.handleAccepted(server, plan.fake4(0), tcp.sport));
      const q = dnsPacket.encode({
        type: 'query',
        id: 77,
        questions: [{ type: 'TXT', name: 'big.example.org' }],
      });
      const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]);
      client.write(framed);
      const answer = await readFrame(client);
      client.destroy();
      const m = dnsPacket.decode(answer);
      expect(m.id).to.equal(77);
      expect((m as Rcoded).flag_tc).to.equal(false);
      expect(m.answers).to.have.length(12);
    });
  });

  it('retries over TCP upstream when the upstream truncates and the client came over TCP', async () => {
    const trunc = await stub((_q, transport) =>
      transport === 'udp' ? { flags: dnsPacket.TRUNCATED_RESPONSE } : { answers: bigTxt(30) },
    );
    const r = new DnsResponder({
      resolver: new StaticResolver(zones, apps),
      addresses: () => ({ v4: '100.64.0.9', v6: 'fd00::9' }),
      ipv6: true,
      forwarder: new UpstreamForwarder(() => [{ host: '127.0.0.1', port: trunc.port }], 2000),
    });
    const session = createDnsTcpSession((q) => r.handle(q, 'tcp'));
    const q = dnsPacket.encode({
      type: 'query',
      id: 5,
      questions: [{ type: 'TXT', name: 'big.example.org' }],
    });
    const got = new Promise<Buffer>((resolve) => session.once('data', resolve));
    session.write(Buffer.concat([Buffer.from([0, q.length]), q]));
    const frame = await got;
    expect(frame.readUInt16BE(0)).to.equal(frame.length - 2);
    expect(dnsPacket.decode(frame.subarray(2)).answers).to.have.length(30);
    session.end();
  });
});

/** A connected loopback TCP pair: the server end goes to `onServer`, the client end is returned. */
async function socketPair(onServer: (s: Socket) => void): Promise<Socket> {
  const srv = createServer((s) => {
    onServer(s);
    srv.close();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const c = connect((srv.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  return c;
}

function readFrame(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    s.on('error', reject);
  });
}
