// The NAT table's shared layout and the read side that both threads use: the tun worker's fast
// path (lookups, last-seen and FIN/RST flags) and the main thread. Pure: the worker loads it, so
// no Node imports here. The main thread's allocator is NatTable (./nat-table).
//
// One SharedArrayBuffer: a header, `capacity` fixed-size entries, then the hash slots.
// Each entry maps a client flow (client addr:cport -> VIP:vport) to a fake source fake:natPort.
// The fake side needs no index: entry i IS fake address (i % fakeCount) and port
// portBase + floor(i / fakeCount). The client side is an open-addressing hash (linear probing,
// tombstones) over the 4-tuple, seeded per table so a peer cannot aim collisions at it. Only the
// main thread inserts/removes; a per-entry seqlock (E_VER, odd while rewritten) lets readers detect
// a change under them: a lookup that races a change misses (the packet takes the slow path), and a
// rewrite that raced one is dropped (TCP resends it).

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
export const H_SEED = 16; // random per table: the flow hash's seed
export const H_RLPORT4 = 17; // the relay worker's listener port on tun4 (0 = no relay worker)
export const H_RLPORT6 = 18;
export const HEADER_WORDS = 32;

// Entry words.
export const E_VER = 0; // seqlock: odd while the main thread rewrites the entry
export const E_STATE = 1;
export const E_FLAGS = 2;
export const E_SEEN = 3;
export const E_FAMILY = 4; // address length: 4 or 16
export const E_CPORT = 5;
export const E_VPORT = 6;
export const E_SLOT = 7; // its hash slot, for removal
export const E_CLIENT = 8; // 4 words (IPv4: word 0 only)
export const E_VIP = 12; // 4 words
/** The listener port this flow's SYN was rewritten to (0 = the engine's own, H_LPORT4/6). */
export const E_LPORT = 16;
export const ENTRY_WORDS = 17;

export const ST_FREE = 0;
/** SYN seen, app being resolved and dialed: SYN retransmits are absorbed, nothing reaches the kernel. */
export const ST_DIALING = 1;
/** The SYN went to the listener: segments are rewritten both ways. */
export const ST_OPEN = 2;
/** Our sockets closed: still translated (late FIN/ACKs), held out of reuse for TIME_WAIT. */
export const ST_CLOSING = 3;
/** Replaced by a new flow on the same client tuple: out of the hash, not translated, still held. */
export const ST_RETIRED = 4;

export const F_FIN_CLIENT = 1;
export const F_FIN_SERVER = 2;
export const F_RST = 4;

export const SLOT_EMPTY = 0;
export const SLOT_TOMBSTONE = -1;

/** What the tun worker needs to attach to the table (structured-clonable). */
export interface NatInit {
  sab: SharedArrayBuffer;
}

/** Hash of a flow's 4-tuple from words already read out of a packet or entry. */
export function flowHash(
  seed: number,
  c0: number,
  c3: number,
  v0: number,
  v3: number,
  cport: number,
  vport: number,
): number {
  let h = Math.imul(c3 ^ seed, 0x85ebca6b) ^ v3;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ ((cport << 16) | vport);
  h = Math.imul(h ^ c0 ^ (h >>> 16), 0x27d4eb2f) ^ v0;
  return (h ^ (h >>> 15)) >>> 0;
}

export function readWord(b: Uint8Array, off: number): number {
  return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
}

/** A view of the shared table: lookups and entry fields, safe from any thread. */
export class NatView {
  readonly words: Int32Array;
  readonly capacity: number;
  readonly fakeCount: number;
  readonly portBase: number;
  readonly entriesOff = HEADER_WORDS;
  readonly slotsOff: number;
  readonly mask: number;
  readonly seed: number;
  /** The entry version the last successful lookup() validated (for the caller's re-check). */
  lastVer = 0;

  constructor(init: NatInit) {
    this.words = new Int32Array(init.sab);
    this.capacity = this.words[H_CAPACITY];
    this.fakeCount = this.words[H_FAKECOUNT];
    this.portBase = this.words[H_PORTBASE];
    this.mask = this.words[H_HASHMASK];
    this.seed = this.words[H_SEED];
    this.slotsOff = HEADER_WORDS + this.capacity * ENTRY_WORDS;
  }

  now(): number {
    return Atomics.load(this.words, H_NOW);
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
  version(i: number): number {
    return Atomics.load(this.words, this.base(i) + E_VER);
  }

  /**
   * DIALING -> OPEN (and seen now) if the entry is still DIALING; true if this call moved it. The
   * one write outside the main thread: the relay worker opens the entry it writes the SYN for
   * (./syn-offer), racing the main thread's own open, so both use this compare-and-swap.
   */
  openIfDialing(i: number): boolean {
    const b = this.base(i);
    if (Atomics.compareExchange(this.words, b + E_STATE, ST_DIALING, ST_OPEN) !== ST_DIALING) return false;
    Atomics.store(this.words, b + E_SEEN, this.now());
    return true;
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

  /** Entry whose fake source is `addr` (4 or 16 bytes, as a listener sees it) and `natPort`, or -1. */
  entryOfFakeAddress(addr: Uint8Array, natPort: number): number {
    const w = this.words;
    let word: number;
    if (addr.length === 4) word = readWord(addr, 0);
    else if (addr.length === 16) {
      for (let k = 0; k < 3; k++) if (readWord(addr, 4 * k) !== w[H_PREFIX6 + k]) return -1;
      word = readWord(addr, 12);
    } else return -1;
    return this.entryOfFake((word - w[H_FAKEBASE4]) | 0, natPort);
  }

  /**
   * Finds the entry of a client flow. `addrLen` 4 or 16; addresses are read from `buf` at the
   * given offsets. Returns -1 when absent (or when a concurrent change made the read unsafe); on
   * success `lastVer` holds the version it validated.
   */
  lookup(buf: Uint8Array, cOff: number, vOff: number, addrLen: number, cport: number, vport: number): number {
    const w = this.words;
    const n = addrLen >> 2;
    const c0 = readWord(buf, cOff);
    const cl = n === 1 ? c0 : readWord(buf, cOff + 12);
    const v0 = readWord(buf, vOff);
    const vl = n === 1 ? v0 : readWord(buf, vOff + 12);
    let s = flowHash(this.seed, c0, cl, v0, vl, cport, vport) & this.mask;
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
          if (same && Atomics.load(w, b + E_VER) === ver) {
            this.lastVer = ver;
            return i;
          }
        }
      }
      s = (s + 1) & this.mask;
    }
    return -1;
  }
}
