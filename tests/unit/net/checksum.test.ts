// Incremental checksum updates (RFC 1624) agree with full recomputation (RFC 1071).
import { expect } from 'chai';
import { applyDelta, bytesDelta, internetChecksum, wordDelta } from '../../../systemext/net/checksum';

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

  it('incremental updates equal full recomputation over 20 000 random edits', () => {
    const rnd = prng(1624);
    for (let n = 0; n < 20_000; n++) {
      const len = 4 + 2 * Math.floor(rnd() * 40);
      const buf = Buffer.alloc(len);
      for (let i = 0; i < len; i++) buf[i] = Math.floor(rnd() * 256);
      // Edge cases of one's complement arithmetic: all-zero and all-ones words.
      if (n % 7 === 0) buf.fill(0);
      if (n % 11 === 0) buf.fill(0xff);
      // Real headers always hold a non-zero word (IP version, protocol in the pseudo-header); an
      // all-zero buffer is the one case where +0 and -0 (0x0000/0xffff) legitimately differ.
      buf[0] |= 0x40;
      const before = internetChecksum(buf, 0, len);
      const edits = 1 + Math.floor(rnd() * 4);
      let delta = 0;
      for (let e = 0; e < edits; e++) {
        const off = 2 + 2 * Math.floor(rnd() * (len / 2 - 1));
        const nw = n % 13 === 0 ? 0xffff : n % 17 === 0 ? 0 : Math.floor(rnd() * 65536);
        delta += wordDelta(buf.readUInt16BE(off), nw);
        buf.writeUInt16BE(nw, off);
      }
      expect(applyDelta(before, delta), `case ${n}`).to.equal(internetChecksum(buf, 0, len));
    }
  });

  it('bytesDelta covers multi-word replacements (addresses)', () => {
    const buf = Buffer.from('0a000001c0a80001deadbeef', 'hex');
    const repl = Buffer.from('6440000164400002', 'hex');
    const before = internetChecksum(buf, 0, buf.length);
    const d = bytesDelta(buf, 0, repl, 0, 8);
    repl.copy(buf, 0);
    expect(applyDelta(before, d)).to.equal(internetChecksum(buf, 0, buf.length));
  });
});
