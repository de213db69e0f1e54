// The shared NAT table and the fast path, without any I/O: rewrites both ways over IPv4 and
// IPv6 with checksums verified by full recomputation, expiry, exhaustion, races with the slow path.
import { expect } from 'chai';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import {
  createNatInit,
  natInitForPlan,
  NatTable,
  ST_CLOSING,
  ST_OPEN,
  type NatInit,
} from '../../../systemext/vnet/nat-table';
import { createFastPath, DROP, PASS, WRITTEN } from '../../../systemext/vnet/fast-path';
import { tcpOf } from './kernel';
import { ipToBytes } from '../../../systemext/net/addr';
import { buildTcp, checksumsValid } from '../../../systemext/net/build';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../systemext/net/packet';

const plan = new AddressPlan({ ipv6Prefix: 'fd00:aa:bb::/48' });
const LPORT = 4567;

function setup(capacity = 16): { init: NatInit; nat: NatTable } {
  const init = natInitForPlan(plan, capacity);
  const nat = new NatTable(init);
  nat.setListenerPorts(LPORT, LPORT + 1);
  return { init, nat };
}

for (const family of [4, 6] as const) {
  describe(`vnet NAT fast path (IPv${family})`, () => {
    const vipInfo = plan.assign('web.corp.test');
    const client = family === 4 ? plan.tun4 : plan.tun6;
    const vip = family === 4 ? vipInfo.v4 : vipInfo.v6;
    const seg = (sport: number, flags: number, payload = Buffer.alloc(0)): Buffer =>
      buildTcp({
        src: ipToBytes(client),
        dst: ipToBytes(vip),
        sport,
        dport: 443,
        seq: 99,
        ack: 7,
        flags,
        payload,
      });
    const allocate = (nat: NatTable, p: Buffer): number =>
      family === 4
        ? nat.allocate(p, 12, 16, 4, tcpOf(p).sport, 443)
        : nat.allocate(p, 8, 24, 16, tcpOf(p).sport, 443);

    it('absorbs SYN retransmits while dialing, then rewrites both directions with valid checksums', () => {
      const { init, nat } = setup();
      const fast = createFastPath(init);
      const syn = seg(40000, TCP_SYN);
      expect(fast(Buffer.from(syn))).to.equal(PASS); // unknown flow: slow path
      const e = allocate(nat, syn);
      expect(e).to.be.at.least(0);
      expect(fast(Buffer.from(syn))).to.equal(DROP);
      nat.setState(e, ST_OPEN);
      const out = Buffer.from(syn);
      expect(fast(out)).to.equal(WRITTEN);
      expect(checksumsValid(out)).to.equal(true);
      const f = tcpOf(out);
      const fake = family === 4 ? plan.fake4(nat.fakeIndex(e)) : plan.fake6(nat.fakeIndex(e));
      expect(f).to.include({
        src: fake,
        dst: client,
        sport: nat.natPort(e),
        dport: family === 4 ? LPORT : LPORT + 1,
      });

      const data = Buffer.alloc(1000, 7);
      const reply = buildTcp({
        src: ipToBytes(client),
        dst: ipToBytes(fake),
        sport: family === 4 ? LPORT : LPORT + 1,
        dport: nat.natPort(e),
        seq: 5,
        flags: TCP_ACK | TCP_PSH,
        payload: data,
      });
      expect(fast(reply)).to.equal(WRITTEN);
      expect(checksumsValid(reply)).to.equal(true);
      expect(tcpOf(reply)).to.include({ src: vip, dst: client, sport: 443, dport: 40000 });
    });

    it('handles IPv4 options / odd payload lengths without breaking checksums', () => {
      const { init, nat } = setup();
      const fast = createFastPath(init);
      let p = seg(40001, TCP_ACK | TCP_PSH, Buffer.from('odd'));
      if (family === 4) {
        // Re-build with a 4-byte NOP option list in the IP header (IHL 6).
        const withOpt = Buffer.concat([p.subarray(0, 20), Buffer.from([1, 1, 1, 0]), p.subarray(20)]);
        withOpt[0] = 0x46;
        withOpt.writeUInt16BE(withOpt.length, 2);
        withOpt.writeUInt16BE(0, 10);
        let s = 0;
        for (let i = 0; i < 24; i += 2) s += withOpt.readUInt16BE(i);
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        withOpt.writeUInt16BE(~s & 0xffff, 10);
        p = withOpt;
      }
      const e =
        family === 4 ? nat.allocate(p, 12, 16, 4, 40001, 443) : nat.allocate(p, 8, 24, 16, 40001, 443);
      nat.setState(e, ST_OPEN);
      expect(fast(p)).to.equal(WRITTEN);
      expect(checksumsValid(p)).to.equal(true);
    });

    it('marks FIN/RST so the sweep closes flows after TIME_WAIT, and expires idle ones', () => {
      const { init, nat } = setup();
      const fast = createFastPath(init);
      const a = allocate(nat, seg(41000, TCP_SYN));
      const b = allocate(nat, seg(41001, TCP_SYN));
      const c = allocate(nat, seg(41002, TCP_SYN));
      for (const e of [a, b, c]) nat.setState(e, ST_OPEN);
      nat.setNow(1000);
      expect(fast(seg(41000, TCP_FIN | TCP_ACK))).to.equal(WRITTEN);
      const fake = family === 4 ? plan.fake4(nat.fakeIndex(a)) : plan.fake6(nat.fakeIndex(a));
      const finBack = buildTcp({
        src: ipToBytes(client),
        dst: ipToBytes(fake),
        sport: family === 4 ? LPORT : LPORT + 1,
        dport: nat.natPort(a),
        flags: TCP_FIN | TCP_ACK,
      });
      expect(fast(finBack)).to.equal(WRITTEN);
      expect(fast(seg(41001, TCP_RST))).to.equal(WRITTEN);
      expect(nat.sweep(1000, 5000, 60_000)).to.deep.equal([]);
      expect(nat.state(a)).to.equal(ST_CLOSING);
      expect(nat.state(b)).to.equal(ST_CLOSING);
      expect(nat.state(c)).to.equal(ST_OPEN);
      // During TIME_WAIT the last ACK still translates.
      expect(fast(seg(41000, TCP_ACK))).to.equal(WRITTEN);
      // ... but a new SYN on the same tuple goes to the slow path (a new connection).
      expect(fast(seg(41000, TCP_SYN))).to.equal(PASS);
      const freed = nat.sweep(6000, 5000, 60_000);
      expect(freed.map((f) => f.entry).sort()).to.deep.equal([a, b].sort());
      expect(nat.size).to.equal(1);
      expect(fast(seg(41000, TCP_ACK))).to.equal(PASS);
      expect(nat.sweep(70_000, 5000, 60_000)).to.deep.equal([{ entry: c, reason: 'idle' }]);
      expect(nat.size).to.equal(0);
    });

    it('refuses allocation when full and reuses entries round-robin after frees', () => {
      const { nat } = setup(3);
      const es = [0, 1, 2].map((i) => allocate(nat, seg(42000 + i, TCP_SYN)));
      expect(es).to.deep.equal([0, 1, 2]);
      expect(allocate(nat, seg(42010, TCP_SYN))).to.equal(-1);
      nat.free(1);
      expect(allocate(nat, seg(42011, TCP_SYN))).to.equal(1);
      // Many alloc/free cycles (tombstones, rehash) keep lookups right.
      for (let i = 0; i < 2000; i++) {
        nat.free(0);
        const p = seg(43000 + (i % 1000), TCP_SYN);
        const e = allocate(nat, p);
        expect(e).to.equal(0);
        const found =
          family === 4
            ? nat.lookup(p, 12, 16, 4, 43000 + (i % 1000), 443)
            : nat.lookup(p, 8, 24, 16, 43000 + (i % 1000), 443);
        expect(found).to.equal(0);
      }
    });

    it('passes replies to fake addresses that have no entry, and ignores non-TCP', () => {
      const { init } = setup();
      const fast = createFastPath(init);
      const fake = family === 4 ? plan.fake4(0) : plan.fake6(0);
      const stray = buildTcp({
        src: ipToBytes(client),
        dst: ipToBytes(fake),
        sport: family === 4 ? LPORT : LPORT + 1,
        dport: 1024,
        flags: TCP_ACK,
      });
      expect(fast(stray)).to.equal(PASS);
      expect(fast(Buffer.alloc(60))).to.equal(PASS);
    });
  });
}

describe('vnet NAT fake addressing', () => {
  it('maps entries to distinct fake address/port pairs and back', () => {
    const { nat } = setup(1000);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const key = `${nat.fakeIndex(i)}:${nat.natPort(i)}`;
      expect(seen.has(key)).to.equal(false);
      seen.add(key);
      expect(nat.entryOfFake(nat.fakeIndex(i), nat.natPort(i))).to.equal(i);
    }
    expect(nat.entryOfFake(-1, 2000)).to.equal(-1);
    expect(nat.entryOfFake(0, 80)).to.equal(-1);
    expect(nat.entryOfFake(254, 65535)).to.equal(-1);
  });

  it('rejects impossible capacities', () => {
    expect(() =>
      createNatInit({
        capacity: 0,
        fakeCount: 1,
        tun4: 0,
        fakeBase4: 0,
        tun6: Buffer.alloc(16),
        prefix6: Buffer.alloc(12),
      }),
    ).to.throw(/capacity/);
  });
});
