import { expect } from 'chai';
import { join } from 'node:path';
import { TunClosedError } from '../../../systemext/tun/device';
import { DROP, PASS, REPLY } from '../../../systemext/tun/fast-path';
import { createMemoryTunPair } from '../../../systemext/tun/memory';
import { icmp4Echo, icmp4Valid, udp4 } from './packets';

describe('tun: in-memory pair', () => {
  it('delivers in order and batches what arrived before read()', async () => {
    const [eng, kern] = createMemoryTunPair(1500);
    kern.write([Buffer.from([0x45, 1]), Buffer.from([0x45, 2])]);
    kern.write(Buffer.from([0x45, 3]));
    expect((await eng.read()).map((b) => b[1])).to.deep.equal([1, 2, 3]);
    const pending = eng.read();
    kern.write(Buffer.from([0x45, 4]));
    expect((await pending).map((b) => b[1])).to.deep.equal([4]);
  });

  it('copies on write, so the caller may reuse its buffer', async () => {
    const [eng, kern] = createMemoryTunPair(1500);
    const b = Buffer.from([0x45, 1]);
    kern.write(b);
    b[1] = 9;
    expect((await eng.read())[0][1]).to.equal(1);
  });

  it('drops empty and oversize packets like a device', async () => {
    const [eng, kern] = createMemoryTunPair(100);
    kern.write([Buffer.alloc(101, 0x45), Buffer.alloc(0), Buffer.alloc(100, 0x45)]);
    expect((await eng.read()).map((b) => b.length)).to.deep.equal([100]);
  });

  it('rejects a second concurrent read()', async () => {
    const [eng] = createMemoryTunPair();
    const first = eng.read();
    let error: unknown;
    await eng.read().catch((e) => (error = e));
    expect(String(error)).to.match(/already pending/);
    await eng.close();
    expect(await first.catch((e: unknown) => e)).to.be.instanceOf(TunClosedError);
  });

  it('close() rejects a pending read with TunClosedError, later reads too, and makes write() throw', async () => {
    const [eng, kern] = createMemoryTunPair();
    const pending = eng.read().catch((e: unknown) => e);
    await eng.close();
    await eng.close(); // idempotent
    expect(await pending).to.be.instanceOf(TunClosedError);
    expect(await eng.read().catch((e: unknown) => e)).to.be.instanceOf(TunClosedError);
    expect(() => eng.write(Buffer.from([0x45]))).to.throw(TunClosedError);
    kern.write(Buffer.from([0x45])); // to a closed peer: silently lost, like a deleted interface
  });

  describe('fast path (same verdicts as the reader thread)', () => {
    it('REPLY sends the rewritten packet back to the kernel side; PASS reaches read()', async () => {
      const [eng, kern] = createMemoryTunPair(1500, undefined, {
        module: join(__dirname, '../../../systemext/tun/echo-fast-path.ts'),
        init: { udpPorts: [] },
      });
      kern.write([icmp4Echo(), udp4(53)]);
      const back = await kern.read();
      expect(back).to.have.length(1);
      expect(back[0][20]).to.equal(0); // echo reply
      expect(icmp4Valid(back[0])).to.equal(true);
      const passed = await eng.read();
      expect(passed).to.have.length(1);
      expect(passed[0].readUInt16BE(22)).to.equal(53);
    });

    it('DROP discards, a Buffer verdict is written instead, a throw drops', async () => {
      const seen: number[] = [];
      const [eng, kern] = createMemoryTunPair(1500, undefined, (pkt) => {
        seen.push(pkt[1]);
        if (pkt[1] === 1) return DROP;
        if (pkt[1] === 2) return Buffer.from([0x45, 0x22, 0x22]);
        if (pkt[1] === 3) throw new Error('bug in fast path');
        if (pkt[1] === 4) return REPLY;
        return PASS;
      });
      kern.write([1, 2, 3, 4, 5].map((n) => Buffer.from([0x45, n])));
      expect(seen).to.deep.equal([1, 2, 3, 4, 5]);
      expect((await kern.read()).map((b) => [...b])).to.deep.equal([
        [0x45, 0x22, 0x22],
        [0x45, 4],
      ]);
      expect((await eng.read()).map((b) => b[1])).to.deep.equal([5]);
    });

    it('refuses a module without createFastPath', () => {
      expect(() => createMemoryTunPair(1500, undefined, { module: join(__dirname, 'packets.ts') })).to.throw(
        /does not export createFastPath/,
      );
    });
  });
});
