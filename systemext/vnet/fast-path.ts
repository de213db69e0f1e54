// The per-packet fast path: rewrites packets of established NAT flows in place, in whichever
// thread reads the tun (the tun worker via its fast-path hook, else the engine's main thread).
// Per packet: header checks, one table lookup, in-place rewrite, RFC 1624 incremental
// checksums. No allocation, no FFI. Anything unusual returns PASS for the slow path.
//
// Loaded by the tun worker with require(): keep its imports to pure modules.
// Atomics cost ~15 ns each here (V8 does not inline them), so only the seqlock version reads
// and the rare FIN/RST flag updates use them; other shared words are read and written plainly
// (aligned Int32 accesses are tear-free, and a stale value only costs a trip to the slow path).
import * as layout from './nat-table';
import type { NatInit } from './nat-table';

// Local copies: imported bindings can compile to getter calls (CommonJS interop), which would
// cost more than the whole rewrite on this per-packet path.
const NatTable = layout.NatTable;
const readWord = layout.readWord;
const E_CLIENT = layout.E_CLIENT;
const E_CPORT = layout.E_CPORT;
const E_FAMILY = layout.E_FAMILY;
const E_SEEN = layout.E_SEEN;
const E_STATE = layout.E_STATE;
const E_VER = layout.E_VER;
const E_VIP = layout.E_VIP;
const E_VPORT = layout.E_VPORT;
const E_FLAGS = layout.E_FLAGS;
const F_FIN_CLIENT = layout.F_FIN_CLIENT;
const F_FIN_SERVER = layout.F_FIN_SERVER;
const F_RST = layout.F_RST;
const H_FAKEBASE4 = layout.H_FAKEBASE4;
const H_LPORT4 = layout.H_LPORT4;
const H_LPORT6 = layout.H_LPORT6;
const H_NOW = layout.H_NOW;
const H_PREFIX6 = layout.H_PREFIX6;
const H_TUN4 = layout.H_TUN4;
const H_TUN6 = layout.H_TUN6;
const ST_CLOSING = layout.ST_CLOSING;
const ST_DIALING = layout.ST_DIALING;
const ST_OPEN = layout.ST_OPEN;

/** Verdicts of the fast-path hook (engineer A's worker contract). */
export const PASS = 0; // hand to the main thread
export const WRITTEN = 1; // rewritten in place: write it back to the device
export const DROP = 2;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/** Writes a 32-bit word big-endian and returns its RFC 1624 checksum delta. */
function put32(p: Uint8Array, off: number, w: number): number {
  const o1 = (p[off] << 8) | p[off + 1];
  const o2 = (p[off + 2] << 8) | p[off + 3];
  const n1 = (w >>> 16) & 0xffff;
  const n2 = w & 0xffff;
  p[off] = n1 >>> 8;
  p[off + 1] = n1 & 0xff;
  p[off + 2] = n2 >>> 8;
  p[off + 3] = n2 & 0xff;
  return (~o1 & 0xffff) + n1 + (~o2 & 0xffff) + n2;
}

function put16(p: Uint8Array, off: number, v: number): number {
  const o = (p[off] << 8) | p[off + 1];
  p[off] = v >>> 8;
  p[off + 1] = v & 0xff;
  return (~o & 0xffff) + v;
}

function adjust(p: Uint8Array, off: number, delta: number): void {
  let s = (~((p[off] << 8) | p[off + 1]) & 0xffff) + delta;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  s = ~s & 0xffff;
  p[off] = s >>> 8;
  p[off + 1] = s & 0xff;
}

export type FastPath = (pkt: Uint8Array) => number;

/** The hook's factory: called once in the worker with the engine's init. */
export function createFastPath(init: NatInit): FastPath {
  const nat = new NatTable(init);
  const w = nat.words;
  const eOff = nat.entriesOff;

  /** Rewrites a segment of the client flow: client:cport -> VIP:vport becomes fake:natPort -> tun:listener. */
  function toListener(p: Uint8Array, v4: boolean, l4: number, i: number, tcpFlags: number): number {
    const b = eOff + i * 16;
    const fakeIdx = nat.fakeIndex(i);
    let d = 0;
    let ipd = 0;
    if (v4) {
      ipd = put32(p, 12, w[H_FAKEBASE4] + fakeIdx) + put32(p, 16, w[H_TUN4]);
      d = ipd + put16(p, l4, nat.natPort(i)) + put16(p, l4 + 2, w[H_LPORT4]);
      adjust(p, 10, ipd);
    } else {
      for (let k = 0; k < 3; k++) d += put32(p, 8 + 4 * k, w[H_PREFIX6 + k]);
      d += put32(p, 20, w[H_FAKEBASE4] + fakeIdx);
      for (let k = 0; k < 4; k++) d += put32(p, 24 + 4 * k, w[H_TUN6 + k]);
      d += put16(p, l4, nat.natPort(i)) + put16(p, l4 + 2, w[H_LPORT6]);
    }
    adjust(p, l4 + 16, d);
    if (tcpFlags & (TCP_FIN | TCP_RST)) Atomics.or(w, b + E_FLAGS, tcpFlags & TCP_RST ? F_RST : F_FIN_CLIENT);
    w[b + E_SEEN] = w[H_NOW];
    return WRITTEN;
  }

  /** Rewrites a listener segment: tun:listener -> fake:natPort becomes VIP:vport -> client:cport. */
  function toClient(p: Uint8Array, v4: boolean, l4: number, i: number, tcpFlags: number): number {
    const b = eOff + i * 16;
    const n = v4 ? 1 : 4;
    const ver = Atomics.load(w, b + E_VER);
    const st = w[b + E_STATE];
    if (ver & 1 || (st !== ST_OPEN && st !== ST_CLOSING) || w[b + E_FAMILY] !== n * 4) return PASS;
    let d = 0;
    for (let k = 0; k < n; k++) d += put32(p, (v4 ? 12 : 8) + 4 * k, w[b + E_VIP + k]);
    for (let k = 0; k < n; k++) d += put32(p, (v4 ? 16 : 24) + 4 * k, w[b + E_CLIENT + k]);
    if (v4) adjust(p, 10, d);
    d += put16(p, l4, w[b + E_VPORT]) + put16(p, l4 + 2, w[b + E_CPORT]);
    adjust(p, l4 + 16, d);
    // The entry changed under us (freed and reused): the rewrite may be torn, drop it (TCP resends).
    if (Atomics.load(w, b + E_VER) !== ver) return DROP;
    if (tcpFlags & (TCP_FIN | TCP_RST)) Atomics.or(w, b + E_FLAGS, tcpFlags & TCP_RST ? F_RST : F_FIN_SERVER);
    w[b + E_SEEN] = w[H_NOW];
    return WRITTEN;
  }

  return function fastPath(p: Uint8Array): number {
    const len = p.length;
    if (len < 40) return PASS;
    const version = p[0] >> 4;
    let l4: number;
    let end: number;
    if (version === 4) {
      l4 = (p[0] & 0x0f) << 2;
      end = (p[2] << 8) | p[3];
      // TCP only, no fragments, sane lengths; everything else is the slow path's business.
      if (p[9] !== 6 || l4 < 20 || end > len || end < l4 + 20 || ((p[6] << 8) | p[7]) & 0x3fff) return PASS;
    } else if (version === 6) {
      l4 = 40;
      end = 40 + ((p[4] << 8) | p[5]);
      if (p[6] !== 6 || end > len || end < 60) return PASS;
    } else {
      return PASS;
    }
    const v4 = version === 4;
    if (l4 + ((p[l4 + 12] >> 4) << 2) > end) return PASS;
    const tcpFlags = p[l4 + 13];
    const sport = (p[l4] << 8) | p[l4 + 1];
    const dport = (p[l4 + 2] << 8) | p[l4 + 3];

    // Listener -> fake source: the reply direction, found by arithmetic on the fake address.
    const lport = w[v4 ? H_LPORT4 : H_LPORT6];
    if (sport === lport && lport !== 0) {
      let fromTun = true;
      let toFake = true;
      if (v4) {
        fromTun = readWord(p, 12) === w[H_TUN4];
      } else {
        for (let k = 0; k < 4 && fromTun; k++) fromTun = readWord(p, 8 + 4 * k) === w[H_TUN6 + k];
        for (let k = 0; k < 3 && toFake; k++) toFake = readWord(p, 24 + 4 * k) === w[H_PREFIX6 + k];
      }
      if (fromTun && toFake) {
        const fakeIdx = (readWord(p, v4 ? 16 : 36) - w[H_FAKEBASE4]) | 0;
        const i = nat.entryOfFake(fakeIdx, dport);
        if (i >= 0) return toClient(p, v4, l4, i, tcpFlags);
        return PASS;
      }
    }

    // Client -> VIP.
    const i = v4 ? nat.lookup(p, 12, 16, 4, sport, dport) : nat.lookup(p, 8, 24, 16, sport, dport);
    if (i < 0) return PASS;
    const st = w[eOff + i * 16 + E_STATE];
    const bareSyn = (tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (st === ST_DIALING) return bareSyn ? DROP : PASS; // absorb SYN retransmits while dialing
    if (st === ST_CLOSING && bareSyn) return PASS; // a new connection reusing the tuple
    if (st !== ST_OPEN && st !== ST_CLOSING) return PASS;
    return toListener(p, v4, l4, i, tcpFlags);
  };
}
