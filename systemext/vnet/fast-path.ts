// The per-packet fast path: rewrites packets of established NAT flows in place, in whichever
// thread reads the tun (the tun worker via its fast-path hook, else the engine's main thread).
// Per packet: header checks, one table lookup, in-place rewrite, RFC 1624 incremental
// checksums. No allocation, no FFI. Anything unusual returns PASS for the slow path.
//
// Loaded by the tun worker with require(): keep its imports to pure modules.
// Atomics cost ~15 ns each here (V8 does not inline them), so only the seqlock version reads
// and the rare FIN/RST flag updates use them; other shared words are read and written plainly
// (aligned Int32 accesses are tear-free, and a stale value only costs a trip to the slow path).
import * as checksum from '../net/checksum';
import * as verdicts from '../tun/verdicts';
import * as layout from './nat-view';
import type { NatInit } from './nat-view';

// Local copies: imported bindings can compile to getter calls (CommonJS interop), which would
// cost more than the whole rewrite on this per-packet path.
const NatView = layout.NatView;
const readWord = layout.readWord;
const put16 = checksum.put16;
const put32 = checksum.put32;
const adjust = checksum.adjust;
const ENTRY_WORDS = layout.ENTRY_WORDS;
const E_CLIENT = layout.E_CLIENT;
const E_CPORT = layout.E_CPORT;
const E_FAMILY = layout.E_FAMILY;
const E_SEEN = layout.E_SEEN;
const E_STATE = layout.E_STATE;
const E_VER = layout.E_VER;
const E_VIP = layout.E_VIP;
const E_VPORT = layout.E_VPORT;
const E_FLAGS = layout.E_FLAGS;
const E_LPORT = layout.E_LPORT;
const F_FIN_CLIENT = layout.F_FIN_CLIENT;
const F_FIN_SERVER = layout.F_FIN_SERVER;
const F_RST = layout.F_RST;
const H_FAKEBASE4 = layout.H_FAKEBASE4;
const H_LPORT4 = layout.H_LPORT4;
const H_LPORT6 = layout.H_LPORT6;
const H_NOW = layout.H_NOW;
const H_RLPORT4 = layout.H_RLPORT4;
const H_RLPORT6 = layout.H_RLPORT6;
const H_PREFIX6 = layout.H_PREFIX6;
const H_TUN4 = layout.H_TUN4;
const H_TUN6 = layout.H_TUN6;
const ST_CLOSING = layout.ST_CLOSING;
const ST_DIALING = layout.ST_DIALING;
const ST_OPEN = layout.ST_OPEN;

/** Verdicts (the tun's fast-path contract, ../tun/verdicts). */
export const PASS = verdicts.PASS;
export const REPLY = verdicts.REPLY;
export const DROP = verdicts.DROP;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

// Header offsets. IPv4: version/IHL, total length, flags/fragment offset, protocol, checksum,
// source, destination. IPv6: payload length, next header, source, destination. TCP: ports,
// data offset, flags, checksum.
const V4_TOTAL_LEN = 2;
const V4_FRAG = 6;
const V4_PROTO = 9;
const V4_CSUM = 10;
const V4_SRC = 12;
const V4_DST = 16;
const V6_PAYLOAD_LEN = 4;
const V6_NEXT = 6;
const V6_SRC = 8;
const V6_DST = 24;
const V6_HEADER = 40;
const TCP_SPORT = 0;
const TCP_DPORT = 2;
const TCP_DATA_OFF = 12;
const TCP_FLAGS = 13;
const TCP_CSUM = 16;
const TCP_MIN = 20;
const PROTO_TCP = 6;
/** Fake IPv6 sources are the /96 prefix + the fake IPv4 address: its last word. */
const V6_LAST_WORD = 12;

export type FastPath = (pkt: Uint8Array) => number;

/** The hook's factory: called once in the worker with the engine's init. */
export function createFastPath(init: NatInit): FastPath {
  const nat = new NatView(init);
  const w = nat.words;
  const eOff = nat.entriesOff;

  /** Rewrites a segment of the client flow: client:cport -> VIP:vport becomes fake:natPort -> tun:listener. */
  function toListener(
    p: Uint8Array,
    v4: boolean,
    l4: number,
    i: number,
    ver: number,
    tcpFlags: number,
  ): number {
    const b = eOff + i * ENTRY_WORDS;
    const fakeIdx = nat.fakeIndex(i);
    // The entry's listener (the relay worker's), else the engine's own.
    const lport = w[b + E_LPORT] || w[v4 ? H_LPORT4 : H_LPORT6];
    let d = 0;
    if (v4) {
      const ipd = put32(p, V4_SRC, w[H_FAKEBASE4] + fakeIdx) + put32(p, V4_DST, w[H_TUN4]);
      d = ipd + put16(p, l4 + TCP_SPORT, nat.natPort(i)) + put16(p, l4 + TCP_DPORT, lport);
      adjust(p, V4_CSUM, ipd);
    } else {
      for (let k = 0; k < 3; k++) d += put32(p, V6_SRC + 4 * k, w[H_PREFIX6 + k]);
      d += put32(p, V6_SRC + V6_LAST_WORD, w[H_FAKEBASE4] + fakeIdx);
      for (let k = 0; k < 4; k++) d += put32(p, V6_DST + 4 * k, w[H_TUN6 + k]);
      d += put16(p, l4 + TCP_SPORT, nat.natPort(i)) + put16(p, l4 + TCP_DPORT, lport);
    }
    adjust(p, l4 + TCP_CSUM, d);
    // The entry changed since lookup() validated it (freed and reused): the packet now carries
    // another flow's fake source. Drop it (TCP resends) rather than feed it to the wrong socket.
    if (Atomics.load(w, b + E_VER) !== ver) return DROP;
    if (tcpFlags & (TCP_FIN | TCP_RST)) Atomics.or(w, b + E_FLAGS, tcpFlags & TCP_RST ? F_RST : F_FIN_CLIENT);
    w[b + E_SEEN] = w[H_NOW];
    return REPLY;
  }

  /** Rewrites a listener segment: tun:listener -> fake:natPort becomes VIP:vport -> client:cport. */
  function toClient(
    p: Uint8Array,
    v4: boolean,
    l4: number,
    i: number,
    sport: number,
    tcpFlags: number,
  ): number {
    const b = eOff + i * ENTRY_WORDS;
    const n = v4 ? 1 : 4;
    const ver = Atomics.load(w, b + E_VER);
    const st = w[b + E_STATE];
    if (ver & 1 || (st !== ST_OPEN && st !== ST_CLOSING) || w[b + E_FAMILY] !== n * 4) return PASS;
    // Only from the listener this flow was given (the other one has no business with fake:natPort).
    if ((w[b + E_LPORT] || w[v4 ? H_LPORT4 : H_LPORT6]) !== sport) return PASS;
    let d = 0;
    for (let k = 0; k < n; k++) d += put32(p, (v4 ? V4_SRC : V6_SRC) + 4 * k, w[b + E_VIP + k]);
    for (let k = 0; k < n; k++) d += put32(p, (v4 ? V4_DST : V6_DST) + 4 * k, w[b + E_CLIENT + k]);
    if (v4) adjust(p, V4_CSUM, d);
    d += put16(p, l4 + TCP_SPORT, w[b + E_VPORT]) + put16(p, l4 + TCP_DPORT, w[b + E_CPORT]);
    adjust(p, l4 + TCP_CSUM, d);
    // The entry changed under us (freed and reused): the rewrite may be torn, drop it (TCP resends).
    if (Atomics.load(w, b + E_VER) !== ver) return DROP;
    if (tcpFlags & (TCP_FIN | TCP_RST)) Atomics.or(w, b + E_FLAGS, tcpFlags & TCP_RST ? F_RST : F_FIN_SERVER);
    w[b + E_SEEN] = w[H_NOW];
    return REPLY;
  }

  return function fastPath(p: Uint8Array): number {
    const len = p.length;
    if (len < 40) return PASS;
    const version = p[0] >> 4;
    let l4: number;
    let end: number;
    if (version === 4) {
      l4 = (p[0] & 0x0f) << 2;
      end = (p[V4_TOTAL_LEN] << 8) | p[V4_TOTAL_LEN + 1];
      // TCP only, no fragments, sane lengths; everything else is the slow path's business.
      if (
        p[V4_PROTO] !== PROTO_TCP ||
        l4 < 20 ||
        end > len ||
        end < l4 + TCP_MIN ||
        ((p[V4_FRAG] << 8) | p[V4_FRAG + 1]) & 0x3fff
      )
        return PASS;
    } else if (version === 6) {
      l4 = V6_HEADER;
      end = V6_HEADER + ((p[V6_PAYLOAD_LEN] << 8) | p[V6_PAYLOAD_LEN + 1]);
      if (p[V6_NEXT] !== PROTO_TCP || end > len || end < V6_HEADER + TCP_MIN) return PASS;
    } else {
      return PASS;
    }
    const v4 = version === 4;
    if (l4 + ((p[l4 + TCP_DATA_OFF] >> 4) << 2) > end) return PASS;
    const tcpFlags = p[l4 + TCP_FLAGS];
    const sport = (p[l4 + TCP_SPORT] << 8) | p[l4 + TCP_SPORT + 1];
    const dport = (p[l4 + TCP_DPORT] << 8) | p[l4 + TCP_DPORT + 1];

    // Listener -> fake source: the reply direction, found by arithmetic on the fake address. The
    // listener is the engine's own or the relay worker's.
    const lport = w[v4 ? H_LPORT4 : H_LPORT6];
    const rport = w[v4 ? H_RLPORT4 : H_RLPORT6];
    if ((sport === lport && lport !== 0) || (sport === rport && rport !== 0)) {
      let fromTun = true;
      let toFake = true;
      if (v4) {
        fromTun = readWord(p, V4_SRC) === w[H_TUN4];
      } else {
        for (let k = 0; k < 4 && fromTun; k++) fromTun = readWord(p, V6_SRC + 4 * k) === w[H_TUN6 + k];
        for (let k = 0; k < 3 && toFake; k++) toFake = readWord(p, V6_DST + 4 * k) === w[H_PREFIX6 + k];
      }
      if (fromTun && toFake) {
        const fakeIdx = (readWord(p, v4 ? V4_DST : V6_DST + V6_LAST_WORD) - w[H_FAKEBASE4]) | 0;
        const i = nat.entryOfFake(fakeIdx, dport);
        if (i >= 0) return toClient(p, v4, l4, i, sport, tcpFlags);
        return PASS;
      }
    }

    // Client -> VIP.
    const i = v4
      ? nat.lookup(p, V4_SRC, V4_DST, 4, sport, dport)
      : nat.lookup(p, V6_SRC, V6_DST, 16, sport, dport);
    if (i < 0) return PASS;
    const ver = nat.lastVer;
    const b = eOff + i * ENTRY_WORDS;
    const st = w[b + E_STATE];
    const bareSyn = (tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (st === ST_DIALING) return bareSyn ? DROP : PASS; // absorb SYN retransmits while dialing
    if (st !== ST_OPEN && st !== ST_CLOSING) return PASS;
    // A new connection reusing the tuple (the old one closing, or reset): the slow path starts a
    // new flow; the old socket must not see this SYN.
    if (bareSyn && (st === ST_CLOSING || w[b + E_FLAGS] & (F_FIN_CLIENT | F_RST))) return PASS;
    return toListener(p, v4, l4, i, ver, tcpFlags);
  };
}
