// The NAT table's allocator, on the main thread: creates the shared memory (layout and read side
// in ./nat-view), inserts and removes entries, and runs the entry lifecycle:
//
//   FREE -> DIALING (SYN seen) -> OPEN (SYN sent to the listener) -> CLOSING (our sockets closed)
//        -> FREE once held for `holdMs`
//   any -> RETIRED (a new flow took over the client tuple) -> FREE once held
//
// An entry that ever reached the kernel (OPEN) is held out of reuse for at least the OS's TIME_WAIT
// (Linux 60 s, macOS 30 s): the listener side of fake:natPort may still be in TIME_WAIT there, and
// a new flow on the same fake:port could inherit a late segment (e.g. an RST) of the old one. An
// entry that never left DIALING never reached the kernel and is freed at once.
import { randomBytes } from 'node:crypto';
import { ipToBytes } from '../net/addr';
import type { AddressPlan } from './addresses';
import {
  E_CLIENT,
  E_CPORT,
  E_FAMILY,
  E_FLAGS,
  E_LPORT,
  E_SEEN,
  E_SLOT,
  E_STATE,
  E_VER,
  E_VIP,
  E_VPORT,
  ENTRY_WORDS,
  flowHash,
  H_CAPACITY,
  H_FAKEBASE4,
  H_FAKECOUNT,
  H_HASHMASK,
  H_LPORT4,
  H_LPORT6,
  H_NOW,
  H_PORTBASE,
  H_PREFIX6,
  H_RLPORT4,
  H_RLPORT6,
  H_SEED,
  H_TUN4,
  H_TUN6,
  HEADER_WORDS,
  NatView,
  readWord,
  SLOT_EMPTY,
  SLOT_TOMBSTONE,
  ST_CLOSING,
  ST_DIALING,
  ST_FREE,
  ST_OPEN,
  ST_RETIRED,
  type NatInit,
} from './nat-view';

export * from './nat-view';

export interface NatConfig {
  /** Max simultaneous flows (<= fakeCount * (65536 - portBase)). */
  capacity: number;
  fakeCount: number;
  portBase?: number;
  /** Address words. */
  tun4: number;
  fakeBase4: number;
  tun6: Uint8Array; // 16 bytes
  prefix6: Uint8Array; // >= 12 bytes
  /** Hash seed; random unless given (tests). */
  seed?: number;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The table for an address plan: its fake sources, the tun's addresses and the IPv6 prefix. */
export function natInitForPlan(plan: AddressPlan, capacity: number): NatInit {
  return createNatInit({
    capacity,
    fakeCount: plan.fakeCount,
    tun4: ipToBytes(plan.tun4).readUInt32BE(0),
    fakeBase4: ipToBytes(plan.fake4(0)).readUInt32BE(0),
    tun6: ipToBytes(plan.tun6),
    prefix6: plan.v6Prefix96,
  });
}

/** Creates the shared memory for a table. */
export function createNatInit(cfg: NatConfig): NatInit {
  const portBase = cfg.portBase ?? 1024;
  const maxCap = cfg.fakeCount * (65536 - portBase);
  if (cfg.capacity < 1 || cfg.capacity > maxCap) throw new Error(`NAT capacity must be 1..${maxCap}`);
  const slots = nextPow2(cfg.capacity * 2);
  const words = HEADER_WORDS + cfg.capacity * ENTRY_WORDS + slots;
  const sab = new SharedArrayBuffer(words * 4);
  const w = new Int32Array(sab);
  w[H_CAPACITY] = cfg.capacity;
  w[H_FAKECOUNT] = cfg.fakeCount;
  w[H_PORTBASE] = portBase;
  w[H_TUN4] = cfg.tun4 | 0;
  w[H_FAKEBASE4] = cfg.fakeBase4 | 0;
  for (let i = 0; i < 4; i++) w[H_TUN6 + i] = readWord(cfg.tun6, i * 4);
  for (let i = 0; i < 3; i++) w[H_PREFIX6 + i] = readWord(cfg.prefix6, i * 4);
  w[H_HASHMASK] = slots - 1;
  w[H_SEED] = cfg.seed ?? randomBytes(4).readInt32LE(0);
  return { sab };
}

export interface SweepResult {
  /** Entries whose hold ended: now free. */
  freed: number[];
  /** Open entries idle for `idleMs`: the caller ends their flow and calls close(). */
  idle: number[];
}

/** The main thread's table: a NatView that also allocates, frees and ages entries. */
export class NatTable extends NatView {
  private cursor = 0;
  private used = 0;
  private tombstones = 0;
  /** When a CLOSING or RETIRED entry may be reused (table clock, ms). */
  private readonly holdUntil: Float64Array;
  private readonly inUse = new Set<number>();

  constructor(init: NatInit) {
    super(init);
    this.holdUntil = new Float64Array(this.capacity);
  }

  /** Entries not FREE, held ones included (they still own their fake address:port). */
  get size(): number {
    return this.used;
  }

  setNow(ms: number): void {
    Atomics.store(this.words, H_NOW, ms | 0);
  }

  setListenerPorts(v4: number, v6: number): void {
    Atomics.store(this.words, H_LPORT4, v4);
    Atomics.store(this.words, H_LPORT6, v6);
  }

  get listenerPorts(): { v4: number; v6: number } {
    return { v4: Atomics.load(this.words, H_LPORT4), v6: Atomics.load(this.words, H_LPORT6) };
  }

  /** The relay worker's listener ports (0 = none): the fast path treats them as listeners too. */
  setRelayPorts(v4: number, v6: number): void {
    Atomics.store(this.words, H_RLPORT4, v4);
    Atomics.store(this.words, H_RLPORT6, v6);
  }

  get relayPorts(): { v4: number; v6: number } {
    return { v4: Atomics.load(this.words, H_RLPORT4), v6: Atomics.load(this.words, H_RLPORT6) };
  }

  /** Which listener entry i's SYN goes to (0 = the engine's own); set while DIALING, before OPEN. */
  setListenerPort(i: number, port: number): void {
    Atomics.store(this.words, this.base(i) + E_LPORT, port);
  }

  listenerPort(i: number): number {
    return Atomics.load(this.words, this.base(i) + E_LPORT);
  }

  /** Moves entry i to `st` (DIALING -> OPEN). */
  setState(i: number, st: number): void {
    Atomics.store(this.words, this.base(i) + E_STATE, st);
  }

  /** Allocates an entry for a new flow in state DIALING; -1 when the table is full. */
  allocate(
    buf: Uint8Array,
    cOff: number,
    vOff: number,
    addrLen: 4 | 16,
    cport: number,
    vport: number,
  ): number {
    if (this.used >= this.capacity) return -1;
    // Round-robin over free entries; held entries are not free, which is what keeps a fake
    // address:port out of use while the kernel may still hold its old connection.
    let i = this.cursor;
    while (Atomics.load(this.words, this.base(i) + E_STATE) !== ST_FREE) i = (i + 1) % this.capacity;
    this.cursor = (i + 1) % this.capacity;
    const w = this.words;
    const b = this.base(i);
    Atomics.add(w, b + E_VER, 1);
    w[b + E_FLAGS] = 0;
    w[b + E_SEEN] = this.now();
    w[b + E_FAMILY] = addrLen;
    w[b + E_CPORT] = cport;
    w[b + E_VPORT] = vport;
    w[b + E_LPORT] = 0;
    const n = addrLen >> 2;
    for (let k = 0; k < 4; k++) {
      w[b + E_CLIENT + k] = k < n ? readWord(buf, cOff + 4 * k) : 0;
      w[b + E_VIP + k] = k < n ? readWord(buf, vOff + 4 * k) : 0;
    }
    let s = this.hashOf(b) & this.mask;
    while (w[this.slotsOff + s] > 0) s = (s + 1) & this.mask;
    if (w[this.slotsOff + s] === SLOT_TOMBSTONE) this.tombstones--;
    w[b + E_SLOT] = s;
    Atomics.store(w, b + E_STATE, ST_DIALING);
    Atomics.add(w, b + E_VER, 1);
    Atomics.store(w, this.slotsOff + s, i + 1);
    this.used++;
    this.inUse.add(i);
    return i;
  }

  /**
   * Our side of the flow is gone. DIALING: nothing reached the kernel, free at once. OPEN: CLOSING,
   * still translated, held for `holdMs`. CLOSING/RETIRED: the hold runs at least `holdMs` from now.
   */
  close(i: number, nowMs: number, holdMs: number): void {
    if (!this.inUse.has(i)) return;
    const st = this.state(i);
    if (st === ST_DIALING) return this.free(i);
    if (st === ST_OPEN) this.setState(i, ST_CLOSING);
    this.holdUntil[i] = Math.max(this.holdUntil[i], nowMs + holdMs);
  }

  /**
   * A new flow takes over this entry's client tuple: take it out of the hash (no more
   * translation) but keep its fake address:port held for `holdMs`.
   */
  retire(i: number, nowMs: number, holdMs: number): void {
    if (!this.inUse.has(i)) return;
    if (this.state(i) === ST_DIALING) return this.free(i);
    const w = this.words;
    const b = this.base(i);
    if (this.state(i) !== ST_RETIRED) {
      Atomics.add(w, b + E_VER, 1);
      Atomics.store(w, this.slotsOff + w[b + E_SLOT], SLOT_TOMBSTONE);
      this.tombstones++;
      Atomics.store(w, b + E_STATE, ST_RETIRED);
      Atomics.add(w, b + E_VER, 1);
      this.holdUntil[i] = 0;
    }
    this.holdUntil[i] = Math.max(this.holdUntil[i], nowMs + holdMs);
    if (this.tombstones > (this.mask + 1) / 4) this.rehash();
  }

  /** Removes an entry at once (main thread). */
  free(i: number): void {
    if (!this.inUse.delete(i)) return;
    const w = this.words;
    const b = this.base(i);
    Atomics.add(w, b + E_VER, 1);
    if (this.state(i) !== ST_RETIRED) {
      Atomics.store(w, this.slotsOff + w[b + E_SLOT], SLOT_TOMBSTONE);
      this.tombstones++;
    }
    Atomics.store(w, b + E_STATE, ST_FREE);
    Atomics.add(w, b + E_VER, 1);
    this.holdUntil[i] = 0;
    this.used--;
    if (this.tombstones > (this.mask + 1) / 4) this.rehash();
  }

  /** When entry i's hold ends (0 if it is not held). */
  heldUntil(i: number): number {
    return this.holdUntil[i];
  }

  private hashOf(b: number): number {
    const w = this.words;
    const n = w[b + E_FAMILY] >> 2;
    return flowHash(
      this.seed,
      w[b + E_CLIENT],
      w[b + E_CLIENT + n - 1],
      w[b + E_VIP],
      w[b + E_VIP + n - 1],
      w[b + E_CPORT],
      w[b + E_VPORT],
    );
  }

  /** Rebuilds the hash without tombstones (readers may miss meanwhile: they fall back to the slow path). */
  private rehash(): void {
    const w = this.words;
    w.fill(SLOT_EMPTY, this.slotsOff, this.slotsOff + this.mask + 1);
    for (const i of this.inUse) {
      const b = this.base(i);
      if (this.state(i) === ST_RETIRED) continue;
      let s = this.hashOf(b) & this.mask;
      while (w[this.slotsOff + s] !== SLOT_EMPTY) s = (s + 1) & this.mask;
      w[b + E_SLOT] = s;
      Atomics.store(w, this.slotsOff + s, i + 1);
    }
    this.tombstones = 0;
  }

  /**
   * Expiry pass (main thread): frees held entries whose hold ended, and reports open entries idle
   * for `idleMs` (their flow is the caller's to end).
   */
  sweep(nowMs: number, idleMs: number): SweepResult {
    this.setNow(nowMs);
    const now = nowMs | 0;
    const freed: number[] = [];
    const idle: number[] = [];
    for (const i of this.inUse) {
      const st = this.state(i);
      if (st === ST_CLOSING || st === ST_RETIRED) {
        if (nowMs >= this.holdUntil[i]) freed.push(i);
      } else if (st === ST_OPEN && ((now - this.lastSeen(i)) | 0) >= idleMs) {
        idle.push(i);
      }
    }
    for (const i of freed) this.free(i);
    return { freed, idle };
  }

  /** Marks a flow seen now (main thread, e.g. when it opens). */
  touch(i: number): void {
    Atomics.store(this.words, this.base(i) + E_SEEN, this.now());
  }

  entries(): number[] {
    return [...this.inUse];
  }
}
