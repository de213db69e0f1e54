// TUN echo benchmark (NOT a test): root only; makes and deletes its own network namespace; bounded.
// A UDP sender/receiver in the namespace keeps many datagrams in flight to an address routed into a
// real tun; the tun's reader thread echoes them. Side by side, in the same namespace:
//   - fast path: echoed inside the reader thread (echo fast path, port 9), no main-thread work;
//   - main thread: passed through the ring to read(), echoed with write() (port 7);
//   - peer: the same sender/receiver against a Node UDP echo server over plain loopback.
// for 64-byte and 1400-byte IP packets; then the same with a C sender/receiver (`ping -f -l 256`,
// ICMP echo answered by the fast path) against the kernel's own echo over loopback; plus the cost of
// a main-thread write() into the tun. Last, a closed loop without any user-space sender: the main
// thread writes ICMP echo requests into the tun addressed to the tun's own local address, the kernel
// answers them back into the tun, and read() collects the replies (write + kernel + reader thread +
// ring + read), against the kernel's own loopback ping as the peer.
// Usage: node --import tsx bench/tun-echo.ts [--quick]
// The same file runs the roles inside the namespace: `echo`, `loopecho`, `blast <json>`, `loop <json>`.
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { NetNs } from '../tests/helpers/netns';
import { whyNoNetns } from '../tests/helpers/privileges';

const TUN_ADDR = '10.124.0.1/24';
const ECHO_HOST = '10.124.0.2'; // routed into the tun, answered by our echo
const FAST_PORT = 9;
const SLOW_PORT = 7;
const HANG_GUARD_MS = 60_000;

interface BlastArgs {
  host: string;
  port: number;
  size: number; // IP packet size
  count: number;
  seconds: number;
  window: number;
}

interface BlastResult {
  replies: number;
  seconds: number;
}

// ---------- roles inside the namespace ----------

async function echoRole(): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { echo } = await import('../systemext/tun/echo-fast-path');
  const { openTun } = await import('../systemext/tun/open');
  const tun = await openTun({
    name: 'kvnbench0',
    mtu: 1500,
    setInterfaceMtu: true,
    fastPath: { module: require.resolve('../systemext/tun/echo-fast-path'), init: { udpPorts: [FAST_PORT] } },
  });
  execFileSync('ip', ['addr', 'add', TUN_ADDR, 'dev', tun.name]);
  execFileSync('ip', ['link', 'set', tun.name, 'up', 'txqueuelen', '2000']);

  // Cost of main-thread writes: UDP datagrams into the tun, to a closed local port (the kernel takes
  // each through its input path, and rate-limits the ICMP errors).
  const probe = udp4Packet('10.124.0.2', '10.124.0.1', 5000, 64);
  const n = 200_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) tun.write(probe);
  const writeNs = Number(process.hrtime.bigint() - t0) / n;

  const slow = new Set([SLOW_PORT]);
  (async () => {
    for (;;) {
      const pkts = await tun.read().catch(() => null); // rejects once closed
      if (!pkts) return;
      const replies = pkts.filter((p) => echo(p, { icmp: false }, slow) === 1);
      if (replies.length > 0) tun.write(replies);
    }
  })().catch((err) => console.error(err));
  console.log(JSON.stringify({ ready: tun.name, writeNs }));
  process.on('SIGTERM', () => void tun.close().then(() => process.exit(0)));
}

/** The kernel answers our ICMP echo requests back into the tun; counts replies read() delivers. */
async function loopRole(a: { size: number; count: number; seconds: number; window: number }): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { openTun } = await import('../systemext/tun/open');
  const tun = await openTun({ name: 'kvnbench1', mtu: 1500, setInterfaceMtu: true });
  execFileSync('ip', ['addr', 'add', '10.125.0.1/24', 'dev', tun.name]);
  execFileSync('ip', ['link', 'set', tun.name, 'up', 'txqueuelen', '2000']);
  const request = icmp4EchoPacket('10.125.0.2', '10.125.0.1', a.size);
  let replies = 0;
  let inFlight = 0;
  let lastReplies = 0;
  const top = () => {
    const n = Math.min(a.window - inFlight, a.count - replies - inFlight);
    if (n <= 0) return;
    inFlight += n;
    tun.write(new Array<Buffer>(n).fill(request));
  };
  const refill = setInterval(() => {
    if (replies === lastReplies) inFlight = 0; // the window was lost (queue overflow): start again
    lastReplies = replies;
    top();
  }, 20);
  const deadline = Date.now() + a.seconds * 1000;
  const start = process.hrtime.bigint();
  top();
  while (replies < a.count && Date.now() < deadline) {
    const pkts = await Promise.race([tun.read(), new Promise<Buffer[]>((r) => setTimeout(() => r([]), 100))]);
    for (const p of pkts) {
      if (p[9] === 1 && p[20] === 0) {
        replies++;
        inFlight--;
      }
    }
    top();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  clearInterval(refill);
  await tun.close();
  console.log(JSON.stringify({ replies, seconds } satisfies BlastResult));
}

function loopEchoRole(): void {
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
  sock.bind(FAST_PORT, '127.0.0.1', () => console.log(JSON.stringify({ ready: 'loopback' })));
}

/** Keeps `window` datagrams in flight; refills after losses; stops at `count` replies or `seconds`. */
function blastRole(a: BlastArgs): void {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  const payload = Buffer.alloc(a.size - 28, 0x5a);
  let replies = 0;
  let inFlight = 0;
  let lastReplies = 0;
  let start = 0n;
  const send = () => {
    inFlight++;
    sock.send(payload);
  };
  const finish = () => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    clearInterval(refill);
    clearTimeout(stop);
    console.log(JSON.stringify({ replies, seconds } satisfies BlastResult));
    sock.close();
  };
  sock.on('message', () => {
    replies++;
    inFlight--;
    if (replies >= a.count) return finish();
    if (replies + inFlight < a.count) send();
  });
  // Lost datagrams never come back: if nothing arrived for a tick, consider the window lost.
  const refill = setInterval(() => {
    if (replies === lastReplies) {
      inFlight = 0;
      for (let i = 0; i < a.window; i++) send();
    }
    lastReplies = replies;
  }, 20);
  const stop = setTimeout(finish, a.seconds * 1000);
  sock.connect(a.port, a.host, () => {
    start = process.hrtime.bigint();
    for (let i = 0; i < a.window; i++) send();
  });
}

function ip4Header(src: string, dst: string, proto: number, size: number): Buffer {
  const p = Buffer.alloc(size);
  p[0] = 0x45;
  p.writeUInt16BE(size, 2);
  p[8] = 64;
  p[9] = proto;
  Buffer.from(src.split('.').map(Number)).copy(p, 12);
  Buffer.from(dst.split('.').map(Number)).copy(p, 16);
  p.writeUInt16BE(sum16(p.subarray(0, 20)), 10);
  return p;
}

function sum16(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function icmp4EchoPacket(src: string, dst: string, size: number): Buffer {
  const p = ip4Header(src, dst, 1, size);
  p[20] = 8; // echo request
  p.writeUInt16BE(0x4b56, 24); // identifier
  p.writeUInt16BE(sum16(p.subarray(20)), 22);
  return p;
}

function udp4Packet(src: string, dst: string, dport: number, size: number): Buffer {
  const p = ip4Header(src, dst, 17, size);
  p.writeUInt16BE(40000, 20);
  p.writeUInt16BE(dport, 22);
  p.writeUInt16BE(size - 20, 24); // UDP checksum 0: none (IPv4)
  return p;
}

// ---------- the orchestrating parent ----------

function firstJson(child: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d) => (err += String(d)));
    const timer = setTimeout(
      () => reject(new Error(`no answer in ${HANG_GUARD_MS} ms: ${err}`)),
      HANG_GUARD_MS,
    );
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      if (!l.startsWith('{')) return;
      clearTimeout(timer);
      rl.close();
      resolve(JSON.parse(l) as Record<string, unknown>);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${err}`));
    });
  });
}

async function blast(ns: NetNs, args: BlastArgs): Promise<BlastResult> {
  const { stdout } = await ns.run(
    process.execPath,
    ['--import', 'tsx', __filename, 'blast', JSON.stringify(args)],
    {
      timeoutMs: HANG_GUARD_MS,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as BlastResult;
}

/** ping's flood mode with 256 requests in flight: received replies over ping's own elapsed time. */
async function pingFlood(
  ns: NetNs,
  host: string,
  size: number,
  count: number,
  seconds: number,
): Promise<BlastResult> {
  const { stdout } = await ns
    .run(
      'ping',
      ['-q', '-f', '-l', '256', '-c', String(count), '-w', String(seconds), '-s', String(size - 28), host],
      { timeoutMs: HANG_GUARD_MS },
    )
    .catch((err: { stdout?: string }) => ({ stdout: String(err.stdout ?? '') })); // exit 1 when some were lost
  const m = /(\d+) received.*time (\d+)ms/.exec(stdout);
  if (!m) throw new Error(`unexpected ping output: ${stdout}`);
  return { replies: Number(m[1]), seconds: Number(m[2]) / 1000 };
}

async function main(): Promise<void> {
  const why = whyNoNetns();
  if (why) {
    console.error(`tun-echo benchmark needs root and network namespaces: ${why}`);
    process.exit(2);
  }
  const quick = process.argv.includes('--quick');
  const count = quick ? 50_000 : 300_000;
  const seconds = quick ? 2 : 5;
  const window = 256;
  const ns = await NetNs.create('tunbench');
  try {
    const echo = await firstJson(ns.spawnNode(__filename, ['echo']));
    await firstJson(ns.spawnNode(__filename, ['loopecho']));
    console.log(
      `tun echo benchmark (${count} replies or ${seconds} s per run, ${window} datagrams in flight, 1 sender)`,
    );
    console.log(
      `main-thread write() into the tun: ${((echo.writeNs as number) / 1000).toFixed(2)} µs per 64-byte packet`,
    );
    console.log('');
    console.log('size  path                        pps        Mbit/s  vs loopback');
    for (const size of [64, 1400]) {
      const rows: [string, BlastResult][] = [];
      for (const [name, host, port] of [
        ['tun, fast path (worker)', ECHO_HOST, FAST_PORT],
        ['tun, read()/write() (main)', ECHO_HOST, SLOW_PORT],
        ['loopback, Node echo (peer)', '127.0.0.1', FAST_PORT],
      ] as const) {
        rows.push([name, await blast(ns, { host, port, size, count, seconds, window })]);
      }
      const pps = (r: BlastResult) => r.replies / r.seconds;
      const peer = pps(rows[2][1]);
      for (const [name, r] of rows) {
        const mbit = (pps(r) * size * 8) / 1e6;
        console.log(
          `${String(size).padStart(4)}  ${name.padEnd(27)} ${Math.round(pps(r)).toString().padStart(8)}  ${mbit.toFixed(0).padStart(8)}  ${(pps(r) / peer).toFixed(2)}×`,
        );
      }
    }
    console.log('');
    console.log('size  ping -f -l 256 (C sender)    pps        Mbit/s  vs loopback');
    for (const size of [64, 1400]) {
      const rows: [string, BlastResult][] = [
        ['tun, fast path (worker)', await pingFlood(ns, ECHO_HOST, size, count, seconds)],
        ['loopback, kernel (peer)', await pingFlood(ns, '127.0.0.1', size, count, seconds)],
      ];
      const pps = (r: BlastResult) => r.replies / r.seconds;
      const peer = pps(rows[1][1]);
      for (const [name, r] of rows) {
        const mbit = (pps(r) * size * 8) / 1e6;
        console.log(
          `${String(size).padStart(4)}  ${name.padEnd(27)} ${Math.round(pps(r)).toString().padStart(8)}  ${mbit.toFixed(0).padStart(8)}  ${(pps(r) / peer).toFixed(2)}×`,
        );
      }
    }
    console.log('');
    console.log('size  closed loop, no sender       pps        Mbit/s  vs loopback');
    for (const size of [64, 1400]) {
      const { stdout } = await ns.run(
        process.execPath,
        ['--import', 'tsx', __filename, 'loop', JSON.stringify({ size, count: count * 2, seconds, window })],
        { timeoutMs: HANG_GUARD_MS },
      );
      const rows: [string, BlastResult][] = [
        ['tun, write()+read() (kernel)', JSON.parse(stdout.trim().split('\n').pop()!) as BlastResult],
        ['loopback, kernel (peer)', await pingFlood(ns, '127.0.0.1', size, count * 2, seconds)],
      ];
      const pps = (r: BlastResult) => r.replies / r.seconds;
      const peer = pps(rows[1][1]);
      for (const [name, r] of rows) {
        const mbit = (pps(r) * size * 8) / 1e6;
        console.log(
          `${String(size).padStart(4)}  ${name.padEnd(27)} ${Math.round(pps(r)).toString().padStart(8)}  ${mbit.toFixed(0).padStart(8)}  ${(pps(r) / peer).toFixed(2)}×`,
        );
      }
    }
    console.log('\n(pps = echoes per second; Mbit/s = IP bytes per direction)');
  } finally {
    await ns.delete();
  }
}

const role = process.argv[2];
if (role === 'echo') void echoRole();
else if (role === 'loopecho') loopEchoRole();
else if (role === 'blast') blastRole(JSON.parse(process.argv[3]) as BlastArgs);
else if (role === 'loop') void loopRole(JSON.parse(process.argv[3]) as Parameters<typeof loopRole>[0]);
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
