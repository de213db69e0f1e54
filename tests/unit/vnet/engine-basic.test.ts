// The engine on an in-memory tun pair: DNS answers and the TCP system-stack NAT rewrite.
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { createMemoryTunPair } from '../../../systemext/tun/memory';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import { StaticResolver } from '../../../systemext/vnet/resolver';
import { DirectDialer } from '../../../systemext/vnet/dialer';
import { VNetEngine } from '../../../systemext/vnet/engine';
import { ipToBytes, bytesToIp } from '../../../systemext/net/addr';
import { buildTcp, checksumsValid } from '../../../systemext/net/build';
import { parseIp, parseTcp, TCP_SYN, TCP_ACK, TCP_RST } from '../../../systemext/net/packet';
import { FakeKernel } from './kernel';

describe('vnet engine (in-memory tun)', () => {
  let engine: VNetEngine;
  let kernel: FakeKernel;
  let plan: AddressPlan;
  let echo: Server;
  let echoPort: number;

  before(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as { port: number }).port;
    const [eng, kern] = createMemoryTunPair(1500);
    plan = new AddressPlan({ ipv6Prefix: 'fd00:1:2::/48' });
    engine = new VNetEngine({
      plan,
      resolver: new StaticResolver(
        ['corp.test'],
        [{ fqdn: 'web.corp.test', target: { host: '127.0.0.1', port: echoPort } }],
      ),
      dialer: new DirectDialer(),
      upstreams: [],
      listener: { port: 4000, bind: false },
      sweepIntervalMs: 0,
    });
    await engine.start(eng);
    kernel = new FakeKernel(kern);
  });

  after(async () => {
    await engine?.stop();
    echo?.close();
  });

  it('answers A with the virtual IP, TTL 10', async () => {
    const { msg } = await kernel.query(plan.tun4, plan.dns4, { type: 'A', name: 'web.corp.test' });
    expect((msg as { rcode?: string }).rcode).to.equal('NOERROR');
    expect(msg.answers).to.have.length(1);
    const a = msg.answers![0] as { type: string; data: string; ttl: number };
    expect(a.data).to.equal(plan.assign('web.corp.test').v4);
    expect(a.ttl).to.equal(10);
  });

  it('rewrites a SYN to the listener once the dial succeeds', async () => {
    const vip = plan.assign('web.corp.test').v4;
    const syn = buildTcp({
      src: ipToBytes(plan.tun4),
      dst: ipToBytes(vip),
      sport: 40001,
      dport: 80,
      seq: 1000,
      flags: TCP_SYN,
    });
    kernel.send(syn);
    const out = await kernel.next((p) => {
      const ip = parseIp(p);
      return typeof ip !== 'string' && ip.protocol === 6;
    });
    expect(checksumsValid(out)).to.equal(true);
    const ip = parseIp(out);
    if (typeof ip === 'string') throw new Error(ip);
    const tcp = parseTcp(out, ip);
    if (typeof tcp === 'string') throw new Error(tcp);
    expect(bytesToIp(out.subarray(16, 20))).to.equal(plan.tun4);
    expect(bytesToIp(out.subarray(12, 16))).to.equal(plan.fake4(0));
    expect(tcp.dport).to.equal(4000);
    expect(tcp.flags & TCP_RST).to.equal(0);
    // The listener's SYN-ACK comes back as VIP:80 -> tun4:40001.
    const synack = buildTcp({
      src: ipToBytes(plan.tun4),
      dst: out.subarray(12, 16),
      sport: 4000,
      dport: tcp.sport,
      seq: 5000,
      ack: 1001,
      flags: TCP_SYN | TCP_ACK,
    });
    kernel.send(synack);
    const back = await kernel.next();
    expect(checksumsValid(back)).to.equal(true);
    expect(bytesToIp(back.subarray(12, 16))).to.equal(vip);
    expect(bytesToIp(back.subarray(16, 20))).to.equal(plan.tun4);
    expect(back.readUInt16BE(20)).to.equal(80);
    expect(back.readUInt16BE(22)).to.equal(40001);
  });
});
