// The worker-backed TunDevice with real threads but no root: the "device" is one end of a
// SOCK_SEQPACKET socketpair (message boundaries like a tun, blocking reads, truncation of long
// messages like utun), and the "kernel" is the other end, itself wrapped in a WorkerTun.
import { expect } from 'chai';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { linux } from '../../../native-bindings/constants';
import * as libc from '../../../native-bindings/libc';
import type { FramingKind } from '../../../systemext/tun/framing';
import { TunClosedError } from '../../../systemext/tun/device';
import { WorkerTun } from '../../../systemext/tun/worker-tun';
import { icmp4Echo, icmp4Valid, icmp6Echo, tcp4Syn, udp4 } from './packets';
import { requireOrSkip } from '../../helpers/privileges';

const ECHO = join(__dirname, '../../../systemext/tun/echo-fast-path.ts');

async function pair(
  engine: {
    framing?: FramingKind;
    mtu?: number;
    fastPath?: { module: string; init?: unknown };
    ringBytes?: number;
  } = {},
): Promise<[WorkerTun, WorkerTun, number[]]> {
  const [a, b] = libc.socketpair('socketpair', linux.AF_UNIX, linux.SOCK_SEQPACKET | linux.SOCK_CLOEXEC, 0);
  const shut = (fd: number) => () => libc.shutdown('shutdown', fd, linux.SHUT_RDWR);
  const eng = await WorkerTun.start({
    fd: a,
    name: 'eng',
    mtu: engine.mtu ?? 1500,
    framing: engine.framing ?? 'none',
    interrupt: shut(a),
    fastPath: engine.fastPath,
    ringBytes: engine.ringBytes,
  });
  const kern = await WorkerTun.start({ fd: b, name: 'kern', mtu: 2000, framing: 'none', interrupt: shut(b) });
  return [eng, kern, [a, b]];
}

async function readN(tun: WorkerTun, n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  while (out.length < n) {
    out.push(...(await tun.read()));
  }
  return out;
}

/** What this process's fds point at (`socket:[inode]`...): fd numbers are reused, inodes are not. */
function openFiles(): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.add(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* the directory's own fd, already closed */
    }
  }
  return out;
}

function fileOf(fd: number): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

describe('tun: WorkerTun over a socketpair (reader thread, no root)', function () {
  before(function () {
    requireOrSkip(
      this,
      'WorkerTun over a socketpair',
      process.platform === 'linux'
        ? null
        : `needs Linux (/proc/self/fd, SOCK_SEQPACKET); this is ${process.platform}`,
    );
  });

  it('delivers many packets in order, in batches', async () => {
    const [eng, kern] = await pair();
    try {
      const sent = Array.from({ length: 3000 }, (_, i) => {
        const p = udp4(53, Buffer.alloc(20 + (i % 300)));
        p.writeUInt32BE(i, 28);
        return p;
      });
      kern.write(sent);
      const got = await readN(eng, sent.length);
      expect(got.map((p) => p.readUInt32BE(28))).to.deep.equal(sent.map((_, i) => i));
      expect(got.every((p, i) => p.equals(sent[i]))).to.equal(true);
      expect(eng.stats().passed).to.equal(3000);
    } finally {
      await eng.close();
      await kern.close();
    }
  });

  it('applies backpressure instead of losing packets when the ring is full', async () => {
    const [eng, kern] = await pair({ ringBytes: 8192 });
    try {
      // Five times what the ring holds, in one burst: the reader waits for space while the socket
      // queues the rest. (Kept under the socket buffer: a blocking write of the test's "kernel" side
      // would stall this thread, which a real tun write never does.)
      const total = 40;
      kern.write(Array.from({ length: total }, (_, i) => udp4(53, Buffer.alloc(1000, i))));
      const got = await readN(eng, total);
      expect(got.map((p) => p[28])).to.deep.equal(Array.from({ length: total }, (_, i) => i));
    } finally {
      await eng.close();
      await kern.close();
    }
  });

  // Regression (head-of-line blocking): with a full ring the reader used to stop reading the device,
  // so established flows (the fast path) stalled behind slow-path traffic the main thread had not
  // taken yet. Now it keeps reading: fast-path replies go on, other slow-path packets are dropped
  // (counted) once they would fill a quarter of the ring, and SYNs and DNS may use the rest.
  it('keeps serving the fast path while the main thread does not read; SYN and DNS keep priority', async () => {
    const [eng, kern] = await pair({ ringBytes: 16384, fastPath: { module: ECHO, init: { udpPorts: [9] } } });
    try {
      // The main thread takes nothing during this test until the end: 30 × 1 KB of bulk slow-path
      // UDP cannot fit, then a DNS query and a SYN, then a fast-path packet.
      kern.write(Array.from({ length: 30 }, (_, i) => udp4(7000, Buffer.alloc(1000, i))));
      const dns = udp4(53, Buffer.alloc(1000, 0xdd));
      const syn = tcp4Syn(443);
      kern.write([dns, syn, udp4(9, Buffer.from('fast'))]);
      const [reply] = await readN(kern, 1); // before the fix: never (the reader waited for space)
      expect(reply.readUInt16BE(20)).to.equal(9);
      const got = await readN(eng, 1);
      while (got.length < 3 || !got.some((p) => p.equals(syn))) got.push(...(await eng.read()));
      expect(got.some((p) => p.equals(dns))).to.equal(true);
      const bulk = got.filter((p) => p[9] === 17 && p.readUInt16BE(22) === 7000);
      expect(bulk.length).to.be.within(1, 4); // at most a quarter of the ring (4 KB)
      const st = eng.stats();
      expect(st.ringDrops).to.equal(30 - bulk.length);
      expect(st.priorityDrops).to.equal(0);
    } finally {
      await eng.close();
      await kern.close();
    }
  });

  it('runs the fast path in the reader thread: replies go straight back, others reach read()', async () => {
    const [eng, kern] = await pair({ fastPath: { module: ECHO, init: { udpPorts: [9] } } });
    try {
      kern.write([icmp4Echo(), udp4(9), udp4(53), icmp6Echo()]);
      const back = await readN(kern, 3);
      expect(back.map((p) => p[0] >> 4)).to.deep.equal([4, 4, 6]);
      expect(icmp4Valid(back[0])).to.equal(true);
      expect(back[1].readUInt16BE(20)).to.equal(9);
      expect(back[2][40]).to.equal(129);
      const passed = await readN(eng, 1);
      expect(passed[0].readUInt16BE(22)).to.equal(53);
      expect(eng.stats()).to.include({ fastPathReplies: 3, passed: 1 });
    } finally {
      await eng.close();
      await kern.close();
    }
  });

  it('drops packets longer than the MTU (and empty writes), keeping the rest', async () => {
    const [eng, kern] = await pair({ mtu: 576 });
    try {
      kern.write([udp4(53, Buffer.alloc(600)), udp4(53, Buffer.alloc(100))]);
      const got = await readN(eng, 1);
      expect(got[0].length).to.equal(128);
      expect(eng.stats().oversize).to.equal(1);
      eng.write([Buffer.alloc(577, 0x45), Buffer.alloc(0), udp4(53)]);
      expect((await readN(kern, 1))[0].length).to.equal(33);
      expect(eng.stats().writeErrors).to.equal(2);
      expect(eng.stats().lastWriteError).to.match(/0 bytes does not fit MTU 576/);
    } finally {
      await eng.close();
      await kern.close();
    }
  });

  it('utun framing: adds the 4-byte family header on write and strips it on read', async () => {
    const [eng, kern] = await pair({ framing: 'utun', fastPath: { module: ECHO } });
    try {
      eng.write([icmp6Echo(), udp4(53), Buffer.from([0x70, 0, 0, 0])]);
      const onWire = await readN(kern, 2);
      expect([...onWire[0].subarray(0, 4)]).to.deep.equal([0, 0, 0, 30]);
      expect(onWire[0].subarray(4).equals(icmp6Echo())).to.equal(true);
      expect([...onWire[1].subarray(0, 4)]).to.deep.equal([0, 0, 0, 2]);
      expect(eng.stats().lastWriteError).to.match(/not an IPv4 or IPv6/);
      const framed = (p: Buffer, af: number) => Buffer.concat([Buffer.from([0, 0, 0, af]), p]);
      kern.write([framed(udp4(53), 2), framed(icmp4Echo(), 2)]);
      const got = await readN(eng, 1);
      expect(got[0].equals(udp4(53))).to.equal(true);
      const reply = await readN(kern, 1); // the fast path's reply, framed by the reader thread
      expect([...reply[0].subarray(0, 4)]).to.deep.equal([0, 0, 0, 2]);
      expect(icmp4Valid(reply[0].subarray(4))).to.equal(true);
    } finally {
      await eng.close();
      await kern.close();
    }
  });

  it('close() rejects a pending read with TunClosedError, ends the thread and closes the fd', async () => {
    const before = openFiles();
    const [eng, kern, fds] = await pair();
    const engFile = fileOf(fds[0]);
    expect(engFile).to.match(/^socket:/);
    const pending = eng.read().catch((e: unknown) => e);
    await eng.close();
    expect(await pending).to.be.instanceOf(TunClosedError);
    expect(await eng.read().catch((e: unknown) => e)).to.be.instanceOf(TunClosedError);
    expect(() => eng.write(udp4(53))).to.throw(/closed/);
    expect(openFiles().has(engFile)).to.equal(false);
    await eng.close(); // idempotent
    // The other side sees the device vanish: its pending read fails with a reason.
    await kern.read().then(
      () => expect.fail('read should reject'),
      (err: Error) => expect(err.message).to.match(/kern: the device was closed under us/),
    );
    await kern.close();
    expect([...openFiles()].filter((f) => f.startsWith('socket:') && !before.has(f))).to.deep.equal([]);
  });

  it('fails to start, and releases the fd, when the fast path module is unusable', async () => {
    const [a, b] = libc.socketpair('socketpair', linux.AF_UNIX, linux.SOCK_SEQPACKET | linux.SOCK_CLOEXEC, 0);
    const file = fileOf(a);
    let error: unknown;
    await WorkerTun.start({
      fd: a,
      name: 'bad',
      mtu: 1500,
      framing: 'none',
      interrupt: () => libc.shutdown('shutdown', a, linux.SHUT_RDWR),
      fastPath: { module: join(__dirname, 'packets.ts') },
    }).catch((e) => (error = e));
    expect(String(error)).to.match(/does not export createFastPath/);
    expect(openFiles().has(file)).to.equal(false);
    libc.close(b);
  });

  it('a throwing fast path drops that packet and keeps serving', async () => {
    const [eng, kern] = await pair({
      fastPath: { module: join(__dirname, 'fixtures', 'throwing-fast-path.ts') },
    });
    const warn = console.warn;
    const warned = new Promise<string>((resolve) => (console.warn = resolve));
    try {
      kern.write([Buffer.from([0x45, 1]), Buffer.from([0x45, 2]), Buffer.from([0x45, 3])]);
      const got = await readN(eng, 2);
      expect(got.map((p) => p[1])).to.deep.equal([1, 3]);
      expect(eng.stats().fastPathErrors).to.equal(1);
      expect(await warned).to.match(/fast path threw, packet dropped: Error: boom/);
    } finally {
      console.warn = warn;
      await eng.close();
      await kern.close();
    }
  });
});
