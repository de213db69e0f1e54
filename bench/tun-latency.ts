// TUN hop latency benchmark (NOT a test): root only; makes and deletes its own network namespace; bounded.
// Where a packet's round trip through the tun goes, measured with `ping` (one request in flight, 2 ms
// apart, so every hop starts from sleeping threads as in connection set-up), side by side:
//   - loopback: the kernel answers (no thread wakes up): the floor;
//   - reader thread: the tun's reader thread answers in its fast path (one wake of the reader);
//   - main thread: the packet goes through the ring to read() on the main thread, which answers
//     with write() (the reader's wake plus the main thread's wake, as the engine's slow path).
// Usage: node --import tsx bench/tun-latency.ts [--quick]
// The same file runs the tun role inside the namespace: `tun <fast|main>`.
import { execFileSync } from 'node:child_process';
import { NetNs } from '../tests/helpers/netns';
import { whyNoNetns } from '../tests/helpers/privileges';

const TUN_ADDR = '10.126.0.1/24';
const PEER = '10.126.0.2'; // routed into the tun, answered by our echo
const HANG_GUARD_MS = 60_000;

/** Opens the tun and answers ICMP echo in the reader thread (`fast`) or on the main thread (`main`). */
async function tunRole(where: string): Promise<void> {
  const { echo } = await import('../systemext/tun/echo-fast-path');
  const { openTun } = await import('../systemext/tun/open');
  const echoModule = require.resolve('../systemext/tun/echo-fast-path');
  const tun = await openTun({
    name: 'kvnlat0',
    mtu: 1500,
    setInterfaceMtu: true,
    fastPath: where === 'fast' ? { module: echoModule, init: {} } : undefined,
  });
  execFileSync('ip', ['addr', 'add', TUN_ADDR, 'dev', tun.name]);
  execFileSync('ip', ['link', 'set', tun.name, 'up']);
  console.log('READY');
  for (;;) {
    const pkts = await tun.read().catch(() => null); // rejects once closed
    if (!pkts) return;
    for (const p of pkts) if (echo(p) === 1) tun.write(p); // 1 = REPLY: rewritten in place
  }
}

async function pingAvg(ns: NetNs, addr: string, count: number): Promise<number> {
  const args = ['-q', '-c', String(count), '-i', '0.002', '-W', '2', addr];
  const out = (await ns.run('ping', args, { timeoutMs: HANG_GUARD_MS })).stdout;
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  if (!m) throw new Error(`unexpected ping output: ${out}`);
  return Number(m[1]);
}

function waitReady(ns: NetNs, where: string): Promise<ReturnType<NetNs['spawnNode']>> {
  const child = ns.spawnNode(__filename, ['tun', where]);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tun ${where}: no READY (hang guard)`)), HANG_GUARD_MS);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      if (out.includes('READY')) {
        clearTimeout(t);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`tun ${where} exited (${code})`));
    });
  });
}

async function orchestrate(quick: boolean): Promise<void> {
  const why = whyNoNetns();
  if (why) throw new Error(`bench/tun-latency.ts needs root and network namespaces: ${why}`);
  const count = quick ? 500 : 2000;
  const rounds = quick ? 2 : 4;
  const ns = await NetNs.create('tlat');
  process.once('SIGINT', () => void ns.delete().then(() => process.exit(130)));
  try {
    const avg: Record<string, number[]> = { loopback: [], 'reader thread': [], 'main thread': [] };
    // Interleaved rounds: the machine's noise hits every variant alike.
    for (let r = 0; r < rounds; r++) {
      for (const where of ['fast', 'main']) {
        const child = await waitReady(ns, where);
        avg[where === 'fast' ? 'reader thread' : 'main thread'].push(await pingAvg(ns, PEER, count));
        child.kill('SIGTERM');
        await new Promise((res) => (child.exitCode !== null ? res(null) : child.once('exit', res)));
      }
      avg.loopback.push(await pingAvg(ns, '127.0.0.1', count));
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const lo = med(avg.loopback);
    console.log(`ICMP echo RTT, ${count} pings x ${rounds} rounds, median of the per-round averages:`);
    for (const [k, v] of Object.entries(avg)) {
      const m = med(v);
      console.log(
        `  ${k.padEnd(14)} ${m.toFixed(3)} ms  ratio to loopback ${(m / lo).toFixed(1)}  (all: ${v.map((x) => x.toFixed(3)).join(' ')})`,
      );
    }
    const hop = med(avg['main thread']) - med(avg['reader thread']);
    console.log(`  main-thread hop (main - reader): ${hop.toFixed(3)} ms`);
  } finally {
    await ns.delete();
  }
}

const [role, arg] = process.argv.slice(2);
if (role === 'tun') {
  tunRole(arg).catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
} else {
  orchestrate(process.argv.includes('--quick')).catch((err: Error) => {
    console.error(`bench failed: ${err.message}`);
    process.exit(1);
  });
}
