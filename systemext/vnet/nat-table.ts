// The NAT table, in one SharedArrayBuffer so the tun worker's fast path and the main thread
// read the same entries without messages that could race. Fixed capacity, no allocation.
//
// Each entry maps a client flow (client addr:cport -> VIP:vport) to a fake source fake:natPort.
// The fake side needs no index: entry i IS fake address (i % fakeCount) and port
// portBase + floor(i / fakeCount). The client side is an open-addressing hash (linear probing,
// tombstones) over the 4-tuple. Only the main thread inserts/removes; the worker only looks up
// and updates last-seen/flags with Atomics. A lookup that races a change may miss, which only
// sends that packet to the main thread's slow path; a per-entry seqlock stops torn reads.

import { ipToBytes } from '../net/addr';
import type { AddressPlan } from './addresses';

// Header words (Int32).
export const H_NOW = 0; // ms since the table's epoch, written by the main thread
export const H_LPORT4 = 1; // the engine's listener port on tun4 (0 = not listening)
export const H_LPORT6 = 2;
export const H_CAPACITY = 3;
export const H_FAKECOUNT = 4;
export const H_PORTBASE = 5;
export const H_TUN4 = 6; // tun IPv4 address as a 32-bit word
export const H_FAKEBASE4 = 7; // first fake IPv4 address
export const H_TUN6 = 8; // 4 words
export const H_PREFIX6 = 12; // 3 words: the VNet /96
export const H_HASHMASK = 15;
export const HEADER_WORDS = 32;

// Entry words.
export const E_VER = 0; // seqlock: odd while the main thread rewrites the entry
export const E_STATE = 1;
export const E_FLAGS = 2;
export const E_SEEN = 3;
export const E_FAMILY = 4;
export const E_CPORT = 5;
export const E_VPORT = 6;
export const E_SLOT = 7; // its hash slot, for removal
export const E_CLIENT = 8; // 4 words (IPv4: word 0 only)
export const E_VIP = 12; // 4 words
export const ENTRY_WORDS = 16;

export const ST_FREE = 0;
export const ST_DIALING = 1; // SYN seen, upstream being dialed: SYN retransmits are absorbed
export const ST_OPEN = 2;
export const ST_CLOSING = 3; // both FINs or an RST seen: translated until TIME_WAIT ends

export const F_FIN_CLIENT = 1;
export const F_FIN_SERVER = 2;
export const F_RST = 4;

const SLOT_EMPTY = 0;
const SLOT_TOMBSTONE = -1;

/** What the tun worker needs to attach to the table (structured-clonable). */
export interface NatInit {
  sab: SharedArrayBuffer;
}

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
}

/** Hash of a flow's 4-tuple from words already read out of a packet or entry. */
export function flowHash(
  c0: number,
  c3: number,
  v0: number,
  v3: number,
  cport: number,
  vport: number,
): number {
  let h = Math.imul(c3 ^ 0x9e3779b9, 0x85ebca6b) ^ v3;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ ((cport << 16) | vport);
  h = Math.imul(h ^ c0 ^ (h >>> 16), 0x27d4eb2f) ^ v0;
  return (h ^ (h >>> 15)) >>> 0;
}

export function readWord(b: Uint8Array, off: number): number {
  return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
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
  return { sab };
}

/** A view of the table; the main thread's instance also allocates and frees. */
export class NatTable {
  readonly words: Int32Array;
  readonly capacity: number;
  readonly fakeCount: number;
  readonly portBase: number;
  readonly entriesOff = HEADER_WORDS;
  readonly slotsOff: number;
  readonly mask: number;
  private cursor = 0;
  private used = 0;
  private tombstones = 0;
  /** Main-thread bookkeeping: when each entry entered CLOSING. */
  private readonly closedAt: Float64Array;
  private readonly inUse = new Set<number>();

  constructor(init: NatInit) {
    this.words = new Int32Array(init.sab);
    this.capacity = this.words[H_CAPACITY];
    this.fakeCount = this.words[H_FAKECOUNT];
    this.portBase = this.words[H_PORTBASE];
    this.mask = this.words[H_HASHMASK];
    this.slotsOff = HEADER_WORDS + this.capacity * ENTRY_WORDS;
    this.closedAt = new Float64Array(this.capacity);
  }

  get size(): number {
    return this.used;
  }

  setNow(ms: number): void {
    Atomics.store(this.words, H_NOW, ms | 0);
  }
  now(): number {
    return Atomics.load(this.words, H_NOW);
  }

  setListenerPorts(v4: number, v6: number): void {
    Atomics.store(this.words, H_LPORT4, v4);
    Atomics.store(this.words, H_LPORT6, v6);
  }

  base(i: number): number {
    return this.entriesOff + i * ENTRY_WORDS;
  }

  state(i: number): number {
    return Atomics.load(this.words, this.base(i) + E_STATE);
  }
  flags(i: number): number {
    return Atomics.load(this.words, this.base(i) + E_FLAGS);
  }
  lastSeen(i: number): number {
    return Atomics.load(this.words, this.base(i) + E_SEEN);
  }
  setState(i: number, st: number): void {
    Atomics.store(this.words, this.base(i) + E_STATE, st);
  }

  /** Fake address index (0..fakeCount-1) and NAT port of entry i. */
  fakeIndex(i: number): number {
    return i % this.fakeCount;
  }
  natPort(i: number): number {
    return this.portBase + Math.floor(i / this.fakeCount);
  }
  /** Entry for fake address index + NAT port, or -1. */
  entryOfFake(fakeIdx: number, natPort: number): number {
    if (fakeIdx < 0 || fakeIdx >= this.fakeCount || natPort < this.portBase) return -1;
    const i = (natPort - this.portBase) * this.fakeCount + fakeIdx;
    return i < this.capacity ? i : -1;
  }

  /**
   * Finds the entry of a client flow. `addrLen` 4 or 16; addresses are read from `buf` at the
   * given offsets. Returns -1 when absent (or when a concurrent change made the read unsafe).
   */
  lookup(buf: Uint8Array, cOff: number, vOff: number, addrLen: number, cport: number, vport: number): number {
    const w = this.words;
    const n = addrLen >> 2;
    const c0 = readWord(buf, cOff);
    const cl = n === 1 ? c0 : readWord(buf, cOff + 12);
    const v0 = readWord(buf, vOff);
    const vl = n === 1 ? v0 : readWord(buf, vOff + 12);
    let s = flowHash(c0, cl, v0, vl, cport, vport) & this.mask;
    for (let probes = 0; probes <= this.mask; probes++) {
      const v = w[this.slotsOff + s];
      if (v === SLOT_EMPTY) return -1;
      if (v > 0) {
        const i = v - 1;
        const b = this.entriesOff + i * ENTRY_WORDS;
        const ver = Atomics.load(w, b + E_VER);
        if (
          (ver & 1) === 0 &&
          w[b + E_CPORT] === cport &&
          w[b + E_VPORT] === vport &&
          w[b + E_FAMILY] === addrLen
        ) {
          let same = true;
          for (let k = 0; k < n && same; k++) {
            same =
              w[b + E_CLIENT + k] === readWord(buf, cOff + 4 * k) &&
              w[b + E_VIP + k] === readWord(buf, vOff + 4 * k);
          }
          if (same && Atomics.load(w, b + E_VER) === ver) return i;
        }
      }
      s = (s + 1) & this.mask;
    }
    return -1;
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
    // Round-robin, so a freed fake:port pair is reused as late as possible (the kernel keeps
    // the listener side of a closed connection in TIME_WAIT for a minute).
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
    for (let k = 0; k < 4; k++) {
      w[b + E_CLIENT + k] = k < addrLen / 4 ? readWord(buf, cOff + 4 * k) : 0;
      w[b + E_VIP + k] = k < addrLen / 4 ? readWord(buf, vOff + 4 * k) : 0;
    }
    const n = addrLen >> 2;
    const h = flowHash(
      w[b + E_CLIENT],
      w[b + E_CLIENT + n - 1],
      w[b + E_VIP],
      w[b + E_VIP + n - 1],
      cport,
      vport,
    );
    let s = h & this.mask;
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

  /** Removes an entry (main thread). */
  free(i: number): void {
    if (!this.inUse.delete(i)) return;
    const w = this.words;
    const b = this.base(i);
    Atomics.add(w, b + E_VER, 1);
    Atomics.store(w, this.slotsOff + w[b + E_SLOT], SLOT_TOMBSTONE);
    Atomics.store(w, b + E_STATE, ST_FREE);
    Atomics.add(w, b + E_VER, 1);
    this.used--;
    this.tombstones++;
    if (this.tombstones > (this.mask + 1) / 4) this.rehash();
  }

  /** Rebuilds the hash without tombstones (readers may miss meanwhile: they fall back to the slow path). */
  private rehash(): void {
    const w = this.words;
    w.fill(SLOT_EMPTY, this.slotsOff, this.slotsOff + this.mask + 1);
    for (const i of this.inUse) {
      const b = this.base(i);
      const n = w[b + E_FAMILY] >> 2;
      let s =
        flowHash(
          w[b + E_CLIENT],
          w[b + E_CLIENT + n - 1],
          w[b + E_VIP],
          w[b + E_VIP + n - 1],
          w[b + E_CPORT],
          w[b + E_VPORT],
        ) & this.mask;
      while (w[this.slotsOff + s] !== SLOT_EMPTY) s = (s + 1) & this.mask;
      w[b + E_SLOT] = s;
      Atomics.store(w, this.slotsOff + s, i + 1);
    }
    this.tombstones = 0;
  }

  /**
   * Expiry pass (main thread). Entries whose both FINs or an RST were seen enter CLOSING and are
   * freed `timeWaitMs` later; open entries idle for `idleMs` are freed. Returns the freed ones.
   */
  sweep(
    nowMs: number,
    timeWaitMs: number,
    idleMs: number,
  ): Array<{ entry: number; reason: 'closed' | 'idle' }> {
    this.setNow(nowMs);
    const now = nowMs | 0;
    const freed: Array<{ entry: number; reason: 'closed' | 'idle' }> = [];
    for (const i of this.inUse) {
      const st = this.state(i);
      if (st === ST_DIALING) continue;
      const f = this.flags(i);
      if (st === ST_OPEN && (f & F_RST || (f & F_FIN_CLIENT && f & F_FIN_SERVER))) {
        this.setState(i, ST_CLOSING);
        this.closedAt[i] = nowMs;
      }
      if (this.state(i) === ST_CLOSING) {
        if (nowMs - this.closedAt[i] >= timeWaitMs) freed.push({ entry: i, reason: 'closed' });
      } else if (((now - this.lastSeen(i)) | 0) >= idleMs) {
        freed.push({ entry: i, reason: 'idle' });
      }
    }
    for (const { entry } of freed) this.free(entry);
    return freed;
  }

  /** Marks a flow seen now (main thread, e.g. when it opens). */
  touch(i: number): void {
    Atomics.store(this.words, this.base(i) + E_SEEN, this.now());
  }

  entries(): number[] {
    return [...this.inUse];
  }
}
