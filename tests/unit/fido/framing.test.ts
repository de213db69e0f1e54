// Pure CTAPHID framing (CTAP 2.1 §11.2.4): fragmentation and reassembly edge cases.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { MAX_PAYLOAD, REPORT_SIZE } from '../../../app/fido/ctaphid/constants';
import { fragment, FramingError, Reassembler } from '../../../app/fido/ctaphid/framing';

const CID = 0x01020304;
const OTHER = 0x0a0b0c0d;

function reassemble(r: Reassembler, reports: Buffer[]) {
  let last;
  for (const rep of reports) last = r.push(rep);
  return last;
}

function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(FramingError);
    return (err as FramingError).kind;
  }
  throw new Error('expected a FramingError');
}

describe('fido: CTAPHID framing', function () {
  it('splits at 57 bytes then 59 per continuation, padding each report to 64', function () {
    expect(fragment(CID, 0x10, Buffer.alloc(0))).to.have.length(1);
    expect(fragment(CID, 0x10, Buffer.alloc(57))).to.have.length(1);
    expect(fragment(CID, 0x10, Buffer.alloc(58))).to.have.length(2);
    expect(fragment(CID, 0x10, Buffer.alloc(57 + 59))).to.have.length(2);
    expect(fragment(CID, 0x10, Buffer.alloc(57 + 59 + 1))).to.have.length(3);
    const max = fragment(CID, 0x10, Buffer.alloc(MAX_PAYLOAD));
    expect(max).to.have.length(129);
    expect(max.every((r) => r.length === REPORT_SIZE)).to.equal(true);
    expect(max[128][4]).to.equal(127); // last sequence number
    const first = max[0];
    expect(first.readUInt32BE(0)).to.equal(CID);
    expect(first[4]).to.equal(0x90); // CTAPHID_CBOR with the init bit
    expect(first.readUInt16BE(5)).to.equal(MAX_PAYLOAD);
  });

  it('refuses to send more than 7609 bytes', function () {
    expect(MAX_PAYLOAD).to.equal(7609);
    expect(kindOf(() => fragment(CID, 0x10, Buffer.alloc(MAX_PAYLOAD + 1)))).to.equal('oversize');
  });

  for (const size of [0, 1, 57, 58, 116, 117, 1000, MAX_PAYLOAD]) {
    it(`round-trips ${size} bytes`, function () {
      const payload = randomBytes(size);
      const res = reassemble(new Reassembler(CID), fragment(CID, 0x03, payload));
      expect(res).to.deep.equal({ status: 'complete', cmd: 0x03, payload });
    });
  }

  it('ignores reports of other channels interleaved with ours', function () {
    const r = new Reassembler(CID);
    const mine = fragment(CID, 0x10, Buffer.alloc(300, 1));
    const theirs = fragment(OTHER, 0x10, Buffer.alloc(300, 2));
    const results = [];
    for (let i = 0; i < mine.length; i++) {
      results.push(r.push(theirs[i]).status);
      results.push(r.push(mine[i]).status);
    }
    expect(results.filter((s) => s === 'ignored')).to.have.length(theirs.length);
    expect(results.at(-1)).to.equal('complete');
  });

  it('rejects a wrong sequence number and recovers on the next message', function () {
    const r = new Reassembler(CID);
    const reps = fragment(CID, 0x10, Buffer.alloc(200));
    r.push(reps[0]);
    expect(kindOf(() => r.push(reps[2]))).to.equal('bad-seq');
    expect(r.inProgress).to.equal(false);
    expect(reassemble(r, reps)?.status).to.equal('complete');
  });

  it('rejects a repeated continuation packet', function () {
    const r = new Reassembler(CID);
    const reps = fragment(CID, 0x10, Buffer.alloc(200));
    r.push(reps[0]);
    r.push(reps[1]);
    expect(kindOf(() => r.push(reps[1]))).to.equal('bad-seq');
  });

  it('rejects a continuation without an init packet', function () {
    const reps = fragment(CID, 0x10, Buffer.alloc(200));
    expect(kindOf(() => new Reassembler(CID).push(reps[1]))).to.equal('unexpected-cont');
  });

  it('rejects a new message starting in the middle of another', function () {
    const r = new Reassembler(CID);
    r.push(fragment(CID, 0x10, Buffer.alloc(200))[0]);
    expect(kindOf(() => r.push(fragment(CID, 0x10, Buffer.alloc(10))[0]))).to.equal('unexpected-init');
  });

  it('host side (restartOnInit): a new message abandons the partial one instead of being lost', function () {
    const r = new Reassembler(CID, { restartOnInit: true });
    r.push(fragment(CID, 0x10, Buffer.alloc(200))[0]);
    const init = fragment(CID, 0x06, Buffer.alloc(17, 5))[0];
    expect(r.push(init)).to.deep.equal({ status: 'complete', cmd: 0x06, payload: Buffer.alloc(17, 5) });
    expect(r.abandoned).to.equal(1);
  });

  it('rejects truncated and overlong reports', function () {
    const rep = fragment(CID, 0x10, Buffer.alloc(10))[0];
    expect(kindOf(() => new Reassembler(CID).push(rep.subarray(0, 30)))).to.equal('bad-length');
    expect(kindOf(() => new Reassembler(CID).push(Buffer.concat([rep, Buffer.alloc(1)])))).to.equal(
      'bad-length',
    );
  });

  it('rejects an announced length above 7609', function () {
    const rep = fragment(CID, 0x10, Buffer.alloc(10))[0];
    rep.writeUInt16BE(MAX_PAYLOAD + 1, 5);
    expect(kindOf(() => new Reassembler(CID).push(rep))).to.equal('oversize');
  });
});
