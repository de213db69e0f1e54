// Incremental checksum updates (RFC 1624), the ones the fast path uses, agree with full
// recomputation (RFC 1071).
import { expect } from 'chai';
import {
  adjust,
  internetChecksum,
  onesSum,
  pseudoHeaderSum,
  put16,
  put32,
} from '../../../systemext/net/checksum';

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('internet checksum', () => {
  it('matches the RFC 1071 example', () => {
    const data = Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(internetChecksum(data, 0, data.length)).to.equal(~0xddf2 & 0xffff);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(internetChecksum(Buffer.from([0x12, 0x34, 0x56]), 0, 3)).to.equal(~(0x1234 + 0x5600) & 0xffff);
  });

  it('sums only [start, end) of a larger buffer, for every length and offset', () => {
    // The fast path sums slices of a packet: bytes just past `end` must never count.
    const rnd = prng(7);
    const big = Buffer.from(Array.from({ length: 64 }, () => 1 + Math.floor(rnd() * 255)));
    for (let start = 0; start < 4; start++) {
      for (let end = start; end < 40; end++) {
        const copy = Buffer.alloc(end - start + 1); // a zero pad byte for the odd tail
        big.copy(copy, 0, start, end);
        let want = 0;
        for (let i = 0; i + 1 < copy.length; i += 2) want += copy.readUInt16BE(i);
        expect(onesSum(big, start, end), `[${start}, ${end})`).to.equal(want);
      }
    }
  });

  it('pseudoHeaderSum equals the sum of the pseudo-header written out (IPv4 and IPv6, jumbo length)', () => {
    const rnd = prng(11);
    for (const [addrLen, l4Length] of [
      [4, 20],
      [4, 0xfffe],
      [16, 1480],
      [16, 0x1_0004], // an IPv6 jumbogram's 32-bit length: both halves count
    ] as const) {
      // A packet with the addresses where an IP header has them, and bytes around them.
      const pkt = Buffer.from(Array.from({ length: 48 }, () => Math.floor(rnd() * 256)));
      const srcOff = addrLen === 4 ? 12 : 8;
      const dstOff = srcOff + addrLen;
      // RFC 8200 §8.1 layout (for IPv4 the zero/protocol/length words sum the same).
      const ph = Buffer.alloc(2 * addrLen + 8);
      pkt.copy(ph, 0, srcOff, srcOff + addrLen);
      pkt.copy(ph, addrLen, dstOff, dstOff + addrLen);
      ph.writeUInt32BE(l4Length, 2 * addrLen);
      ph[2 * addrLen + 7] = 6;
      expect(pseudoHeaderSum(pkt, srcOff, dstOff, addrLen, 6, l4Length), `${addrLen} ${l4Length}`).to.equal(
        onesSum(ph, 0, ph.length),
      );
    }
  });

  /** A buffer whose checksum field (at 0) holds the checksum of the whole. */
  function withChecksum(buf: Buffer): Buffer {
    buf.writeUInt16BE(0, 0);
    buf.writeUInt16BE(internetChecksum(buf, 0, buf.length), 0);
    return buf;
  }

  it('put16/put32 + adjust equal full recomputation over 50 000 random edits', () => {
    const rnd = prng(1624);
    for (let n = 0; n < 50_000; n++) {
      const len = 8 + 2 * Math.floor(rnd() * 40);
      const buf = Buffer.alloc(len);
      for (let i = 2; i < len; i++) buf[i] = Math.floor(rnd() * 256);
      // Edge cases of one's complement arithmetic: all-zero and all-ones words.
      if (n % 7 === 0) buf.fill(0, 2);
      if (n % 11 === 0) buf.fill(0xff, 2);
      // Real headers always hold a non-zero word (IP version, protocol in the pseudo-header); an
      // all-zero buffer is the one case where +0 and -0 (0x0000/0xffff) legitimately differ.
      buf[2] |= 0x40;
      withChecksum(buf);
      const edits = 1 + Math.floor(rnd() * 8);
      let delta = 0;
      for (let e = 0; e < edits; e++) {
        const wide = rnd() < 0.5 && len >= 12;
        const off = 4 + 2 * Math.floor(rnd() * ((len - (wide ? 8 : 6)) / 2));
        const v = n % 13 === 0 ? 0xffffffff : n % 17 === 0 ? 0 : Math.floor(rnd() * 2 ** 32);
        delta += wide ? put32(buf, off, v | 0) : put16(buf, off, v & 0xffff);
      }
      adjust(buf, 0, delta);
      const check = Buffer.from(buf);
      expect(internetChecksum(check, 0, len), `case ${n}`).to.equal(0);
    }
  });

  // Regression guard: folding the carry once is not enough when the first fold carries again.
  it('adjust() folds until the sum fits (a carry out of the first fold)', () => {
    const buf = Buffer.alloc(8);
    buf.writeUInt16BE(0x0000, 0); // ~checksum = 0xffff
    adjust(buf, 0, 0x1ffff); // 0xffff + 0x1ffff = 0x2fffe -> 0xfffe + 2 = 0x10000 -> 0x0001
    expect(buf.readUInt16BE(0)).to.equal(~0x0001 & 0xffff);
  });

  it('put32 writes big-endian and returns the delta of both words', () => {
    const buf = Buffer.from('0a000001ffff', 'hex');
    const before = internetChecksum(buf, 0, 6);
    const d = put32(buf, 0, 0x64400001);
    expect(buf.toString('hex')).to.equal('64400001ffff');
    const field = Buffer.alloc(2);
    field.writeUInt16BE(before);
    adjust(field, 0, d);
    expect(field.readUInt16BE(0)).to.equal(internetChecksum(buf, 0, 6));
  });
});
