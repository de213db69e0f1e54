// Robustness: 100 000 random and mutated packets (fixed seed) into the engine through the
// in-memory tun. No exception may escape, the packet handler may never throw internally, and
// afterwards DNS and TCP still work.
import { expect } from 'chai';
import { PassThrough, type Duplex } from 'node:stream';
import * as dnsPacket from 'dns-packet';
import { createMemoryTunPair } from '../../../systemext/tun/memory';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import { StaticResolver, type AppInfo } from '../../../systemext/vnet/resolver';
import type { Dialer } from '../../../systemext/vnet/dialer';
import { VNetEngine } from '../../../systemext/vnet/engine';
import { createFastPath } from '../../../systemext/vnet/fast-path';
import { ipToBytes } from '../../../systemext/net/addr';
import { buildIcmp, buildTcp, buildUdp } from '../../../systemext/net/build';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../systemext/net/packet';
import { FakeKernel } from './kernel';

const SEED = 0x5eed1234;
const TOTAL = 100_000;
const BATCH = 1000;

function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Port 80 connects (to nothing: a PassThrough), other ports are refused. */
class FuzzDialer implements Dialer {
  async dial(_app: AppInfo, port: number): Promise<Duplex> {
    if (port !== 80) throw new Error('refused');
    return new PassThrough();
  }
}

describe('vnet engine fuzz (100 000 packets, fixed seed)', function () {
  this.timeout(120_000);
  const escaped: unknown[] = [];
  const onEscape = (e: unknown): void => {
    escaped.push(e);
  };
  before(() => {
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
  });
  after(() => {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  });

  it('survives random and mutated packets and still serves DNS and TCP', async () => {
    const rnd = prng(SEED);
    const int = (n: number): number => Math.floor(rnd() * n);
    const [eng, kern] = createMemoryTunPair(9000);
    const plan = new AddressPlan({ ipv6Prefix: 'fd00:f:f::/48' });
    const engine = new VNetEngine({
      plan,
      resolver: new StaticResolver(['corp.test'], [{ fqdn: 'web.corp.test', target: { host: '127.0.0.1' } }]),
      dialer: new FuzzDialer(),
      upstreams: [],
      listener: { port: 4000, bind: false },
      natCapacity: 512,
      sweepIntervalMs: 0,
    });
    const internalFailures: string[] = [];
    engine.on('error', (e: { message: string }) => {
      if (/packet handling failed/.test(e.message)) internalFailures.push(e.message);
    });
    await engine.start(eng);
    const k = new FakeKernel(kern);
    try {
      const app = plan.assign('web.corp.test');
      const t4 = ipToBytes(plan.tun4);
      const t6 = ipToBytes(plan.tun6);
      const v4 = ipToBytes(app.v4);
      const v6 = ipToBytes(app.v6);
      const fake4 = ipToBytes(plan.fake4(0));
      const dnsQ = (name: string, type: dnsPacket.RecordType): Buffer =>
        dnsPacket.encode({ type: 'query', id: int(65536), questions: [{ type, name }] });
      const seeds: Buffer[] = [
        buildUdp({
          src: t4,
          dst: ipToBytes(plan.dns4),
          sport: 5353,
          dport: 53,
          payload: dnsQ('web.corp.test', 'A'),
        }),
        buildUdp({
          src: t6,
          dst: ipToBytes(plan.dns6),
          sport: 5353,
          dport: 53,
          payload: dnsQ('web.corp.test', 'AAAA'),
        }),
        buildUdp({
          src: t4,
          dst: ipToBytes(plan.dns4),
          sport: 5353,
          dport: 53,
          payload: dnsQ('x.example', 'MX'),
        }),
        buildTcp({ src: t4, dst: v4, sport: 30000, dport: 80, seq: 1, flags: TCP_SYN }),
        buildTcp({ src: t6, dst: v6, sport: 30001, dport: 80, seq: 1, flags: TCP_SYN }),
        buildTcp({ src: t4, dst: v4, sport: 30002, dport: 22, seq: 1, flags: TCP_SYN }),
        buildTcp({
          src: t4,
          dst: v4,
          sport: 30000,
          dport: 80,
          seq: 2,
          ack: 9,
          flags: TCP_ACK | TCP_PSH,
          payload: Buffer.alloc(100, 1),
        }),
        buildTcp({ src: t4, dst: fake4, sport: 4000, dport: 1024, seq: 9, ack: 2, flags: TCP_ACK | TCP_FIN }),
        buildTcp({ src: t4, dst: ipToBytes(plan.dns4), sport: 30003, dport: 53, seq: 1, flags: TCP_SYN }),
        buildTcp({ src: t4, dst: v4, sport: 30000, dport: 80, flags: TCP_RST }),
        buildIcmp(t4, v4, 8, 0, 1, Buffer.from('ping')),
        buildIcmp(t6, v6, 128, 0, 1, Buffer.from('ping')),
        buildUdp({ src: t4, dst: v4, sport: 1, dport: 161, payload: Buffer.from('snmp') }),
      ];
      // Make the first seed flows exist, so mutations also hit the fast path.
      k.send(seeds[3]);
      await k.next((p) => p[9] === 6);

      const mutate = (src: Buffer): Buffer => {
        let p = Buffer.from(src);
        switch (int(8)) {
          case 0: // flip a few bytes
            for (let n = 1 + int(4); n > 0; n--) p[int(p.length)] = int(256);
            break;
          case 1: // truncate
            p = p.subarray(0, int(p.length));
            break;
          case 2: // extend with junk
            p = Buffer.concat([p, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]);
            break;
          case 3: // bad IHL / version nibble
            p[0] = (p[0] & 0xf0) | int(16);
            if (int(4) === 0) p[0] = (int(16) << 4) | (p[0] & 0x0f);
            break;
          case 4: // bad length fields (IP total / payload length, UDP length)
            if (p[0] >> 4 === 4) p.writeUInt16BE(int(65536), 2);
            else if (p.length > 6) p.writeUInt16BE(int(65536), 4);
            if (p.length > 26 && int(2)) p.writeUInt16BE(int(65536), p[0] >> 4 === 4 ? 24 : 44);
            break;
          case 5: // fragments, IPv6 extension headers
            if (p[0] >> 4 === 4) p[6] = int(2) ? 0x20 : int(256);
            else p[6] = [0, 43, 44, 60, 59][int(5)];
            break;
          case 6: // TCP data offset / flags
            if (p.length > 33) {
              const l4 = p[0] >> 4 === 4 ? 20 : 40;
              if (p.length > l4 + 13) {
                p[l4 + 12] = int(256);
                p[l4 + 13] = int(256);
              }
            }
            break;
          default: // the DNS payload
            if (p.length > 40) for (let n = 1 + int(6); n > 0; n--) p[28 + int(p.length - 28)] = int(256);
        }
        return p;
      };
      const randomPacket = (): Buffer => {
        const p = Buffer.from(Array.from({ length: int(120) }, () => int(256)));
        if (p.length > 0 && int(2)) p[0] = int(2) ? 0x45 : 0x60;
        return p;
      };

      const fast = createFastPath(engine.natInit); // the worker's function, hammered directly too
      for (let sent = 0; sent < TOTAL; sent += BATCH) {
        const batch: Buffer[] = [];
        for (let i = 0; i < BATCH; i++) {
          const p = int(5) === 0 ? randomPacket() : mutate(seeds[int(seeds.length)]);
          if (p.length === 0) continue;
          fast(Buffer.from(p));
          batch.push(p);
        }
        k.drain();
        k.send(batch);
        // Barrier: a valid ping is answered once the batch has been processed.
        k.send(buildIcmp(t4, ipToBytes(plan.dns4), 8, 0, 0xfeed0000 + sent / BATCH, Buffer.from('b')));
        await k.next((p) => p[9] === 1 && p.readUInt32BE(24) === 0xfeed0000 + sent / BATCH);
        engine.sweep();
      }
      await new Promise((r) => setImmediate(r));
      expect(escaped).to.deep.equal([]);
      expect(internalFailures).to.deep.equal([]);
      expect(engine.stats.packets).to.be.greaterThan(TOTAL * 0.9);

      // Still alive: DNS...
      k.drain();
      const { msg } = await k.query(plan.tun4, plan.dns4, { type: 'A', name: 'web.corp.test' });
      expect(msg.answers?.map((a) => (a as { data: string }).data)).to.deep.equal([app.v4]);
      // ...and a new TCP connection (after freeing the table the fuzz filled).
      for (const e of engine.nat.entries()) engine.nat.free(e);
      k.send(buildTcp({ src: t4, dst: v4, sport: 65000, dport: 80, seq: 1, flags: TCP_SYN }));
      const synOut = await k.next((p) => p[9] === 6 && p.readUInt16BE(22) === 4000);
      expect(synOut.readUInt16BE(20)).to.be.at.least(1024);
    } finally {
      await engine.stop();
    }
  });
});
