// Internet checksum (RFC 1071) and its incremental update (RFC 1624), over Buffers in place.
// Pure functions with no allocation: the fast path calls them per packet.

/** Adds the 16-bit big-endian words of buf[start, end) to `sum` (a trailing odd byte is padded). */
export function onesSum(buf: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  // No folding needed here: 32 768 words of at most 0xffff stay far below 2^53.
  return sum;
}

/** Folds a 32-bit-or-more one's-complement accumulator into 16 bits. */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for data whose one's-complement word sum is `sum`. */
export function finish(sum: number): number {
  return ~fold(sum) & 0xffff;
}

/** Full RFC 1071 checksum over buf[start, end). */
export function internetChecksum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  return finish(onesSum(buf, start, end, initial));
}

/**
 * Sum of the TCP/UDP/ICMPv6 pseudo-header (RFC 793 §3.1 for IPv4, RFC 8200 §8.1 for IPv6):
 * source and destination address, protocol and upper-layer length.
 */
export function pseudoHeaderSum(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  addrLen: number,
  protocol: number,
  l4Length: number,
): number {
  let sum = onesSum(buf, srcOff, srcOff + addrLen);
  sum = onesSum(buf, dstOff, dstOff + addrLen, sum);
  return sum + protocol + (l4Length >>> 16) + (l4Length & 0xffff);
}

// Incremental updates (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')), as the fast path uses them per
// packet: put16/put32 write new field values and return their delta; adjust() applies the summed
// delta to a checksum field. The one implementation, shared by the fast path and the tests.

/** Writes a 16-bit value big-endian at p[off] and returns its checksum delta. */
export function put16(p: Uint8Array, off: number, v: number): number {
  const o = (p[off] << 8) | p[off + 1];
  p[off] = v >>> 8;
  p[off + 1] = v & 0xff;
  return (~o & 0xffff) + v;
}

/** Writes a 32-bit word big-endian at p[off] and returns its checksum delta. */
export function put32(p: Uint8Array, off: number, w: number): number {
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

/** Applies a summed delta (< 2^31) to the 16-bit checksum field at p[off]. */
export function adjust(p: Uint8Array, off: number, delta: number): void {
  let s = (~((p[off] << 8) | p[off + 1]) & 0xffff) + delta;
  // Fold until it fits: one fold can carry again (e.g. 0xffff + 0x1ffff).
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  s = ~s & 0xffff;
  p[off] = s >>> 8;
  p[off + 1] = s & 0xff;
}
