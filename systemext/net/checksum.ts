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

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), with `delta` the sum over changed 16-bit words of
 * (~m & 0xffff) + m'. Callers accumulate delta with `wordDelta` and apply it once.
 */
export function applyDelta(checksum: number, delta: number): number {
  return ~fold((~checksum & 0xffff) + delta) & 0xffff;
}

/** Contribution of replacing the 16-bit word `oldWord` by `newWord`. */
export function wordDelta(oldWord: number, newWord: number): number {
  return (~oldWord & 0xffff) + newWord;
}

/** Delta for replacing `len` bytes (even) at buf[off] by the bytes at src[srcOff] (not yet written). */
export function bytesDelta(
  buf: Uint8Array,
  off: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
): number {
  let d = 0;
  for (let i = 0; i < len; i += 2) {
    d +=
      (~((buf[off + i] << 8) | buf[off + i + 1]) & 0xffff) + ((src[srcOff + i] << 8) | src[srcOff + i + 1]);
  }
  return d;
}
