import { expect } from 'chai';
import fc from 'fast-check';
import { FrameError, FrameGuard } from '../../../ipc/frame-guard';

const frame = (body: string): Buffer => {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b]);
};

/** Splits `buf` at the given cut points (positions are taken modulo its length). */
function chunks(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, buf.length]) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  return out;
}

describe('FrameGuard (the bound on what a peer can make us buffer)', () => {
  it('passes any sequence of frames within the limit, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (bodies, cuts) => {
          const g = new FrameGuard(4096);
          const stream = Buffer.concat(bodies.map(frame));
          for (const c of chunks(stream, cuts)) g.check(c);
        },
      ),
    );
  });

  it('a declared body over the limit fails at its header, before the body arrives', () => {
    const g = new FrameGuard(1024);
    expect(() => g.check(Buffer.from('Content-Length: 1025\r\n\r\n'))).to.throw(
      FrameError,
      /1025 bytes is over the limit of 1024/,
    );
  });

  it('a header that never ends fails once it passes 1 KiB, even in small pieces', () => {
    const g = new FrameGuard(1 << 20);
    let err: unknown = null;
    try {
      for (let i = 0; i < 2000; i++) g.check(Buffer.from('x'));
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(FrameError);
    expect((err as Error).message).to.match(/header longer than 1024/);
  });

  it('rejects a header without Content-Length, a non-numeric one, and a line without a colon', () => {
    expect(() => new FrameGuard(100).check(Buffer.from('Content-Type: x\r\n\r\n'))).to.throw(
      /without Content-Length/,
    );
    expect(() => new FrameGuard(100).check(Buffer.from('Content-Length: -5\r\n\r\n'))).to.throw(
      /bad Content-Length/,
    );
    expect(() => new FrameGuard(100).check(Buffer.from('garbage\r\n\r\n'))).to.throw(
      /malformed frame header/,
    );
  });

  it('finds the header end when its \\r\\n\\r\\n is split across chunks', () => {
    const g = new FrameGuard(10);
    g.check(Buffer.from('Content-Length: 11\r\n\r'));
    expect(() => g.check(Buffer.from('\n'))).to.throw(/11 bytes is over the limit of 10/);
  });

  it('counts the body exactly: the next frame’s header is checked too', () => {
    const g = new FrameGuard(10);
    g.check(Buffer.concat([frame('0123456789'), Buffer.from('Content-Length: 3')]));
    g.check(Buffer.from('\r\n\r\nabc'));
    expect(() => g.check(Buffer.from('Content-Length: 99\r\n\r\n'))).to.throw(/99 bytes/);
  });
});
