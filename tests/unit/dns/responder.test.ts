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

// The responder's rules, bit by bit, with a scripted forwarder (no engine, no sockets).
describe('dns responder rules (a scripted forwarder)', () => {
  const QR = 0x8000;
  const AA = 0x0400;
  const TC = 0x0200;
  const RD = 0x0100;
  const RA = 0x0080;
  const VIP = { v4: '100.64.0.9', v6: 'fd00::9' };
  const flags = (b: Buffer) => b.readUInt16BE(2);
  const rcode = (b: Buffer) => flags(b) & 0x0f;

  interface Call {
    query: Buffer;
    wantFull: boolean;
  }
  const scripted = (answer: (q: Buffer) => Buffer | null) => {
    const calls: Call[] = [];
    return {
      calls,
      forward: (query: Buffer, wantFull: boolean): Promise<Buffer | null> => {
        calls.push({ query, wantFull });
        return Promise.resolve(answer(query));
      },
    };
  };
  const upstreamAnswer = (q: Buffer, over: Partial<dnsPacket.Packet> = {}): Buffer => {
    const m = dnsPacket.decode(q);
    return dnsPacket.encode({ type: 'response', id: m.id, flags: RA, questions: m.questions, ...over });
  };
  const responder = (
    forwarder: { forward: (q: Buffer, wantFull: boolean) => Promise<Buffer | null> },
    extra: Partial<ConstructorParameters<typeof DnsResponder>[0]> = {},
  ) =>
    new DnsResponder({
      resolver: new StaticResolver(zones, apps),
      addresses: () => VIP,
      ipv6: true,
      forwarder,
      ...extra,
    });
  const query = (name: string, type = 'A', over: Partial<dnsPacket.Packet> = {}): Buffer =>
    dnsPacket.encode({
      type: 'query',
      id: 0x1234,
      flags: RD,
      questions: [{ type, name } as dnsPacket.Question],
      ...over,
    });

  it('an app: authoritative A, AAAA or both for ANY, TTL 10, RD echoed, RA set, id kept', async () => {
    const r = responder(scripted(() => null));
    const a = (await r.handle(query('Web.Corp.Test'), 'udp'))!;
    expect(a.readUInt16BE(0)).to.equal(0x1234);
    expect(flags(a)).to.equal(QR | AA | RD | RA);
    const m = dnsPacket.decode(a);
    expect(m.questions).to.deep.equal([{ name: 'Web.Corp.Test', type: 'A', class: 'IN' }]);
    expect(m.answers).to.deep.equal([
      { name: 'Web.Corp.Test', type: 'A', ttl: 10, class: 'IN', flush: false, data: VIP.v4 },
    ]);
    expect(m.authorities).to.deep.equal([]);
    expect(m.additionals).to.deep.equal([]);
    const six = dnsPacket.decode((await r.handle(query('web.corp.test', 'AAAA'), 'udp'))!);
    expect(six.answers!.map((x) => [x.type, (x as { data: string }).data])).to.deep.equal([['AAAA', VIP.v6]]);
    const any = dnsPacket.decode((await r.handle(query('web.corp.test', 'ANY'), 'udp'))!);
    expect(any.answers!.map((x) => x.type)).to.deep.equal(['A', 'AAAA']);
    // Without RD in the query, none in the answer.
    const noRd = (await r.handle(query('web.corp.test', 'A', { flags: 0 }), 'udp'))!;
    expect(flags(noRd)).to.equal(QR | AA | RA);
  });

  it('NODATA for an app carries a SOA for the zone with our TTL (RFC 2308); ANY without IPv6 is A only', async () => {
    const r = responder(
      scripted(() => null),
      { ipv6: false, ttl: 30 },
    );
    const m = dnsPacket.decode((await r.handle(query('web.corp.test', 'AAAA'), 'udp'))!) as Rcoded;
    expect(m.rcode).to.equal('NOERROR');
    expect(m.answers).to.deep.equal([]);
    expect(m.authorities).to.have.length(1);
    const soa = m.authorities![0] as dnsPacket.Answer & { data: Record<string, unknown> };
    expect(soa).to.deep.include({ type: 'SOA', name: 'corp.test', ttl: 30 });
    expect(soa.data).to.deep.equal({
      mname: 'vnet-dns.corp.test',
      rname: 'hostmaster.corp.test',
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: 30,
    });
    const any = dnsPacket.decode((await r.handle(query('web.corp.test', 'ANY'), 'udp'))!);
    expect(any.answers!.map((x) => [x.type, (x as { ttl?: number }).ttl])).to.deep.equal([['A', 30]]);
    expect(any.authorities).to.deep.equal([]);
  });

  it('drops what has no header or is a response; FORMERR (with id, opcode, RD) for no question or a bad body; NOTIMP for other opcodes', async () => {
    const fwd = scripted(() => null);
    const r = responder(fwd);
    expect(await r.handle(Buffer.alloc(11), 'udp')).to.equal(null);
    const resp = query('web.corp.test');
    resp[2] |= 0x80;
    expect(await r.handle(resp, 'udp')).to.equal(null);
    const none = (await r.handle(
      dnsPacket.encode({ type: 'query', id: 9, flags: RD, questions: [] }),
      'udp',
    ))!;
    expect([none.readUInt16BE(0), flags(none)]).to.deep.equal([9, QR | RD | RA | 1]);
    // (Two questions: FORMERR, asserted in the engine-level test above.)
    // A header that parses, then garbage: FORMERR with the header's id, opcode and RD.
    const bad = Buffer.concat([
      Buffer.from([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
      Buffer.from([0xff]),
    ]);
    const formerr = (await r.handle(bad, 'udp'))!;
    expect(formerr).to.have.length(12);
    expect([formerr.readUInt16BE(0), flags(formerr)]).to.deep.equal([0xabcd, QR | RD | RA | 1]);
    // Opcode 4 (NOTIFY): NOTIMP, the opcode echoed.
    const notify = query('web.corp.test');
    notify[2] = (4 << 3) | 0x01;
    const notimp = (await r.handle(notify, 'udp'))!;
    expect([notimp.readUInt16BE(0), flags(notimp)]).to.deep.equal([0x1234, QR | (4 << 11) | RD | RA | 4]);
    expect(fwd.calls).to.have.length(0);
  });

  it('a zone name that is no app: told to onMiss, forwarded; a real upstream answer (even NXDOMAIN) is relayed as is', async () => {
    const misses: string[] = [];
    const noData = scripted((q) => upstreamAnswer(q, { flags: RA | 3 }));
    const r = responder(noData, { onMiss: (n, t) => misses.push(`${n} ${t}`) });
    const q = query('Nope.Corp.Test', 'MX');
    const got = (await r.handle(q, 'tcp'))!;
    expect(misses).to.deep.equal(['nope.corp.test MX']);
    expect(noData.calls).to.deep.equal([{ query: q, wantFull: true }]);
    expect(got.equals(upstreamAnswer(q, { flags: RA | 3 }))).to.equal(true);
    await r.handle(query('nope.corp.test'), 'udp');
    expect(noData.calls[1].wantFull).to.equal(false);
  });

  it('a zone name that is no app, upstream useless (none, short, SERVFAIL, REFUSED): our own authoritative NXDOMAIN + SOA', async () => {
    const cases: Array<(q: Buffer) => Buffer | null> = [
      () => null,
      () => Buffer.alloc(11),
      (q) => upstreamAnswer(q, { flags: RA | 2 }),
      (q) => upstreamAnswer(q, { flags: RA | 5 }),
    ];
    for (const answer of cases) {
      const got = (await responder(scripted(answer)).handle(query('a.b.corp.test'), 'udp'))!;
      expect(flags(got)).to.equal(QR | AA | RD | RA | 3);
      const soa = dnsPacket.decode(got).authorities!;
      expect(soa.map((x) => [x.type, x.name])).to.deep.equal([['SOA', 'corp.test']]);
    }
    // The zone's apex is a zone name too.
    const apex = (await responder(scripted(() => null)).handle(query('corp.test', 'SOA'), 'udp'))!;
    expect(rcode(apex)).to.equal(3);
  });

  it('outside the zones (or not class IN): forwarded and relayed as is; SERVFAIL, not authoritative, when upstream fails', async () => {
    const www = {
      answers: [{ type: 'A', name: 'www.example.org', ttl: 5, data: '192.0.2.1' }] as dnsPacket.Answer[],
    };
    const ok = scripted((q) => upstreamAnswer(q, www));
    const q = query('www.example.org');
    expect((await responder(ok).handle(q, 'udp'))!.equals(upstreamAnswer(q, www))).to.equal(true);
    expect(ok.calls[0].wantFull).to.equal(false);
    for (const answer of [() => null, () => Buffer.alloc(11)]) {
      const got = (await responder(scripted(answer)).handle(q, 'tcp'))!;
      expect(flags(got)).to.equal(QR | RD | RA | 2);
    }
    // A CHAOS-class question for a zone name is not ours: forwarded, not answered.
    const chaos = scripted(() => null);
    const ch = dnsPacket.encode({
      type: 'query',
      id: 3,
      questions: [{ type: 'TXT', name: 'web.corp.test', class: 'CH' }],
    });
    expect(rcode((await responder(chaos).handle(ch, 'udp'))!)).to.equal(2);
    expect(chaos.calls).to.have.length(1);
  });

  it('a resolver that fails: SERVFAIL for a zone name', async () => {
    const broken = {
      zones: () => zones,
      resolve: () => Promise.reject(new Error('agent gone')),
    };
    const got = (await responder(
      scripted(() => null),
      { resolver: broken as never },
    ).handle(query('web.corp.test'), 'udp'))!;
    expect(flags(got)).to.equal(QR | RD | RA | 2);
  });

  it('size limits: 512 without EDNS, the EDNS size (at least 512, at most maxUdp), 65535 over TCP; TC keeps id and flags', async () => {
    const sized = (n: number) =>
      scripted((q) => {
        const base = upstreamAnswer(q, { flags: RA | 0x0400 });
        return Buffer.concat([base, Buffer.alloc(n - base.length)]); // padding counts as size only
      });
    const ask = async (n: number, transport: 'udp' | 'tcp', edns?: number, maxUdp?: number) => {
      const over = edns
        ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: edns } as dnsPacket.Answer] }
        : {};
      const q = query('www.example.org', 'TXT', over);
      const got = (await responder(sized(n)).handle(q, transport, maxUdp))!;
      return {
        size: got.length,
        tc: (flags(got) & TC) !== 0,
        flags: flags(got),
        id: got.readUInt16BE(0),
        questions: dnsPacket.decode(got).questions,
      };
    };
    expect(await ask(512, 'udp')).to.include({ size: 512, tc: false });
    const cut = await ask(513, 'udp');
    expect(cut).to.include({ tc: true, id: 0x1234 });
    expect(cut.questions).to.deep.equal([{ name: 'www.example.org', type: 'TXT', class: 'IN' }]);
    expect(cut.flags).to.equal(QR | AA | TC | RA); // the upstream's flags, with TC
    expect(await ask(600, 'udp', 100)).to.include({ tc: true });
    expect(await ask(1400, 'udp', 1400)).to.include({ size: 1400, tc: false });
    expect(await ask(1401, 'udp', 1400)).to.include({ tc: true });
    expect(await ask(1001, 'udp', 4000, 1000)).to.include({ tc: true });
    expect(await ask(4096, 'udp', 9000)).to.include({ tc: false });
    expect(await ask(4097, 'udp', 9000)).to.include({ tc: true });
    expect(await ask(60000, 'tcp')).to.include({ size: 60000, tc: false });
  });

  it('a header-only upstream answer (12 bytes) is relayed, in a zone and outside', async () => {
    const bare = Buffer.alloc(12);
    bare.writeUInt16BE(0x1234, 0);
    bare.writeUInt16BE(QR | RA | 3, 2);
    for (const name of ['nope.corp.test', 'www.example.org']) {
      const got = (await responder(scripted(() => bare)).handle(query(name), 'udp'))!;
      expect(got.equals(bare), name).to.equal(true);
    }
  });

  it('the SOA names the zone the name is in, when there are several', async () => {
    const r = new DnsResponder({
      resolver: new StaticResolver(['corp.test', 'lab.test'], apps),
      addresses: () => VIP,
      ipv6: true,
      forwarder: scripted(() => null),
    });
    for (const [name, zone] of [
      ['x.lab.test', 'lab.test'],
      ['lab.test', 'lab.test'],
      ['x.corp.test', 'corp.test'],
    ]) {
      const got = dnsPacket.decode((await r.handle(query(name), 'udp'))!);
      expect(
        got.authorities!.map((x) => x.name),
        name,
      ).to.deep.equal([zone]);
    }
  });

  it('our own answers advertise EDNS 1232 only when the query had an OPT record', async () => {
    const r = responder(scripted(() => null));
    const opt = { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as dnsPacket.Answer] };
    const withOpt = dnsPacket.decode((await r.handle(query('web.corp.test', 'A', opt), 'udp'))!);
    expect(
      withOpt.additionals!.map((a) => [a.type, (a as dnsPacket.OptAnswer).udpPayloadSize]),
    ).to.deep.equal([['OPT', 1232]]);
    const without = dnsPacket.decode((await r.handle(query('web.corp.test'), 'udp'))!);
    expect(without.additionals).to.deep.equal([]);
  });
});
