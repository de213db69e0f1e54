// The NAT table on its own (no packets, no fast path): allocation, collision chains and tombstones,
// the seqlock a reader relies on, the entry lifecycle and its hold/idle timing on an injected
// clock, and the fake address/port mapping at the ends of its range. Many of these were found by
// mutation testing (scripts/mutation.sh nat): changes to the table that the packet-level tests in
// nat.test.ts did not notice.
import { expect } from 'chai';
import {
  createNatInit,
  E_FLAGS,
  E_SLOT,
  E_VER,
  ENTRY_WORDS,
  F_FIN_CLIENT,
  F_RST,
  flowHash,
  HEADER_WORDS,
  NatTable,
  NatView,
  SLOT_EMPTY,
  SLOT_TOMBSTONE,
  ST_CLOSING,
  ST_DIALING,
  ST_FREE,
  ST_OPEN,
  ST_RETIRED,
  type NatConfig,
} from '../../../systemext/vnet/nat-table';

const HOLD = 60_000; // Linux TIME_WAIT
const IDLE = 300_000;

function table(capacity: number, extra: Partial<NatConfig> = {}): NatTable {
  return new NatTable(
    createNatInit({
      capacity,
      fakeCount: 4,
      tun4: 0x64400001,
      fakeBase4: 0x64400100,
      tun6: new Uint8Array(16).fill(1),
      prefix6: Uint8Array.from([0xfd, 0, 0, 0xaa, 0, 0xbb, 0, 0, 0, 0, 0, 0]),
      seed: 0x1234567,
      ...extra,
    }),
  );
}

/** A client flow: address words (1 for IPv4, 4 for IPv6) and ports. */
interface Flow {
  client: number[];
  vip: number[];
  cport: number;
  vport: number;
}

const v4 = (client: number, cport = 40000, vip = 0x64400009, vport = 443): Flow => ({
  client: [client],
  vip: [vip],
  cport,
  vport,
});

/** The flow's addresses as a packet would carry them: client at 0, VIP right after. */
function bytesOf(f: Flow): Uint8Array {
  const n = f.client.length;
  const b = new Uint8Array(8 * n);
  const dv = new DataView(b.buffer);
  for (let k = 0; k < n; k++) {
    dv.setUint32(4 * k, f.client[k] >>> 0);
    dv.setUint32(4 * n + 4 * k, f.vip[k] >>> 0);
  }
  return b;
}

const len = (f: Flow): 4 | 16 => (f.client.length === 1 ? 4 : 16);
const alloc = (nat: NatTable, f: Flow): number =>
  nat.allocate(bytesOf(f), 0, len(f), len(f), f.cport, f.vport);
const find = (nat: NatView, f: Flow, buf: Uint8Array = bytesOf(f)): number =>
  nat.lookup(buf, 0, len(f), len(f), f.cport, f.vport);

/** The hash slot a flow's probe starts at. */
function home(nat: NatView, f: Flow): number {
  const n = f.client.length;
  return (
    flowHash(nat.seed, f.client[0], f.client[n - 1], f.vip[0], f.vip[n - 1], f.cport, f.vport) & nat.mask
  );
}

/** The first variant of `base` (made by `vary(k)`, k = 1, 2, ...) whose probe starts at `slot`. */
function collider(nat: NatView, base: Flow, slot: number, vary: (k: number) => Flow): Flow {
  for (let k = 1; k < 100_000; k++) {
    const f = vary(k);
    if (home(nat, f) === slot && JSON.stringify(f) !== JSON.stringify(base)) return f;
  }
  throw new Error('no colliding tuple found');
}

const slotValue = (nat: NatView, s: number): number => nat.words[nat.slotsOff + s];

/**
 * The hash's structure after any sequence of operations: exactly the live, not retired entries sit
 * in the slots, each at the slot it records and reachable by lookup; tombstones stay bounded (a
 * quarter of the slots, so every probe ends at an empty slot and a churned table does not slow
 * every lookup down to a full scan).
 */
function checkHash(nat: NatTable, flows: Map<number, Flow>): void {
  const live = nat.entries().filter((i) => nat.state(i) !== ST_RETIRED);
  let tombstones = 0;
  let empty = 0;
  const pointed: number[] = [];
  for (let s = 0; s <= nat.mask; s++) {
    const v = slotValue(nat, s);
    if (v === SLOT_TOMBSTONE) tombstones++;
    else if (v === SLOT_EMPTY) empty++;
    else pointed.push(v - 1);
  }
  expect(pointed.sort((a, b) => a - b)).to.deep.equal(live.sort((a, b) => a - b));
  for (const i of live) {
    expect(slotValue(nat, nat.words[nat.base(i) + E_SLOT])).to.equal(i + 1);
    expect(find(nat, flows.get(i)!)).to.equal(i);
  }
  expect(tombstones).to.be.at.most((nat.mask + 1) / 4);
  expect(empty).to.be.greaterThan(0);
}

describe('vnet NAT table: hash chains', () => {
  it('keeps a collision chain whole: lookups through a freed middle entry, its slot reused', () => {
    const nat = table(8);
    const a = v4(0x0a000001);
    const h = home(nat, a);
    const b = collider(nat, a, h, (k) => v4(0x0a000001, 40000 + k));
    const c = collider(nat, b, h, (k) => v4(0x0a000001, 41000 + k));
    const [ea, eb, ec] = [a, b, c].map((f) => alloc(nat, f));
    expect([ea, eb, ec]).to.deep.equal([0, 1, 2]);
    // Linear probing: the chain occupies consecutive slots.
    expect([ea, eb, ec].map((i) => nat.words[nat.base(i) + E_SLOT])).to.deep.equal([
      h,
      (h + 1) & nat.mask,
      (h + 2) & nat.mask,
    ]);
    expect([a, b, c].map((f) => find(nat, f))).to.deep.equal([0, 1, 2]);

    nat.free(eb);
    expect(slotValue(nat, (h + 1) & nat.mask)).to.equal(SLOT_TOMBSTONE);
    expect(find(nat, b)).to.equal(-1);
    expect(find(nat, a)).to.equal(ea);
    expect(find(nat, c)).to.equal(ec); // probes past the tombstone

    const d = collider(nat, c, h, (k) => v4(0x0a000001, 42000 + k));
    const ed = alloc(nat, d);
    expect(nat.words[nat.base(ed) + E_SLOT]).to.equal((h + 1) & nat.mask); // the tombstone, reused
    expect([a, c, d].map((f) => find(nat, f))).to.deep.equal([ea, ec, ed]);
    expect(find(nat, b)).to.equal(-1);
  });

  it('tells apart colliding tuples that differ in one field only', () => {
    const nat = table(8);
    const a = v4(0x0a000001);
    const ea = alloc(nat, a);
    const h = home(nat, a);
    const variants = [
      collider(nat, a, h, (k) => v4(0x0a000001 + k)), // client address
      collider(nat, a, h, (k) => v4(0x0a000001, 40000, 0x64400009 + k)), // VIP
      collider(nat, a, h, (k) => v4(0x0a000001, 40000, 0x64400009, 443 + k)), // VIP port
    ];
    for (const f of variants) expect(find(nat, f), JSON.stringify(f)).to.equal(-1);
    const es = variants.map((f) => alloc(nat, f));
    expect(variants.map((f) => find(nat, f))).to.deep.equal(es);
    expect(find(nat, a)).to.equal(ea);
  });

  it('IPv6: tuples differing only in the middle words share a probe start but not an entry', () => {
    const nat = table(8);
    // The hash reads words 0 and 3 only: these all start at the same slot.
    const a: Flow = {
      client: [0xfd00aa, 0xbb0001, 0, 5],
      vip: [0xfd00aa, 0xbb0000, 0, 9],
      cport: 1,
      vport: 2,
    };
    const b: Flow = { ...a, client: [0xfd00aa, 0xbb0002, 0, 5] };
    const c: Flow = { ...a, vip: [0xfd00aa, 0xbb0000, 7, 9] };
    expect(home(nat, b)).to.equal(home(nat, a));
    expect(home(nat, c)).to.equal(home(nat, a));
    const ea = alloc(nat, a);
    expect(find(nat, b)).to.equal(-1);
    expect(find(nat, c)).to.equal(-1);
    const eb = alloc(nat, b);
    const ec = alloc(nat, c);
    expect([a, b, c].map((f) => find(nat, f))).to.deep.equal([ea, eb, ec]);
  });

  it('an IPv4 lookup never matches an IPv6 entry with the same first/last words and ports', () => {
    const nat = table(8);
    const six: Flow = {
      client: [0x0a000001, 1, 2, 0x0a000001],
      vip: [0x64400009, 3, 4, 0x64400009],
      cport: 1,
      vport: 2,
    };
    const four = v4(0x0a000001, 1, 0x64400009, 2);
    expect(home(nat, four)).to.equal(home(nat, six));
    const e6 = alloc(nat, six);
    expect(find(nat, four)).to.equal(-1);
    const e4 = alloc(nat, four);
    expect(find(nat, four)).to.equal(e4);
    expect(find(nat, six)).to.equal(e6);
  });

  it('keeps its structure through churn: tombstones bounded, rehash keeps every live flow', () => {
    const nat = table(8);
    const flows = new Map<number, Flow>();
    let x = 7;
    const rand = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    let now = 0;
    for (let step = 0; step < 3000; step++) {
      now += 1000;
      const op = rand(10);
      const live = nat.entries();
      if (op < 5 && nat.size < nat.capacity) {
        // Few distinct tuples (retired ones come back), all colliding often in 16 slots.
        const f = v4(0x0a000000 + rand(4), 40000 + rand(64));
        if (find(nat, f) >= 0) continue;
        const e = alloc(nat, f);
        expect(e).to.be.at.least(0);
        flows.set(e, f);
        if (rand(2) === 0) nat.setState(e, ST_OPEN);
      } else if (op < 7 && live.length > 0) {
        nat.free(live[rand(live.length)]);
      } else if (op < 8 && live.length > 0) {
        nat.retire(live[rand(live.length)], now, rand(3) * 1000);
      } else if (op < 9 && live.length > 0) {
        nat.close(live[rand(live.length)], now, rand(3) * 1000);
      } else {
        nat.sweep(now, IDLE);
      }
      checkHash(nat, flows);
    }
  });
});

describe('vnet NAT table: the reader seqlock', () => {
  it('misses an entry while it is being rewritten (odd version)', () => {
    const nat = table(4);
    const a = v4(0x0a000001);
    const e = alloc(nat, a);
    const view = new NatView({ sab: nat.words.buffer as SharedArrayBuffer });
    expect(find(view, a)).to.equal(e);
    expect(view.lastVer).to.equal(nat.version(e));
    Atomics.add(nat.words, nat.base(e) + E_VER, 1); // the main thread starts a rewrite
    expect(find(view, a)).to.equal(-1);
    Atomics.add(nat.words, nat.base(e) + E_VER, 1);
    expect(find(view, a)).to.equal(e);
  });

  it('misses an entry rewritten between reading its version and comparing its tuple', () => {
    const nat = table(1); // so the re-allocation takes the same entry
    const a = v4(0x0a000001);
    const e = alloc(nat, a);
    // The lookup reads the packet's addresses once to hash them (8 bytes for IPv4), then again to
    // compare with the entry: the "main thread" frees and re-allocates the entry to the same tuple
    // at that moment, forcing the interleaving a second thread could produce.
    let reads = 0;
    const racing = new Proxy(bytesOf(a), {
      get(target, prop) {
        if (typeof prop === 'string' && /^\d+$/.test(prop) && ++reads === 9) {
          nat.free(e);
          expect(alloc(nat, a)).to.equal(e);
        }
        return Reflect.get(target, prop) as unknown;
      },
    });
    const ver = nat.version(e);
    expect(find(nat, a, racing)).to.equal(-1);
    expect(reads).to.be.greaterThan(8);
    expect(nat.version(e)).to.equal(ver + 4);
    expect(find(nat, a)).to.equal(e);
  });
});

describe('vnet NAT table: entry lifecycle', () => {
  it('bumps the version by 2 on allocate, free, retire and reuse; never on a no-op', () => {
    const nat = table(1);
    const a = v4(0x0a000001);
    const v0 = nat.version(0);
    expect(alloc(nat, a)).to.equal(0);
    expect(nat.version(0)).to.equal(v0 + 2);
    nat.setState(0, ST_OPEN);
    nat.retire(0, 0, HOLD);
    expect(nat.version(0)).to.equal(v0 + 4);
    nat.retire(0, 0, HOLD); // already retired
    nat.close(0, 0, HOLD);
    expect(nat.version(0)).to.equal(v0 + 4);
    nat.free(0);
    expect(nat.version(0)).to.equal(v0 + 6);
    nat.free(0); // already free
    expect(nat.version(0)).to.equal(v0 + 6);
    expect(nat.size).to.equal(0);
    expect(alloc(nat, a)).to.equal(0);
    expect(nat.version(0) % 2).to.equal(0);
    expect(nat.version(0)).to.equal(v0 + 8);
  });

  it('ignores close, retire and free of an entry that is not in use', () => {
    const nat = table(2);
    const a = v4(0x0a000001);
    const b = v4(0x0a000002);
    const ea = alloc(nat, a);
    nat.setState(ea, ST_OPEN);
    nat.free(ea);
    nat.close(ea, 0, HOLD);
    expect(nat.heldUntil(ea)).to.equal(0);
    nat.retire(ea, 0, HOLD);
    expect(nat.state(ea)).to.equal(ST_FREE);
    nat.free(ea);
    expect(nat.size).to.equal(0);
    // Both entries are still allocatable, and the free one's stale hash slot was not touched.
    const eb = alloc(nat, b);
    expect(eb).to.equal(1);
    nat.free(ea);
    nat.retire(ea, 0, HOLD);
    expect(find(nat, b)).to.equal(eb);
    expect(alloc(nat, a)).to.equal(0);
    expect(nat.size).to.equal(2);
  });

  it('retiring or closing a DIALING entry frees it at once (it never reached the kernel)', () => {
    const nat = table(2);
    const a = v4(0x0a000001);
    const e = alloc(nat, a);
    expect(nat.state(e)).to.equal(ST_DIALING);
    nat.retire(e, 0, HOLD);
    expect(nat.state(e)).to.equal(ST_FREE);
    expect(nat.size).to.equal(0);
    expect(nat.heldUntil(e)).to.equal(0);
    expect(find(nat, a)).to.equal(-1);
    const e2 = alloc(nat, a);
    nat.close(e2, 0, HOLD);
    expect(nat.state(e2)).to.equal(ST_FREE);
    expect(nat.size).to.equal(0);
  });

  it('holds a closed entry for TIME_WAIT on the injected clock; a later close only extends it', () => {
    const nat = table(1);
    const a = v4(0x0a000001);
    const e = alloc(nat, a);
    nat.setState(e, ST_OPEN);
    nat.close(e, 1000, HOLD);
    expect(nat.state(e)).to.equal(ST_CLOSING);
    expect(nat.heldUntil(e)).to.equal(1000 + HOLD);
    nat.close(e, 2000, 10); // shorter: the first hold stands
    expect(nat.heldUntil(e)).to.equal(1000 + HOLD);
    expect(nat.sweep(1000 + HOLD - 1, IDLE).freed).to.deep.equal([]);
    expect(find(nat, a)).to.equal(e); // late FIN/ACKs still translated
    expect(alloc(nat, v4(0x0a000002))).to.equal(-1); // its fake address:port stays out of use
    nat.close(e, 5000, HOLD); // later: extends
    expect(nat.heldUntil(e)).to.equal(5000 + HOLD);
    expect(nat.sweep(1000 + HOLD, IDLE).freed).to.deep.equal([]);
    expect(nat.sweep(5000 + HOLD, IDLE).freed).to.deep.equal([e]);
    expect(nat.state(e)).to.equal(ST_FREE);
    expect(nat.heldUntil(e)).to.equal(0);
    expect(find(nat, a)).to.equal(-1);
  });

  it('a retired entry stays retired and held; retiring it again only extends the hold', () => {
    const nat = table(4);
    const a = v4(0x0a000001);
    const e = alloc(nat, a);
    nat.setState(e, ST_OPEN);
    nat.retire(e, 1000, HOLD);
    expect(nat.state(e)).to.equal(ST_RETIRED);
    expect(nat.heldUntil(e)).to.equal(1000 + HOLD);
    expect(find(nat, a)).to.equal(-1);
    nat.retire(e, 2000, 10);
    expect(nat.heldUntil(e)).to.equal(1000 + HOLD);
    nat.close(e, 3000, 10); // our sockets close after the takeover
    expect(nat.state(e)).to.equal(ST_RETIRED);
    expect(nat.heldUntil(e)).to.equal(1000 + HOLD);
    nat.retire(e, 4000, HOLD);
    expect(nat.heldUntil(e)).to.equal(4000 + HOLD);
  });

  it("the new flow on a retired entry's hash slot survives the old entry's close, retire and free", () => {
    const nat = table(4);
    const a = v4(0x0a000001);
    const ea = alloc(nat, a);
    nat.setState(ea, ST_OPEN);
    const h = home(nat, a);
    nat.retire(ea, 0, HOLD);
    // The client reuses its tuple: the new entry takes the old one's (tombstoned) slot.
    const eb = alloc(nat, a);
    expect(eb).to.not.equal(ea);
    expect(nat.words[nat.base(eb) + E_SLOT]).to.equal(h);
    expect(nat.words[nat.base(ea) + E_SLOT]).to.equal(h); // stale: the old entry must not use it
    nat.retire(ea, 10, HOLD);
    expect(find(nat, a)).to.equal(eb);
    nat.close(ea, 20, HOLD);
    expect(find(nat, a)).to.equal(eb);
    expect(nat.sweep(20 + HOLD, IDLE).freed).to.deep.equal([ea]);
    expect(find(nat, a)).to.equal(eb);
    expect(slotValue(nat, h)).to.equal(eb + 1);
  });

  it('reports OPEN entries idle from their last-seen time; never DIALING ones', () => {
    const nat = table(4);
    nat.setNow(10_000);
    expect(nat.now()).to.equal(10_000);
    const open = alloc(nat, v4(0x0a000001));
    const dialing = alloc(nat, v4(0x0a000002));
    expect(nat.lastSeen(open)).to.equal(10_000);
    nat.setState(open, ST_OPEN);
    expect(nat.sweep(10_000 + IDLE - 1, IDLE).idle).to.deep.equal([]);
    nat.setNow(20_000);
    nat.touch(open);
    expect(nat.lastSeen(open)).to.equal(20_000);
    expect(nat.sweep(10_000 + IDLE, IDLE).idle).to.deep.equal([]);
    const r = nat.sweep(20_000 + IDLE, IDLE);
    expect(r).to.deep.equal({ freed: [], idle: [open] });
    expect(nat.state(dialing)).to.equal(ST_DIALING);
    expect(nat.state(open)).to.equal(ST_OPEN); // idle is the caller's to end
  });

  it('a reused entry starts clean: flags, listener port and last-seen of the new flow', () => {
    const nat = table(1);
    nat.setNow(100);
    const e = alloc(nat, v4(0x0a000001));
    nat.setListenerPort(e, 5555);
    expect(nat.listenerPort(e)).to.equal(5555);
    Atomics.or(nat.words, nat.base(e) + E_FLAGS, F_FIN_CLIENT | F_RST); // as the fast path marks it
    expect(nat.flags(e)).to.equal(F_FIN_CLIENT | F_RST);
    nat.setState(e, ST_OPEN);
    nat.close(e, 100, HOLD);
    nat.sweep(100 + HOLD, IDLE);
    nat.setNow(100 + HOLD);
    expect(alloc(nat, v4(0x0a000002))).to.equal(e);
    expect(nat.flags(e)).to.equal(0);
    expect(nat.listenerPort(e)).to.equal(0);
    expect(nat.lastSeen(e)).to.equal(100 + HOLD);
    expect(nat.state(e)).to.equal(ST_DIALING);
  });

  it("the header carries the engine's and the relay's listener ports", () => {
    const nat = table(1);
    expect(nat.listenerPorts).to.deep.equal({ v4: 0, v6: 0 });
    expect(nat.relayPorts).to.deep.equal({ v4: 0, v6: 0 });
    nat.setListenerPorts(4567, 4568);
    nat.setRelayPorts(5678, 5679);
    const other = new NatTable({ sab: nat.words.buffer as SharedArrayBuffer });
    expect(other.listenerPorts).to.deep.equal({ v4: 4567, v6: 4568 });
    expect(other.relayPorts).to.deep.equal({ v4: 5678, v6: 5679 });
  });
});

describe('vnet NAT table: capacity and the fake address range', () => {
  it('accepts exactly fakeCount * (65536 - portBase) entries; the last one is the last fake:port', () => {
    const cfg = { fakeCount: 2, portBase: 65534 };
    expect(() => table(5, cfg)).to.throw(/capacity must be 1\.\.4/);
    expect(() => table(0, cfg)).to.throw(/capacity/);
    const nat = table(4, cfg);
    const es = [1, 2, 3, 4].map((k) => alloc(nat, v4(k)));
    expect(es).to.deep.equal([0, 1, 2, 3]);
    expect(alloc(nat, v4(5))).to.equal(-1);
    expect([nat.fakeIndex(3), nat.natPort(3)]).to.deep.equal([1, 65535]);
    expect(nat.entryOfFake(1, 65535)).to.equal(3);
    expect(nat.entryOfFake(0, 65534)).to.equal(0);
    expect(nat.entryOfFake(0, 65536)).to.equal(-1);
    nat.free(3);
    expect(alloc(nat, v4(6))).to.equal(3);
    expect(find(nat, v4(6))).to.equal(3);
  });

  it('sizes the shared memory: header, entries, and 2 * capacity hash slots rounded up to a power of 2', () => {
    for (const [capacity, slots] of [
      [8, 16],
      [5, 16],
      [1, 2],
    ]) {
      const nat = table(capacity);
      expect(nat.mask + 1).to.equal(slots);
      expect(nat.words.length).to.equal(HEADER_WORDS + capacity * ENTRY_WORDS + slots);
    }
  });

  it('entryOfFake rejects fake indexes and ports just outside the table', () => {
    const nat = table(6); // fakeCount 4: entries 0-3 on port 1024, 4-5 on 1025
    expect(nat.entryOfFake(1, 1025)).to.equal(5);
    expect(nat.entryOfFake(2, 1025)).to.equal(-1); // would be entry 6 == capacity
    expect(nat.entryOfFake(3, 1024)).to.equal(3);
    expect(nat.entryOfFake(4, 1024)).to.equal(-1); // would alias entry 4
    expect(nat.entryOfFake(-1, 1025)).to.equal(-1); // would alias entry 3
    expect(nat.entryOfFake(0, 1023)).to.equal(-1);
    // The same through addresses: one below the first fake address, one past the last.
    const addr = (w: number): Uint8Array =>
      Uint8Array.from([w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255]);
    expect(nat.entryOfFakeAddress(addr(0x64400100), 1025)).to.equal(4);
    expect(nat.entryOfFakeAddress(addr(0x644000ff), 1025)).to.equal(-1);
    expect(nat.entryOfFakeAddress(addr(0x64400104), 1024)).to.equal(-1);
    const six = new Uint8Array(16);
    six.set([0xfd, 0, 0, 0xaa, 0, 0xbb]);
    six.set([0x64, 0x40, 0x01, 0x01], 12);
    expect(nat.entryOfFakeAddress(six, 1025)).to.equal(5);
    for (const k of [0, 4, 8]) {
      const wrong = Uint8Array.from(six);
      wrong[k + 3] ^= 1;
      expect(nat.entryOfFakeAddress(wrong, 1025)).to.equal(-1);
    }
    expect(nat.entryOfFakeAddress(new Uint8Array(8), 1024)).to.equal(-1);
    // Only 4 or 16 bytes are an address: a valid fake IPv6 address with trailing bytes is not.
    const long = new Uint8Array(20);
    long.set(six);
    expect(nat.entryOfFakeAddress(long, 1025)).to.equal(-1);
  });
});
