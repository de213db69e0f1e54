// The upstream forwarder's anti-spoofing: only an answer from the upstream's own address and port,
// with the forwarder's random ID and the response bit, counts. Spoofed answers are sent first here,
// so accepting any of them would change the result.
import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { UpstreamForwarder } from '../../../systemext/dns/forwarder';

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
