// The shared NAT table and the fast path, without any I/O: rewrites both ways over IPv4 and
// IPv6 with checksums verified by full recomputation, expiry, exhaustion, races with the slow path.
import { expect } from 'chai';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import {
  createNatInit,
  natInitForPlan,
  NatTable,
  NatView,
  ST_CLOSING,
  ST_DIALING,
  ST_FREE,
  ST_OPEN,
  ST_RETIRED,
  type NatInit,
} from '../../../systemext/vnet/nat-table';
import { createFastPath, DROP, PASS, REPLY } from '../../../systemext/vnet/fast-path';
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
      expect(fast(out)).to.equal(REPLY);
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
      expect(fast(reply)).to.equal(REPLY);
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
      expect(fast(p)).to.equal(REPLY);
      expect(checksumsValid(p)).to.equal(true);
    });

    const fakeOf = (nat: NatTable, e: number): string =>
      family === 4 ? plan.fake4(nat.fakeIndex(e)) : plan.fake6(nat.fakeIndex(e));
    const fromListener = (nat: NatTable, e: number, flags: number): Buffer =>
      buildTcp({
        src: ipToBytes(client),
        dst: ipToBytes(fakeOf(nat, e)),
        sport: family === 4 ? LPORT : LPORT + 1,
        dport: nat.natPort(e),
        seq: 5,
        ack: 100,
        flags,
      });

    it('holds a closed entry for TIME_WAIT: still translated, never reallocated, then freed', () => {
      const { init, nat } = setup(3);
      const fast = createFastPath(init);
      const a = allocate(nat, seg(41000, TCP_SYN));
      nat.setState(a, ST_OPEN);
      nat.close(a, 1000, 60_000); // our sockets closed at t = 1 s
      expect(nat.state(a)).to.equal(ST_CLOSING);
      // Late segments still translate both ways.
      expect(fast(seg(41000, TCP_ACK))).to.equal(REPLY);
      expect(fast(fromListener(nat, a, TCP_FIN | TCP_ACK))).to.equal(REPLY);
      // Round-robin comes back to `a` after two more flows and a free: it must be skipped.
      const b = allocate(nat, seg(41001, TCP_SYN));
      const c = allocate(nat, seg(41002, TCP_SYN));
      nat.free(b);
      nat.free(c);
      for (let i = 0; i < 6; i++) {
        const e = allocate(nat, seg(41100 + i, TCP_SYN));
        expect(e).to.not.equal(a);
        nat.free(e);
      }
      expect(nat.sweep(60_999, 7_200_000).freed).to.deep.equal([]);
      expect(nat.sweep(61_000, 7_200_000).freed).to.deep.equal([a]);
      expect(nat.state(a)).to.equal(ST_FREE);
      expect(fast(seg(41000, TCP_ACK))).to.equal(PASS);
    });

    it('frees a DIALING entry at once on close (nothing of it reached the kernel)', () => {
      const { nat } = setup();
      const a = allocate(nat, seg(41000, TCP_SYN));
      expect(nat.state(a)).to.equal(ST_DIALING);
      nat.close(a, 0, 60_000);
      expect(nat.state(a)).to.equal(ST_FREE);
      expect(nat.size).to.equal(0);
    });

    it('marks FIN/RST; a bare SYN after the client FIN or RST goes to the slow path, a SYN retransmit does not', () => {
      const { init, nat } = setup();
      const fast = createFastPath(init);
      const a = allocate(nat, seg(41000, TCP_SYN));
      const b = allocate(nat, seg(41001, TCP_SYN));
      const c = allocate(nat, seg(41002, TCP_SYN));
      for (const e of [a, b, c]) nat.setState(e, ST_OPEN);
      // Open, no FIN: a bare SYN is a retransmit of the SYN we already rewrote: forward it.
      expect(fast(seg(41002, TCP_SYN))).to.equal(REPLY);
      expect(fast(seg(41000, TCP_FIN | TCP_ACK))).to.equal(REPLY);
      expect(fast(seg(41001, TCP_RST))).to.equal(REPLY);
      expect(nat.flags(a)).to.equal(1);
      expect(nat.flags(b)).to.equal(4);
      expect(fast(fromListener(nat, c, TCP_FIN | TCP_ACK))).to.equal(REPLY);
      expect(nat.flags(c)).to.equal(2);
      // A new connection on a tuple whose client side ended must not reach the old socket.
      expect(fast(seg(41000, TCP_SYN))).to.equal(PASS);
      expect(fast(seg(41001, TCP_SYN))).to.equal(PASS);
      // Flags alone never close or free an entry: that follows our sockets.
      expect(nat.sweep(10_000_000, 7_200_000 * 10).freed).to.deep.equal([]);
      expect([a, b, c].map((e) => nat.state(e))).to.deep.equal([ST_OPEN, ST_OPEN, ST_OPEN]);
    });

    it('retire(): a new flow on the same client tuple; the old entry stops translating but stays held', () => {
      const { init, nat } = setup();
      const fast = createFastPath(init);
      const old = allocate(nat, seg(41000, TCP_SYN));
      nat.setState(old, ST_OPEN);
      nat.retire(old, 0, 60_000);
      expect(nat.state(old)).to.equal(ST_RETIRED);
      expect(fast(seg(41000, TCP_ACK))).to.equal(PASS); // no longer in the hash
      expect(fast(fromListener(nat, old, TCP_ACK))).to.equal(PASS); // the old socket's late segment
      const fresh = allocate(nat, seg(41000, TCP_SYN));
      expect(fresh).to.not.equal(old);
      nat.setState(fresh, ST_OPEN);
      const out = seg(41000, TCP_ACK);
      expect(fast(out)).to.equal(REPLY);
      expect(tcpOf(out).sport).to.equal(nat.natPort(fresh));
      expect(nat.sweep(59_999, 7_200_000).freed).to.deep.equal([]);
      expect(nat.sweep(60_000, 7_200_000).freed).to.deep.equal([old]);
      expect(nat.size).to.equal(1);
    });

    it('reports idle open entries to the caller instead of freeing them', () => {
      const { nat } = setup();
      const a = allocate(nat, seg(41000, TCP_SYN));
      nat.setState(a, ST_OPEN);
      expect(nat.sweep(30_000, 60_000)).to.deep.equal({ freed: [], idle: [] });
      expect(nat.sweep(60_000, 60_000)).to.deep.equal({ freed: [], idle: [a] });
      expect(nat.state(a)).to.equal(ST_OPEN);
    });

    it('never translates listener segments of an entry that is dialing or free', () => {
      const { init, nat } = setup();
      const fast = createFastPath(init);
      const a = allocate(nat, seg(41000, TCP_SYN));
      expect(fast(fromListener(nat, a, TCP_SYN | TCP_ACK))).to.equal(PASS); // DIALING
      nat.free(a);
      expect(fast(fromListener(nat, a, TCP_ACK))).to.equal(PASS); // FREE
      expect(fast(fromListener(nat, 5, TCP_ACK))).to.equal(PASS); // never used
    });

    // Regression: toListener() used the entry lookup() found without re-checking its version, so an
    // entry freed and reused by the main thread in between sent the packet to the new flow's socket.
    it('drops a client segment whose entry was reused between lookup and rewrite', () => {
      const { init, nat } = setup(1);
      const fast = createFastPath(init);
      const a = allocate(nat, seg(41000, TCP_SYN));
      nat.setState(a, ST_OPEN);
      const lookup = NatView.prototype.lookup;
      NatView.prototype.lookup = function (this: NatView, ...args: Parameters<NatView['lookup']>): number {
        const i = lookup.apply(this, args);
        if (this !== nat && i >= 0) {
          // The main thread, right now: the flow is freed and the entry goes to another client.
          nat.free(i);
          expect(allocate(nat, seg(49999, TCP_SYN))).to.equal(i);
          nat.setState(i, ST_OPEN);
        }
        return i;
      };
      try {
        expect(fast(seg(41000, TCP_ACK))).to.equal(DROP);
      } finally {
        NatView.prototype.lookup = lookup;
      }
    });

    // One checksum implementation (net/checksum.ts put16/put32/adjust), exercised through the live
    // fast path on random segments both ways, checked by full recomputation.
    it('keeps checksums right on 3000 random segments rewritten both ways', () => {
      const { init, nat } = setup(4);
      const fast = createFastPath(init);
      let seed = 7400 + family;
      const rnd = (): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 2 ** 32;
      };
      const int = (n: number): number => Math.floor(rnd() * n);
      for (let n = 0; n < 3000; n++) {
        const cport = 1 + int(65535);
        const vport = 1 + int(65535);
        const payload = Buffer.alloc(int(1400));
        for (let i = 0; i < payload.length; i++) payload[i] = n % 5 === 0 ? 0xff : int(256);
        const p = buildTcp({
          src: ipToBytes(client),
          dst: ipToBytes(vip),
          sport: cport,
          dport: vport,
          seq: int(2 ** 32),
          ack: int(2 ** 32),
          flags: TCP_ACK | (n % 3 ? TCP_PSH : 0),
          window: int(65536),
          payload,
        });
        const e =
          family === 4 ? nat.allocate(p, 12, 16, 4, cport, vport) : nat.allocate(p, 8, 24, 16, cport, vport);
        nat.setState(e, ST_OPEN);
        expect(fast(p), `case ${n}`).to.equal(REPLY);
        expect(checksumsValid(p), `case ${n} to listener`).to.equal(true);
        const back = buildTcp({
          src: ipToBytes(client),
          dst: ipToBytes(fakeOf(nat, e)),
          sport: family === 4 ? LPORT : LPORT + 1,
          dport: nat.natPort(e),
          seq: int(2 ** 32),
          ack: int(2 ** 32),
          flags: TCP_ACK,
          window: int(65536),
          payload,
        });
        expect(fast(back), `case ${n}`).to.equal(REPLY);
        expect(checksumsValid(back), `case ${n} to client`).to.equal(true);
        expect(tcpOf(back)).to.include({ sport: vport, dport: cport });
        nat.free(e);
      }
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

  it('seeds the flow hash per table, so a peer cannot precompute colliding tuples', () => {
    const seeds = new Set([1, 2, 3, 4].map(() => new NatTable(natInitForPlan(plan, 16)).seed));
    expect(seeds.size).to.be.greaterThan(1);
    // Same tuples, different seeds: the entries land on different slots, and lookups still work.
    const slots = [11, 12].map((seed) => {
      const nat = new NatTable(
        createNatInit({
          capacity: 64,
          fakeCount: 4,
          tun4: 1,
          fakeBase4: 2,
          tun6: Buffer.alloc(16),
          prefix6: Buffer.alloc(12),
          seed,
        }),
      );
      const p = buildTcp({
        src: ipToBytes('100.64.0.1'),
        dst: ipToBytes('100.64.0.9'),
        sport: 40000,
        dport: 80,
        flags: TCP_SYN,
      });
      const e = nat.allocate(p, 12, 16, 4, 40000, 80);
      expect(nat.lookup(p, 12, 16, 4, 40000, 80)).to.equal(e);
      return nat.words[nat.base(e) + 7];
    });
    expect(slots[0]).to.not.equal(slots[1]);
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

// Found by mutation testing (scripts/mutation.sh fast-path): packets the fast path must leave alone
// even when their addresses and ports name an open flow, and fields only some entries exercise.
describe('vnet fast path: edge cases around an open flow', () => {
  const vip4 = plan.assign('web.corp.test').v4;
  const vip6 = plan.assign('web.corp.test').v6;

  function openFlows(family: 4 | 6, client: string, n = 3): { init: NatInit; nat: NatTable; e: number } {
    const { init, nat } = setup();
    const vip = family === 4 ? vip4 : vip6;
    let e = -1;
    for (let i = 0; i < n; i++) {
      const p = buildTcp({
        src: ipToBytes(client),
        dst: ipToBytes(vip),
        sport: 40000 + i,
        dport: 443,
        flags: TCP_SYN,
      });
      e =
        family === 4
          ? nat.allocate(p, 12, 16, 4, 40000 + i, 443)
          : nat.allocate(p, 8, 24, 16, 40000 + i, 443);
      nat.setState(e, ST_OPEN);
    }
    return { init, nat, e }; // the last one: not entry 0, so its fake index and port are not the base
  }
  const seg4 = (sport: number, flags = TCP_ACK, payload = Buffer.alloc(0)): Buffer =>
    buildTcp({
      src: ipToBytes(plan.tun4),
      dst: ipToBytes(vip4),
      sport,
      dport: 443,
      seq: 1,
      ack: 1,
      flags,
      payload,
    });

  it('rewrites an entry other than the first to its own fake address and port', () => {
    const { init, nat, e } = openFlows(4, plan.tun4);
    const fast = createFastPath(init);
    const p = seg4(40002);
    expect(fast(p)).to.equal(REPLY);
    expect(checksumsValid(p)).to.equal(true);
    expect(tcpOf(p)).to.include({ src: plan.fake4(nat.fakeIndex(e)), sport: nat.natPort(e), dport: LPORT });
    expect(nat.fakeIndex(e) + nat.natPort(e)).to.be.greaterThan(nat.portBase);
  });

  it('rewrites IPv6 clients outside the VNet prefix to the fake /96 source', () => {
    const other = 'fd00:1:2:3::5';
    const { init, nat, e } = openFlows(6, other);
    const fast = createFastPath(init);
    const p = buildTcp({
      src: ipToBytes(other),
      dst: ipToBytes(vip6),
      sport: 40002,
      dport: 443,
      flags: TCP_ACK,
    });
    expect(fast(p)).to.equal(REPLY);
    expect(checksumsValid(p)).to.equal(true);
    expect(tcpOf(p)).to.include({ src: plan.fake6(nat.fakeIndex(e)), dst: plan.tun6, dport: LPORT + 1 });
  });

  it('passes malformed or unusual IPv4 packets of an open flow untouched', () => {
    const { init } = openFlows(4, plan.tun4);
    const fast = createFastPath(init);
    const good = seg4(40002, TCP_ACK, Buffer.from('data'));
    const variants: Array<[string, (p: Buffer) => Buffer]> = [
      ['not TCP', (p) => ((p[9] = 17), p)],
      ['IHL < 5', (p) => ((p[0] = 0x44), p)],
      ['total length past the end', (p) => (p.writeUInt16BE(p.length + 1, 2), p)],
      ['total length shorter than the TCP header', (p) => (p.writeUInt16BE(39, 2), p)],
      ['a first fragment (MF)', (p) => (p.writeUInt16BE(0x2000, 6), p)],
      ['a later fragment', (p) => (p.writeUInt16BE(0x0001, 6), p)],
      ['TCP data offset past the end', (p) => ((p[32] = 0xf0), p)],
      ['version 5', (p) => ((p[0] = 0x55), p)],
      ['shorter than 40 bytes', (p) => p.subarray(0, 39)],
    ];
    for (const [what, mangle] of variants) {
      const p = mangle(Buffer.from(good));
      const before = Buffer.from(p);
      expect(fast(p), what).to.equal(PASS);
      expect(p.equals(before), what).to.equal(true);
    }
    expect(fast(Buffer.from(good))).to.equal(REPLY);
  });

  it('passes malformed IPv6 packets of an open flow untouched', () => {
    const { init } = openFlows(6, plan.tun6);
    const fast = createFastPath(init);
    const good = buildTcp({
      src: ipToBytes(plan.tun6),
      dst: ipToBytes(vip6),
      sport: 40002,
      dport: 443,
      flags: TCP_ACK,
      payload: Buffer.from('data'),
    });
    const variants: Array<[string, (p: Buffer) => Buffer]> = [
      ['not TCP', (p) => ((p[6] = 17), p)],
      ['payload length past the end', (p) => (p.writeUInt16BE(p.length - 40 + 1, 4), p)],
      ['payload shorter than the TCP header', (p) => (p.writeUInt16BE(19, 4), p)],
    ];
    for (const [what, mangle] of variants) {
      const p = mangle(Buffer.from(good));
      const before = Buffer.from(p);
      expect(fast(p), what).to.equal(PASS);
      expect(p.equals(before), what).to.equal(true);
    }
    expect(fast(Buffer.from(good))).to.equal(REPLY);
  });

  it('takes the listener direction only from the tun address to a fake address', () => {
    for (const family of [4, 6] as const) {
      const { init, nat, e } = openFlows(family, family === 4 ? plan.tun4 : plan.tun6);
      const fast = createFastPath(init);
      const lport = family === 4 ? LPORT : LPORT + 1;
      const fake = family === 4 ? plan.fake4(nat.fakeIndex(e)) : plan.fake6(nat.fakeIndex(e));
      const from = (src: string, dst: string) =>
        buildTcp({
          src: ipToBytes(src),
          dst: ipToBytes(dst),
          sport: lport,
          dport: nat.natPort(e),
          flags: TCP_ACK,
        });
      const notTun = family === 4 ? '100.64.0.9' : plan.assign('web.corp.test').v6;
      const notFake = family === 4 ? vip4 : 'fd00:1:2:3::5';
      for (const p of [from(notTun, fake), from(family === 4 ? plan.tun4 : plan.tun6, notFake)]) {
        const before = Buffer.from(p);
        expect(fast(p)).to.equal(PASS);
        expect(p.equals(before)).to.equal(true);
      }
      expect(fast(from(family === 4 ? plan.tun4 : plan.tun6, fake))).to.equal(REPLY);
    }
  });

  it('listener segments: flags only on FIN/RST, last-seen refreshed', () => {
    const { init, nat, e } = openFlows(4, plan.tun4);
    const fast = createFastPath(init);
    const back = (flags: number) =>
      buildTcp({
        src: ipToBytes(plan.tun4),
        dst: ipToBytes(plan.fake4(nat.fakeIndex(e))),
        sport: LPORT,
        dport: nat.natPort(e),
        flags,
      });
    nat.setNow(12_345);
    expect(fast(back(TCP_ACK))).to.equal(REPLY);
    expect(nat.flags(e)).to.equal(0);
    expect(nat.lastSeen(e)).to.equal(12_345);
    expect(fast(back(TCP_RST | TCP_ACK))).to.equal(REPLY);
    expect(nat.flags(e)).to.equal(4);
  });

  it('a bare SYN on a CLOSING entry goes to the slow path', () => {
    const { init, nat } = openFlows(4, plan.tun4);
    const fast = createFastPath(init);
    const i = nat.lookup(seg4(40002), 12, 16, 4, 40002, 443);
    nat.close(i, 0, 60_000);
    expect(nat.state(i)).to.equal(ST_CLOSING);
    expect(fast(seg4(40002, TCP_SYN))).to.equal(PASS);
    expect(fast(seg4(40002, TCP_ACK))).to.equal(REPLY);
  });
});
