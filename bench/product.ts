// The product benchmark (root): the three-namespace topology of the end-to-end test (laptop → bastion
// running a real sshd → intranet), and the same traffic over four paths, side by side, in interleaved
// rounds:
//   direct   — routed laptop → bastion → intranet by the kernels (IP forwarding in the bastion);
//   KeyVNet  — the daemon and the headless agent (virtual key) in laptop, by name through the bastion;
//   ssh -L   — OpenSSH's client forwarding a local port to the app, same sshd, aes128-gcm;
//   sshuttle — Debian's sshuttle to the intranet subnet over the same sshd.
// For each: 1 GB download and upload (single stream), 100 parallel streams, new-connection latency
// (connect + 1-byte echo, p50/p99), and CPU seconds per GB of the tunnel's own processes (daemon +
// agent, or ssh, or sshuttle + its ssh, on the laptop; sshd and sshuttle's server on the bastion), from
// /proc. Ratios are to ssh -L. Usage: node --import tsx bench/product.ts [--quick] [--rounds N]
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

import { join } from 'node:path';
import { authorizedKeysLine } from '../app/ssh/keys';
import { Lines } from '../tests/helpers/lines';
import type { NetNs } from '../tests/helpers/netns';
import { ADDR, ECHO_PORT, Topology } from '../tests/helpers/topology';
import { VNetStack } from '../tests/helpers/vnet-stack';
import { enrollKeyFiles } from '../tests/helpers/virtual-user';

const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 1 : 3;
const SIZE = (quick ? 256 : 1024) * 1024 * 1024;
/** sshuttle is ~15× slower: a quarter of the bytes keeps a round bounded; its MB/s is what compares. */
const SSHUTTLE_SIZE = SIZE / 4;
const RTT_COUNT = quick ? 200 : 500;
const PARALLEL = 100;
const BULK_PORT = 9000;
const CIPHER = 'aes128-gcm@openssh.com';
const BULK = join(__dirname, 'fixtures', 'bulk.ts');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

type PathName = 'direct' | 'KeyVNet' | 'ssh -L' | 'sshuttle';
interface Target {
  bulk: [string, number];
  echo: [string, number];
}
interface Sample {
  down: number; // MB/s
  up: number;
  parallel: number;
  downCpuPerGB: number;
  upCpuPerGB: number;
  p50: number;
  p99: number;
}

/** CPU seconds used so far by every process in the namespaces (children reaped into their parents). */
function cpuSeconds(namespaces: NetNs[]): number {
  let ticks = 0;
  for (const ns of namespaces) {
    const pids = execFileSync('ip', ['netns', 'pids', ns.name], { encoding: 'utf8' })
      .split(/\s+/)
      .filter(Boolean);
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after the command name.
        ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      } catch {
        /* exited meanwhile */
      }
    }
  }
  return ticks / CLK_TCK;
}

async function runBulk(ns: NetNs, args: string[]): Promise<{ bytes: number; seconds: number }> {
  const r = await ns.run(process.execPath, ['--import', 'tsx', BULK, ...args], { timeoutMs: 600_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { bytes: number; seconds: number };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const median = (xs: number[]): number => percentile(xs, 50);

async function measure(topo: Topology, t: Target, size: number, tunnel: NetNs[]): Promise<Sample> {
  const laptop = topo.laptop;
  const mb = (x: { bytes: number; seconds: number }): number => x.bytes / 1e6 / x.seconds;
  let c0 = cpuSeconds(tunnel);
  const down = await runBulk(laptop, ['down', t.bulk[0], String(t.bulk[1]), String(size)]);
  const downCpu = cpuSeconds(tunnel) - c0;
  c0 = cpuSeconds(tunnel);
  const up = await runBulk(laptop, ['up', t.bulk[0], String(t.bulk[1]), String(size)]);
  const upCpu = cpuSeconds(tunnel) - c0;
  const parallel = await runBulk(laptop, [
    'down',
    t.bulk[0],
    String(t.bulk[1]),
    String(Math.floor(size / PARALLEL)),
    String(PARALLEL),
  ]);
  const rtt = await laptop.run(
    process.execPath,
    ['--import', 'tsx', BULK, 'rtt', t.echo[0], String(t.echo[1]), String(RTT_COUNT)],
    {
      timeoutMs: 600_000,
    },
  );
  const ms = (JSON.parse(rtt.stdout.trim()) as { ms: number[] }).ms;
  const gb = size / 1e9;
  return {
    down: mb(down),
    up: mb(up),
    parallel: mb(parallel),
    downCpuPerGB: downCpu / gb,
    upCpuPerGB: upCpu / gb,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
  };
}

async function waitPort(ns: NetNs, host: string, port: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await ns
      .run(process.execPath, [
        '-e',
        `require('net').connect(${port},'${host}').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`,
      ])
      .then(
        () => true,
        () => false,
      );
    if (ok) return;
    if (proc.exitCode !== null) throw new Error(`${proc.spawnfile} exited before listening`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const topo = await Topology.create();
  let stack: VNetStack | null = null;
  const children: ChildProcess[] = [];
  try {
    const { laptop, bastion, intranet } = topo;
    const bulkServer = intranet.spawnNode(BULK, ['serve', ADDR.intranet, String(BULK_PORT)]);
    await new Lines(bulkServer).next(/^serving/);
    // The direct route: the bastion forwards between its two links.
    await bastion.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await laptop.run('ip', ['route', 'add', '10.201.2.0/24', 'via', ADDR.bastionOuter]);
    await intranet.run('ip', ['route', 'add', '10.201.1.0/24', 'via', ADDR.bastionInner]);

    const home = join(topo.dir, 'bench-user');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    // KeyVNet's key: an sk key on the virtual authenticator (touched at once).
    const statePath = join(home, 'virtual-key.json');
    const skPath = join(home, 'id_ecdsa_sk');
    const [key] = await enrollKeyFiles(statePath, [{ file: skPath, comment: 'bench' }]);
    // ssh -L's and sshuttle's key: a plain ed25519 key file (the auth method does not matter for bulk).
    const plainKey = join(home, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plainKey]);
    topo.sshd.setAuthorizedKeys([authorizedKeysLine(key), readFileSync(`${plainKey}.pub`, 'utf8').trim()]);
    const hostKey = readFileSync(`${topo.sshd.hostKeyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const sshOpts = [
      '-i',
      plainKey,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-c',
      CIPHER,
    ];

    stack = await VNetStack.start(laptop, {
      tunName: 'kvnbench0',
      agentArgs: ['--virtual-key', statePath, '--virtual-touch', 'auto'],
      config: `[[bastion]]
name = "corp"
host = "${ADDR.bastionOuter}"
user = "root"
key = "${skPath}"
host_keys = ["${hostKey}"]

[[zone]]
suffix = "corp.test"
bastion = "corp"

[[app]]
name = "bulk.corp.test"
target = "${ADDR.intranet}:${BULK_PORT}"

[[app]]
name = "echo.corp.test"
target = "${ADDR.intranet}:${ECHO_PORT}"
`,
    });

    const sshL = laptop.spawn('ssh', [
      ...sshOpts,
      '-N',
      '-L',
      `127.0.0.1:19000:${ADDR.intranet}:${BULK_PORT}`,
      '-L',
      `127.0.0.1:19007:${ADDR.intranet}:${ECHO_PORT}`,
      `root@${ADDR.bastionOuter}`,
    ]);
    children.push(sshL);
    await waitPort(laptop, '127.0.0.1', 19000, sshL);

    const targets: Record<PathName, Target> = {
      direct: { bulk: [ADDR.intranet, BULK_PORT], echo: [ADDR.intranet, ECHO_PORT] },
      KeyVNet: { bulk: ['bulk.corp.test', BULK_PORT], echo: ['echo.corp.test', ECHO_PORT] },
      'ssh -L': { bulk: ['127.0.0.1', 19000], echo: ['127.0.0.1', 19007] },
      sshuttle: { bulk: [ADDR.intranet, BULK_PORT], echo: [ADDR.intranet, ECHO_PORT] },
    };
    // Warm-up: KeyVNet's first connection opens the SSH session (one signature).
    await runBulk(laptop, ['down', 'bulk.corp.test', String(BULK_PORT), String(1 << 20)]);

    const samples: Record<PathName, Sample[]> = { direct: [], KeyVNet: [], 'ssh -L': [], sshuttle: [] };
    const tunnelNs = [laptop, bastion];
    for (let round = 1; round <= ROUNDS; round++) {
      console.error(`round ${round}/${ROUNDS}`);
      samples.direct.push(await measure(topo, targets.direct, SIZE, tunnelNs));
      samples.KeyVNet.push(await measure(topo, targets.KeyVNet, SIZE, tunnelNs));
      samples['ssh -L'].push(await measure(topo, targets['ssh -L'], SIZE, tunnelNs));
      const shuttle = laptop.spawn('sshuttle', [
        '-r',
        `root@${ADDR.bastionOuter}`,
        '10.201.2.0/24',
        '-e',
        `ssh ${sshOpts.join(' ')}`,
      ]);
      const shuttleLines = new Lines(shuttle);
      await shuttleLines.nextErr(/Connected to server/, 60_000);
      samples.sshuttle.push(await measure(topo, targets.sshuttle, SSHUTTLE_SIZE, tunnelNs));
      shuttle.kill('SIGTERM');
      await new Promise((r) => shuttle.once('exit', r));
    }

    const ref = samples['ssh -L'];
    const fmt = (x: number, d = 0): string => x.toFixed(d);
    console.log(
      `\nKeyVNet product benchmark: ${ROUNDS} round(s), ${SIZE >> 20} MiB per transfer (sshuttle ${SSHUTTLE_SIZE >> 20} MiB), ${PARALLEL} parallel streams, ${RTT_COUNT} connections; medians over rounds (min–max)`,
    );
    console.log(
      'path      | down MB/s        | up MB/s          | 100 streams MB/s | down CPU s/GB | up CPU s/GB | connect+echo p50 / p99 ms | down, up ÷ ssh -L',
    );
    for (const name of Object.keys(samples) as PathName[]) {
      const s = samples[name];
      const col = (f: (x: Sample) => number, d = 0): string =>
        `${fmt(median(s.map(f)), d)} (${fmt(Math.min(...s.map(f)), d)}–${fmt(Math.max(...s.map(f)), d)})`;
      const ratio = (f: (x: Sample) => number): string => (median(s.map(f)) / median(ref.map(f))).toFixed(2);
      console.log(
        `${name.padEnd(9)} | ${col((x) => x.down).padEnd(16)} | ${col((x) => x.up).padEnd(16)} | ${col((x) => x.parallel).padEnd(16)} | ${col((x) => x.downCpuPerGB, 2).padEnd(13)} | ${col((x) => x.upCpuPerGB, 2).padEnd(11)} | ${fmt(median(s.map((x) => x.p50)), 2)} / ${fmt(median(s.map((x) => x.p99)), 2)}`.padEnd(
          120,
        ) + ` | ${ratio((x) => x.down)}, ${ratio((x) => x.up)}`,
      );
    }
    const k = samples.KeyVNet;
    const sh = samples.sshuttle;
    console.log(
      `\naims: KeyVNet throughput ÷ ssh -L ≥ 0.5: down ${(median(k.map((x) => x.down)) / median(ref.map((x) => x.down))).toFixed(2)}, up ${(median(k.map((x) => x.up)) / median(ref.map((x) => x.up))).toFixed(2)}; ` +
        `CPU s/GB ÷ ssh -L ≤ 2: down ${(median(k.map((x) => x.downCpuPerGB)) / median(ref.map((x) => x.downCpuPerGB))).toFixed(2)}, up ${(median(k.map((x) => x.upCpuPerGB)) / median(ref.map((x) => x.upCpuPerGB))).toFixed(2)}; ` +
        `connect p50 ÷ ssh -L ≤ 1.5: ${(median(k.map((x) => x.p50)) / median(ref.map((x) => x.p50))).toFixed(2)}; ` +
        `throughput ÷ sshuttle ≥ 10: ${(median(k.map((x) => x.down)) / median(sh.map((x) => x.down))).toFixed(1)}`,
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await stack?.stop();
    await topo.teardown();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
