// The upstream forwarder's anti-spoofing: only an answer from the upstream's own address and port,
// with the forwarder's random ID and the response bit, counts. Spoofed answers are sent first here,
// so accepting any of them would change the result.
import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { sameHost, tcpQuery, UpstreamForwarder } from '../../../systemext/dns/forwarder';
import { StubUpstream, type StubHandler } from './stub-upstream';

function answer(id: number, q: dnsPacket.Packet, data: string, flags = 0): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags,
    questions: q.questions,
    answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data }],
  });
}

const bind = async (host: string): Promise<Socket> => {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, host, r));
  return s;
};

describe('dns: upstream forwarder anti-spoofing', () => {
  const sockets: Socket[] = [];
  afterEach(() => sockets.splice(0).forEach((s) => s.close()));

  it('ignores answers from another port, another address, with another ID, or without QR', async () => {
    const upstream = await bind('127.0.0.1');
    const otherPort = await bind('127.0.0.1');
    const otherAddr = await bind('127.0.0.2');
    sockets.push(upstream, otherPort, otherAddr);
    let seenId = -1;
    upstream.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      seenId = q.id!;
      const to = (s: Socket, b: Buffer) => s.send(b, rinfo.port, rinfo.address);
      to(otherPort, answer(q.id!, q, '192.0.2.66')); // right ID, wrong port
      to(otherAddr, answer(q.id!, q, '192.0.2.67')); // right ID, wrong address
      to(upstream, answer((q.id! + 1) & 0xffff, q, '192.0.2.68')); // wrong ID
      const noQr = answer(q.id!, q, '192.0.2.69');
      noQr[2] &= 0x7f; // a "query", not a response
      to(upstream, noQr);
      setTimeout(() => to(upstream, answer(q.id!, q, '192.0.2.1')), 20);
    });
    const fwd = new UpstreamForwarder(() => [{ host: '127.0.0.1', port: upstream.address().port }], 30_000);
    const query = dnsPacket.encode({
      type: 'query',
      id: 0x4242,
      questions: [{ type: 'A', name: 'x.example.org' }],
    });
    const got = await fwd.forward(query, false);
    expect(got).to.not.equal(null);
    const m = dnsPacket.decode(got!);
    expect(m.id).to.equal(0x4242); // the client's ID restored
    expect(seenId).to.not.equal(0x4242); // ...while upstream saw a random one
    expect(m.answers!.map((a) => (a as { data: string }).data)).to.deep.equal(['192.0.2.1']);
  });

  it('uses a fresh random ID per query', async () => {
    const upstream = await bind('127.0.0.1');
    sockets.push(upstream);
    const ids: number[] = [];
    upstream.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      ids.push(q.id!);
      upstream.send(answer(q.id!, q, '192.0.2.1'), rinfo.port, rinfo.address);
    });
    const fwd = new UpstreamForwarder(() => [{ host: '127.0.0.1', port: upstream.address().port }], 30_000);
    const query = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [{ type: 'A', name: 'x.example.org' }],
    });
    for (let i = 0; i < 8; i++) await fwd.forward(query, false);
    expect(new Set(ids).size).to.be.greaterThan(1);
  });
});

// Which answer wins, truncation and TCP, deadlines. The deadlines here are hang guards (30 s) unless
// a test is about the deadline itself, where the upstream is silent and never answers.
describe('dns: upstream forwarder choices', () => {
  const stubs: StubUpstream[] = [];
  const sockets: Socket[] = [];
  const stub = async (h: StubHandler): Promise<StubUpstream> => {
    const s = await new StubUpstream(h).start();
    stubs.push(s);
    return s;
  };
  afterEach(async () => {
    sockets.splice(0).forEach((s) => s.close());
    await Promise.all(stubs.splice(0).map((s) => s.stop()));
  });
  const up = (s: { port: number }) => ({ host: '127.0.0.1', port: s.port });
  const query = (name = 'x.example.org', type = 'A') =>
    dnsPacket.encode({ type: 'query', id: 0x0101, questions: [{ type, name } as dnsPacket.Question] });
  const rcodeOf = (b: Buffer) => b[3] & 0x0f;
  const a = (data: string) => (q: dnsPacket.Packet) => ({
    answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data }] as dnsPacket.Answer[],
  });

  it('sends nothing for a query without a header, or without upstreams', async () => {
    const s = await stub(a('192.0.2.1'));
    expect(await new UpstreamForwarder(() => [up(s)], 30_000).forward(Buffer.alloc(11), false)).to.equal(
      null,
    );
    expect(s.queries).to.equal(0);
    expect(await new UpstreamForwarder(() => [], 30_000).forward(query(), false)).to.equal(null);
    expect(await new UpstreamForwarder(() => Promise.resolve([]), 30_000).forward(query(), false)).to.equal(
      null,
    );
  });

  it('SERVFAIL or REFUSED lose to a real answer; when all upstreams fail, the first failure is the answer at once', async () => {
    const servfail = await stub(() => ({ flags: 2 }));
    const refused = await stub(() => ({ flags: 5 }));
    const good = await stub(a('192.0.2.7'));
    const fwd = new UpstreamForwarder(() => [up(servfail), up(refused), up(good)], 30_000);
    const got = (await fwd.forward(query(), false))!;
    expect(rcodeOf(got)).to.equal(0);
    expect(dnsPacket.decode(got).answers!.map((x) => (x as { data: string }).data)).to.deep.equal([
      '192.0.2.7',
    ]);
    // Without the good one both fail: the answer comes before the 30 s deadline, with the client's id.
    const bad = (await new UpstreamForwarder(() => [up(servfail), up(refused)], 30_000).forward(
      query(),
      false,
    ))!;
    expect([2, 5]).to.include(rcodeOf(bad));
    expect(bad.readUInt16BE(0)).to.equal(0x0101);
  });

  it('at the deadline: the failure seen so far, else null', async () => {
    const silent = await stub(() => null);
    const servfail = await stub(() => ({ flags: 2 }));
    expect(await new UpstreamForwarder(() => [up(silent)], 20).forward(query(), false)).to.equal(null);
    // 2 s: the SERVFAIL over loopback arrives long before; the silent one decides the wait.
    const got = await new UpstreamForwarder(() => [up(silent), up(servfail)], 2000).forward(query(), false);
    expect(got && rcodeOf(got)).to.equal(2);
  });

  it('a truncated UDP answer: as is when the client is on UDP; over TCP when it wants the full answer', async () => {
    const trunc = await stub((q, transport) =>
      transport === 'udp' ? { flags: dnsPacket.TRUNCATED_RESPONSE } : a('192.0.2.9')(q),
    );
    const fwd = new UpstreamForwarder(() => [up(trunc)], 30_000);
    const udp = (await fwd.forward(query(), false))!;
    expect(udp[2] & 0x02).to.equal(0x02);
    expect(trunc.queries).to.equal(1);
    const full = (await fwd.forward(query(), true))!;
    expect(full[2] & 0x02).to.equal(0);
    expect(full.readUInt16BE(0)).to.equal(0x0101);
    expect(dnsPacket.decode(full).answers).to.have.length(1);
  });

  it('a truncated answer whose TCP retry fails is still the answer (nothing listens on TCP)', async () => {
    const udpOnly = createSocket('udp4');
    sockets.push(udpOnly);
    await new Promise<void>((r) => udpOnly.bind(0, '127.0.0.1', r));
    udpOnly.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const tc = dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.TRUNCATED_RESPONSE,
        questions: q.questions,
      });
      udpOnly.send(tc, rinfo.port, rinfo.address);
    });
    const got = (await new UpstreamForwarder(() => [up(udpOnly.address())], 30_000).forward(query(), true))!;
    expect(got[2] & 0x02).to.equal(0x02);
    expect(got.readUInt16BE(0)).to.equal(0x0101);
  });
});

describe('dns: one query over TCP (tcpQuery)', () => {
  const servers: Server[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.close()));
  const serve = async (onConn: (s: NetSocket) => void): Promise<number> => {
    const srv = createServer((s) => {
      s.on('error', () => {});
      onConn(s);
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return (srv.address() as { port: number }).port;
  };
  const q = Buffer.from('0123456789ab', 'latin1');

  it('sends the query length-prefixed and reads an answer that arrives in pieces', async () => {
    let seen = Buffer.alloc(0);
    const port = await serve((s) =>
      s.on('data', (d: Buffer) => {
        seen = Buffer.concat([seen, d]);
        if (seen.length < 2 + q.length) return;
        const answer = Buffer.from('answer-bytes!');
        const framed = Buffer.concat([Buffer.from([0, answer.length]), answer, Buffer.from('trailing')]);
        // A first piece of one byte: not even the length yet.
        s.write(framed.subarray(0, 1));
        setTimeout(() => s.write(framed.subarray(1, 6)), 20);
        setTimeout(() => s.write(framed.subarray(6)), 40);
      }),
    );
    const got = await tcpQuery({ host: '127.0.0.1', port }, q, 30_000);
    expect(seen.readUInt16BE(0)).to.equal(q.length);
    expect(seen.subarray(2).equals(q)).to.equal(true);
    expect(got?.toString()).to.equal('answer-bytes!');
  });

  it('null when the server closes early, refuses, or stays silent past the deadline', async () => {
    const closes = await serve((s) => s.end(Buffer.from([0, 10, 1, 2])));
    expect(await tcpQuery({ host: '127.0.0.1', port: closes }, q, 600_000)).to.equal(null);
    const refused = await serve(() => {});
    servers.pop()!.close(); // stops listening at once: the connect is refused
    expect(await tcpQuery({ host: '127.0.0.1', port: refused }, q, 30_000)).to.equal(null);
    const silent = await serve(() => {});
    expect(await tcpQuery({ host: '127.0.0.1', port: silent }, q, 20)).to.equal(null);
  });
});

describe('dns: upstream forwarder edge cases', () => {
  const sockets: Socket[] = [];
  const servers: Server[] = [];
  afterEach(() => {
    sockets.splice(0).forEach((s) => s.close());
    servers.splice(0).forEach((s) => s.close());
  });
  /** A raw UDP upstream: `reply` gets each query and where it came from. */
  const rawUpstream = async (
    reply: (q: Buffer, from: { address: string; port: number }, s: Socket) => void,
    family: 'udp4' | 'udp6' = 'udp4',
  ): Promise<Socket> => {
    const s = createSocket(family);
    sockets.push(s);
    await new Promise<void>((r) => s.bind(0, family === 'udp4' ? '127.0.0.1' : '::1', r));
    s.on('message', (msg, rinfo) => reply(msg, rinfo, s));
    return s;
  };
  const header = (id: number, flags: number): Buffer => {
    const b = Buffer.alloc(12);
    b.writeUInt16BE(id, 0);
    b.writeUInt16BE(flags, 2);
    return b;
  };
  const query = () =>
    dnsPacket.encode({ type: 'query', id: 0x0202, questions: [{ type: 'A', name: 'x.example.org' }] });
  const dataOf = (b: Buffer) => dnsPacket.decode(b).answers!.map((x) => (x as { data: string }).data);
  const aAnswer = (q: Buffer, data: string) => {
    const m = dnsPacket.decode(q);
    return dnsPacket.encode({
      type: 'response',
      id: m.id,
      questions: m.questions,
      answers: [{ type: 'A', name: 'x.example.org', ttl: 60, data }],
    });
  };

  it('sameHost: equal, or equal once an IPv4-mapped prefix is taken off the front', () => {
    expect(sameHost('127.0.0.1', '127.0.0.1')).to.equal(true);
    expect(sameHost('127.0.0.1', '::ffff:127.0.0.1')).to.equal(true);
    expect(sameHost('::ffff:127.0.0.1', '127.0.0.1')).to.equal(true);
    expect(sameHost('127.0.0.1', '127.0.0.2')).to.equal(false);
    expect(sameHost('::ffff:127.0.0.1', '::ffff:127.0.0.2')).to.equal(false);
    // Only a leading prefix counts.
    expect(sameHost('1::ffff:2', '12')).to.equal(false);
    expect(sameHost('12', '1::ffff:2')).to.equal(false);
  });

  it('a header-only query (12 bytes) is forwarded; a header-only answer counts, a shorter one does not', async () => {
    const seen: number[] = [];
    const u = await rawUpstream((q, from, s) => {
      seen.push(q.length);
      s.send(Buffer.from([q[0], q[1], 0x80, 0, 0, 0]), from.port, from.address); // 6 bytes: ignored
      s.send(header(q.readUInt16BE(0), 0x8000), from.port, from.address);
    });
    const fwd = new UpstreamForwarder(() => [{ host: '127.0.0.1', port: u.address().port }], 600_000);
    const got = (await fwd.forward(header(0x0303, 0x0100), false))!;
    expect(seen).to.deep.equal([12]);
    expect(got).to.have.length(12);
    expect(got.readUInt16BE(0)).to.equal(0x0303);
  });

  it('an answer that is not truncated is taken from UDP even when the client wants the full answer', async () => {
    const stub = await new StubUpstream((q, transport) => ({
      answers: [
        {
          type: 'A',
          name: q.questions![0].name,
          ttl: 60,
          data: transport === 'udp' ? '192.0.2.1' : '192.0.2.2',
        },
      ],
    })).start();
    try {
      const got = (await new UpstreamForwarder(
        () => [{ host: '127.0.0.1', port: stub.port }],
        600_000,
      ).forward(query(), true))!;
      expect(dataOf(got)).to.deep.equal(['192.0.2.1']);
      expect(stub.queries).to.equal(1);
    } finally {
      await stub.stop();
    }
  });

  it('while the TCP retry runs, a later UDP answer from another upstream is ignored', async () => {
    // `other` answers over UDP only once the TCP retry has reached `trunc`, which answers over TCP
    // a little later: the TCP answer must win.
    let otherSend: (() => void) | null = null;
    const other = await rawUpstream((q, from, s) => {
      otherSend = () => s.send(aAnswer(q, '192.0.2.66'), from.port, from.address);
    });
    const trunc = await rawUpstream((q, from, s) => {
      const m = dnsPacket.decode(q);
      s.send(
        dnsPacket.encode({
          type: 'response',
          id: m.id,
          flags: dnsPacket.TRUNCATED_RESPONSE,
          questions: m.questions,
        }),
        from.port,
        from.address,
      );
    });
    const tcp = createServer((c) => {
      c.on('error', () => {});
      c.once('data', (d: Buffer) => {
        otherSend?.();
        const full = aAnswer(d.subarray(2, 2 + d.readUInt16BE(0)), '192.0.2.9');
        setTimeout(
          () => c.end(Buffer.concat([Buffer.from([full.length >> 8, full.length & 255]), full])),
          50,
        );
      });
    });
    servers.push(tcp);
    await new Promise<void>((r) => tcp.listen(trunc.address().port, '127.0.0.1', r));
    const ups = [
      { host: '127.0.0.1', port: trunc.address().port },
      { host: '127.0.0.1', port: other.address().port },
    ];
    const got = (await new UpstreamForwarder(() => ups, 600_000).forward(query(), true))!;
    expect(dataOf(got)).to.deep.equal(['192.0.2.9']);
  });

  it('one socket per address family, for all upstreams of that family; IPv6 upstreams too', async () => {
    const from: string[] = [];
    const answer = (q: Buffer, f: { address: string; port: number }, s: Socket) => {
      from.push(`${f.port}`);
      s.send(
        dnsPacket.encode({ type: 'response', id: q.readUInt16BE(0), flags: 2, questions: [] }),
        f.port,
        f.address,
      );
    };
    const a = await rawUpstream(answer);
    const b = await rawUpstream(answer);
    const ups = [a, b].map((s) => ({ host: '127.0.0.1', port: s.address().port }));
    await new UpstreamForwarder(() => ups, 600_000).forward(query(), false);
    expect(from).to.have.length(2);
    expect(from[0]).to.equal(from[1]);
    const six = await rawUpstream((q, f, s) => s.send(aAnswer(q, '192.0.2.6'), f.port, f.address), 'udp6');
    const got = (await new UpstreamForwarder(
      () => [{ host: '::1', port: six.address().port }],
      600_000,
    ).forward(query(), false))!;
    expect(dataOf(got)).to.deep.equal(['192.0.2.6']);
  });

  it('sends that fail count as failed upstreams: all failed ends at once, one failed does not', async () => {
    // A broadcast address without SO_BROADCAST: the kernel refuses the send (EACCES).
    const broadcast = { host: '255.255.255.255', port: 53 };
    expect(await new UpstreamForwarder(() => [broadcast], 600_000).forward(query(), false)).to.equal(null);
    const good = await rawUpstream((q, f, s) =>
      setTimeout(() => s.send(aAnswer(q, '192.0.2.5'), f.port, f.address), 50),
    );
    const ups = [broadcast, { host: '127.0.0.1', port: good.address().port }];
    const got = (await new UpstreamForwarder(() => ups, 600_000).forward(query(), false))!;
    expect(dataOf(got)).to.deep.equal(['192.0.2.5']);
  });
});
