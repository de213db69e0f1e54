// VNet benchmark (NOT a test): root only; makes and deletes its own network namespace; bounded.
// The engine runs alone on a real tun (tests/integration/fixtures/vnet/engine.ts: direct dialer, no
// daemon), MTU 65535, inside the namespace. Side by side in one run, in interleaved rounds:
//   - bulk TCP upload and download through VNet (client -> app VIP -> tun -> engine -> direct dialer -> server)
//     vs the same transfers over plain loopback, and the engine process's CPU seconds per GB;
//   - connection set-up (connect + 1-byte round trip), p50/p99, VNet vs direct;
//   - DNS query latency for an app name, p50, VNet DNS vs a minimal Node DNS server on loopback;
//   - set-up and DNS while a bulk download runs through VNet (does a SYN wait behind relay work?);
//   - the same download, set-up and DNS while another process floods the app's VIP with 64 KB UDP
//     datagrams (head-of-line blocking), as ratios to the unflooded figures.
// Usage: node --import tsx bench/vnet.ts [--quick] [--rounds N] [--compare <dir>] [--only bulk,setup,dns,busy,flood]
//          [--without-udp-filter] [--mtu N]
//   --compare <dir>: another checkout (e.g. `git worktree add /tmp/base <commit>`, with this engine
//   fixture copied in); each round measures both trees, so before/after share the machine's noise.
//   --without-udp-filter: also measure this tree with the engine fixture's UDP filter off
//   (KVN_NO_UDP_FILTER=1), i.e. the path a flood reaches when iptables is missing.
//   --mtu N: the tun's MTU (default 65535).
// The same file runs the helper roles inside the namespace: `server`, `dnsref`, `client <json>`; the
// flood is tests/integration/fixtures/vnet/udp-flood.ts.
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, createServer, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { NetNs } from '../tests/helpers/netns';
import { whyNoNetns } from '../tests/helpers/privileges';

const SERVER_PORT = 9000;
const DNSREF_PORT = 5353;
const APP = 'bench.corp.test';
const HANG_GUARD_MS = 120_000;

// ---------- roles inside the namespace ----------

/**
 * TCP server, by the first byte: 'U' = upload sink (replies with the byte count after the client's FIN),
 * 'D' + decimal size + '\n' = download source (sends that many bytes, then FIN), 'P' = ping echo.
 */
function serverRole(): void {
  const chunk = Buffer.alloc(1 << 20, 0x62);
  const srv = createServer((s) => {
    s.setNoDelay(true);
    let mode = '';
    let count = 0;
    let header = '';
    s.on('data', (d: Buffer) => {
      if (mode === '') {
        mode = String.fromCharCode(d[0]);
        d = d.subarray(1);
        if (mode === 'P') s.write('p');
      }
      if (mode === 'D' && !header.endsWith('\n')) {
        header += d.toString();
        if (!header.endsWith('\n')) return;
        let left = Number(header.trim());
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(chunk.length, left);
            left -= n;
            if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
              return void s.once('drain', pump);
          }
          s.end();
        };
        return pump();
      }
      count += d.length;
    });
    s.on('end', () => {
      if (mode !== 'D') s.end(mode === 'U' ? `${count}\n` : '');
    });
    s.on('error', () => s.destroy());
  });
  srv.listen(SERVER_PORT, '127.0.0.1', () => console.log('LISTENING'));
}

/** A minimal DNS server answering every A query with a fixed address: the latency floor for a Node UDP server. */
function dnsRefRole(): void {
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    try {
      const q = dnsPacket.decode(msg);
      const answers = (q.questions ?? []).map((qq) => ({
        type: 'A' as const,
        name: qq.name,
        ttl: 10,
        data: '100.64.0.9',
      }));
      const res = dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        questions: q.questions,
        answers,
      });
      sock.send(res, rinfo.port, rinfo.address);
    } catch {
      /* a benchmark peer: ignore junk */
    }
  });
  sock.bind(DNSREF_PORT, '127.0.0.1', () => console.log('LISTENING'));
}

interface ClientJob {
  kind: 'bulk' | 'download' | 'setup' | 'dns';
  host: string;
  port: number;
  bytes?: number;
  count?: number;
  name?: string;
}

async function clientRole(job: ClientJob): Promise<void> {
  let result: unknown;
  if (job.kind === 'bulk') result = await bulk(job.host, job.port, job.bytes!);
  else if (job.kind === 'download') result = await download(job.host, job.port, job.bytes!);
  else if (job.kind === 'setup') result = await setups(job.host, job.port, job.count!);
  else result = await dnsQueries(job.host, job.port, job.name!, job.count!);
  console.log(`RESULT ${JSON.stringify(result)}`);
}

function guard<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: hang guard`)), HANG_GUARD_MS))),
  ]);
}

/** Uploads `bytes` and waits for the server's count: returns bytes/second. */
function bulk(host: string, port: number, bytes: number): Promise<{ bps: number; bytes: number }> {
  return guard(
    new Promise((resolve, reject) => {
      const chunk = Buffer.alloc(1 << 20, 0x61);
      const s: Socket = connect({ host, port });
      let t0 = 0n;
      let sent = 0;
      let reply = '';
      s.on('error', reject);
      s.on('connect', () => {
        t0 = process.hrtime.bigint();
        s.write('U');
        const pump = (): void => {
          while (sent < bytes) {
            const n = Math.min(chunk.length, bytes - sent);
            sent += n;
            if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
              return void s.once('drain', pump);
          }
          s.end();
        };
        pump();
      });
      s.on('data', (d) => (reply += d.toString()));
      s.on('end', () => {
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        const got = Number(reply.trim());
        if (got !== bytes) return reject(new Error(`server counted ${got} of ${bytes} bytes`));
        resolve({ bps: bytes / secs, bytes });
      });
    }),
    'bulk',
  );
}

/** Downloads `bytes` from the server: returns bytes/second. */
function download(host: string, port: number, bytes: number): Promise<{ bps: number; bytes: number }> {
  return guard(
    new Promise((resolve, reject) => {
      const s: Socket = connect({ host, port });
      let t0 = 0n;
      let got = 0;
      s.on('error', reject);
      s.on('connect', () => {
        t0 = process.hrtime.bigint();
        s.write(`D${bytes}\n`);
      });
      s.on('data', (d: Buffer) => (got += d.length));
      s.on('end', () => {
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        s.end();
        if (got !== bytes) return reject(new Error(`received ${got} of ${bytes} bytes`));
        resolve({ bps: bytes / secs, bytes });
      });
    }),
    'download',
  );
}

/** `count` sequential connections, each connect + 1-byte round trip: returns the times in ms. */
async function setups(host: string, port: number, count: number): Promise<{ ms: number[] }> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    ms.push(
      await guard(
        new Promise<number>((resolve, reject) => {
          const t0 = process.hrtime.bigint();
          const s = connect({ host, port });
          s.setNoDelay(true);
          s.on('error', reject);
          s.on('connect', () => s.write('P'));
          s.once('data', () => {
            resolve(Number(process.hrtime.bigint() - t0) / 1e6);
            s.destroy();
          });
        }),
        'setup',
      ),
    );
  }
  return { ms };
}

/** `count` sequential A queries for `name`: returns the round-trip times in ms. */
async function dnsQueries(
  host: string,
  port: number,
  name: string,
  count: number,
): Promise<{ ms: number[] }> {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const ms: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const id = (i * 7919) & 0xffff;
      const q = dnsPacket.encode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name }],
      });
      ms.push(
        await guard(
          new Promise<number>((resolve) => {
            // Like a stub resolver: resend after 1 s without an answer; the time counts from the first.
            const t0 = process.hrtime.bigint();
            const resend = setInterval(() => sock.send(q, port, host), 1000);
            const onMsg = (m: Buffer): void => {
              if (m.readUInt16BE(0) !== id) return;
              sock.off('message', onMsg);
              clearInterval(resend);
              resolve(Number(process.hrtime.bigint() - t0) / 1e6);
            };
            sock.on('message', onMsg);
            sock.send(q, port, host);
          }),
          'dns',
        ),
      );
    }
  } finally {
    sock.close();
  }
  return { ms };
}

// ---------- orchestration (host side) ----------

function waitLine(child: ChildProcess, re: RegExp, ms = HANG_GUARD_MS): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms: ${err}`)), ms);
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-3000)));
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const m = re.exec(line);
        if (m) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          return resolve(m);
        }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ${re}: ${err}`));
    });
  });
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** The engine fixture of one source tree, on a tun in the namespace. */
class Engine {
  private child: ChildProcess | null = null;
  vip = '';
  constructor(
    private readonly ns: NetNs,
    private readonly root: string,
    private readonly env: Record<string, string> = {},
    private readonly mtu = 65535,
  ) {}

  async start(): Promise<void> {
    const fixture = join(this.root, 'tests/integration/fixtures/vnet/engine.ts');
    if (!existsSync(fixture)) throw new Error(`${fixture} is missing (copy it from this tree)`);
    const args = { tun: 'kvnb0', mtu: this.mtu, apps: [{ name: APP, target: `127.0.0.1:${SERVER_PORT}` }] };
    this.child = this.ns.spawnNode(fixture, [JSON.stringify(args)], { env: { ...process.env, ...this.env } });
    const m = await waitLine(this.child, /^READY (.*)$/);
    this.vip = (JSON.parse(m[1]) as { apps: Record<string, string> }).apps[APP];
  }

  /** The engine process's CPU seconds so far (all threads), and the tun's counters. */
  async stats(): Promise<{ cpu: number; tun: Record<string, number> }> {
    const got = waitLine(this.child!, /^STATS (.*)$/);
    this.child!.stdin?.write('stats\n');
    return JSON.parse((await got)[1]) as { cpu: number; tun: Record<string, number> };
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    await exitOf(this.child);
    this.child = null;
  }
}

async function client<T>(ns: NetNs, job: ClientJob): Promise<T> {
  const c = ns.spawnNode(__filename, ['client', JSON.stringify(job)]);
  const m = await waitLine(c, /^RESULT (.*)$/, HANG_GUARD_MS + 10_000);
  await exitOf(c);
  return JSON.parse(m[1]) as T;
}

function pct(ms: number[], p: number): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** One round of every figure for one tree. */
async function measure(
  ns: NetNs,
  e: Engine,
  bulkBytes: number,
  n: number,
  parts: Set<string>,
): Promise<Record<string, number>> {
  const r: Record<string, number> = {};
  const vnet = { host: e.vip, port: 80 };
  const direct = { host: '127.0.0.1', port: SERVER_PORT };
  if (parts.has('bulk')) await measureBulk(ns, e, bulkBytes, r);
  if (parts.has('setup')) {
    const sv = (await client<{ ms: number[] }>(ns, { kind: 'setup', ...vnet, count: n })).ms;
    const sd = (await client<{ ms: number[] }>(ns, { kind: 'setup', ...direct, count: n })).ms;
    r.setupP50 = pct(sv, 50);
    r.setupP50Overhead = pct(sv, 50) - pct(sd, 50);
    r.setupP99Overhead = pct(sv, 99) - pct(sd, 99);
  }
  if (parts.has('dns')) {
    const qv = (
      await client<{ ms: number[] }>(ns, { kind: 'dns', host: '100.64.0.2', port: 53, name: APP, count: n })
    ).ms;
    const qr = (
      await client<{ ms: number[] }>(ns, {
        kind: 'dns',
        host: '127.0.0.1',
        port: DNSREF_PORT,
        name: APP,
        count: n,
      })
    ).ms;
    r.dnsP50 = pct(qv, 50);
    r.dnsRefP50 = pct(qr, 50);
  }
  if (parts.has('busy')) await measureBusy(ns, e, bulkBytes, n, r);
  if (parts.has('flood')) await measureFlood(ns, e, bulkBytes, n, r);
  return r;
}

/** Bulk upload and download, VNet and loopback, and the engine's CPU seconds per GB. */
async function measureBulk(
  ns: NetNs,
  e: Engine,
  bulkBytes: number,
  r: Record<string, number>,
): Promise<void> {
  const gb = bulkBytes / 1e9;
  const vnet = { host: e.vip, port: 80 };
  const direct = { host: '127.0.0.1', port: SERVER_PORT };
  let cpu0 = (await e.stats()).cpu;
  const up = await client<{ bps: number }>(ns, { kind: 'bulk', ...vnet, bytes: bulkBytes });
  let cpu1 = (await e.stats()).cpu;
  r.upCpuPerGB = (cpu1 - cpu0) / gb;
  const upLo = await client<{ bps: number }>(ns, { kind: 'bulk', ...direct, bytes: bulkBytes });
  cpu0 = (await e.stats()).cpu;
  const down = await client<{ bps: number }>(ns, { kind: 'download', ...vnet, bytes: bulkBytes });
  cpu1 = (await e.stats()).cpu;
  r.downCpuPerGB = (cpu1 - cpu0) / gb;
  const downLo = await client<{ bps: number }>(ns, { kind: 'download', ...direct, bytes: bulkBytes });
  r.upGbit = (up.bps * 8) / 1e9;
  r.upRatio = up.bps / upLo.bps;
  r.downGbit = (down.bps * 8) / 1e9;
  r.downRatio = down.bps / downLo.bps;
  // Packets the reader refused or the kernel did not take back (offload experiments show them here).
  const t = (await e.stats()).tun;
  r.tunOversize = t.oversize;
  r.tunWriteErrors = t.writeErrors;
  r.tunFastPathErrors = t.fastPathErrors;
}

/** Set-up and DNS while a download runs through VNet: bulk relay work next to SYNs and DNS. */
async function measureBusy(
  ns: NetNs,
  e: Engine,
  bulkBytes: number,
  n: number,
  r: Record<string, number>,
): Promise<void> {
  const vnet = { host: e.vip, port: 80 };
  // Long enough to outlast the set-ups and queries below on this machine.
  const dl = client<{ bps: number }>(ns, { kind: 'download', ...vnet, bytes: bulkBytes * 8 });
  await new Promise((res) => setTimeout(res, 300)); // let the download get going (a bench, not a test)
  const sv = (await client<{ ms: number[] }>(ns, { kind: 'setup', ...vnet, count: Math.ceil(n / 4) })).ms;
  const qv = (
    await client<{ ms: number[] }>(ns, {
      kind: 'dns',
      host: '100.64.0.2',
      port: 53,
      name: APP,
      count: Math.ceil(n / 4),
    })
  ).ms;
  await dl;
  r.busySetupP50 = pct(sv, 50);
  r.busyDnsP50 = pct(qv, 50);
}

/** The download, set-up and DNS again while another process floods the app's VIP. */
async function measureFlood(
  ns: NetNs,
  e: Engine,
  bulkBytes: number,
  n: number,
  r: Record<string, number>,
): Promise<void> {
  const vnet = { host: e.vip, port: 80 };
  const base = r.downGbit
    ? (r.downGbit * 1e9) / 8
    : (await client<{ bps: number }>(ns, { kind: 'download', ...vnet, bytes: bulkBytes })).bps;
  // Under a flood of 64 KB UDP datagrams at the app's VIP, from another process.
  const floodScript = resolve(__dirname, '../tests/integration/fixtures/vnet/udp-flood.ts');
  const flood = ns.spawnNode(floodScript, [e.vip, '9999', '65000']);
  try {
    r.floodRefused = Number((await waitLine(flood, /^FLOODING refused=(\d+)/))[1]);
    const drops0 = (await e.stats()).tun.ringDrops ?? 0;
    const fd = await client<{ bps: number }>(ns, { kind: 'download', ...vnet, bytes: bulkBytes });
    r.floodDownRatio = fd.bps / base;
    const fs = (await client<{ ms: number[] }>(ns, { kind: 'setup', ...vnet, count: Math.ceil(n / 4) })).ms;
    r.floodSetupP50 = pct(fs, 50);
    r.floodSetupMax = Math.max(...fs);
    const fq = (
      await client<{ ms: number[] }>(ns, {
        kind: 'dns',
        host: '100.64.0.2',
        port: 53,
        name: APP,
        count: Math.ceil(n / 4),
      })
    ).ms;
    r.floodDnsP50 = pct(fq, 50);
    r.floodDnsMax = Math.max(...fq);
    r.floodRingDrops = ((await e.stats()).tun.ringDrops ?? 0) - drops0;
  } catch (err) {
    console.log(`  (flood round failed: ${(err as Error).message.split('\n')[0]})`);
  } finally {
    flood.kill('SIGTERM');
    await exitOf(flood);
  }
}

const FIGURES: Array<[string, string, number]> = [
  ['upGbit', 'upload through VNet, Gbit/s', 2],
  ['upRatio', 'upload, ratio VNet / loopback', 2],
  ['upCpuPerGB', 'upload, engine CPU s per GB', 2],
  ['downGbit', 'download through VNet, Gbit/s', 2],
  ['downRatio', 'download, ratio VNet / loopback', 2],
  ['downCpuPerGB', 'download, engine CPU s per GB', 2],
  ['setupP50', 'set-up p50, ms', 3],
  ['setupP50Overhead', 'set-up p50 overhead vs direct, ms', 3],
  ['setupP99Overhead', 'set-up p99 overhead vs direct, ms', 3],
  ['dnsP50', 'VNet DNS p50, ms', 3],
  ['dnsRefP50', '(minimal Node DNS on loopback p50, ms)', 3],
  ['busySetupP50', 'during a download: set-up p50, ms', 3],
  ['busyDnsP50', 'during a download: DNS p50, ms', 3],
  ['floodDownRatio', 'flood: download, ratio to unflooded', 2],
  ['floodSetupP50', 'flood: set-up p50, ms', 3],
  ['floodSetupMax', 'flood: set-up max, ms', 1],
  ['floodDnsP50', 'flood: DNS p50, ms', 3],
  ['floodDnsMax', 'flood: DNS max, ms', 1],
  ['floodRingDrops', 'flood: slow-path packets dropped by the reader', 0],
  ['floodRefused', 'flood: datagrams of the first 32 refused at send', 0],
];

async function orchestrate(opts: {
  quick: boolean;
  rounds: number;
  compare: string | null;
  parts: Set<string>;
  withoutUdpFilter: boolean;
  mtu: number;
}): Promise<void> {
  const why = whyNoNetns();
  if (why) throw new Error(`bench/vnet.ts needs root and network namespaces: ${why}`);
  const bulkBytes = opts.quick ? 128 << 20 : 1 << 30;
  const n = opts.quick ? 200 : 1000;
  const here = resolve(__dirname, '..');
  const trees: Array<{ label: string; root: string; env?: Record<string, string> }> = [
    { label: 'this tree', root: here },
  ];
  if (opts.withoutUdpFilter)
    trees.push({ label: 'no UDP filter', root: here, env: { KVN_NO_UDP_FILTER: '1' } });
  if (opts.compare) trees.push({ label: `compare (${opts.compare})`, root: resolve(opts.compare) });
  const ns = await NetNs.create('vbench');
  process.once('SIGINT', () => void ns.delete().then(() => process.exit(130)));
  try {
    await waitLine(ns.spawnNode(__filename, ['server']), /^LISTENING/);
    await waitLine(ns.spawnNode(__filename, ['dnsref']), /^LISTENING/);
    const results = new Map<string, Record<string, number>[]>(trees.map((t) => [t.label, []]));
    console.log(
      `${opts.rounds} round(s), ${bulkBytes >> 20} MB transfers, ${n} connections/queries, MTU ${opts.mtu}; trees interleaved`,
    );
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? trees : [...trees].reverse();
      for (const t of order) {
        const e = new Engine(ns, t.root, t.env, opts.mtu);
        await e.start();
        try {
          const r = await measure(ns, e, bulkBytes, n, opts.parts);
          results.get(t.label)!.push(r);
          console.log(
            `  round ${round + 1} ${t.label}: ${JSON.stringify(r, (_, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(3)) : v))}`,
          );
        } finally {
          await e.stop();
        }
      }
    }
    console.log('\nfigure'.padEnd(52) + trees.map((t) => t.label.padEnd(26)).join(''));
    for (const [key, label, digits] of FIGURES) {
      const cells = trees.map((t) => {
        const vs = results
          .get(t.label)!
          .map((r) => r[key])
          .filter((v) => typeof v === 'number' && Number.isFinite(v))
          .sort((a, b) => a - b);
        if (vs.length === 0) return '-'.padEnd(26);
        const lo = vs[0].toFixed(digits);
        const hi = vs[vs.length - 1].toFixed(digits);
        return (lo === hi ? lo : `${lo}–${hi}`).padEnd(26);
      });
      console.log(`  ${label.padEnd(50)}${cells.join('')}`);
    }
  } finally {
    await ns.delete();
  }
}

const argv = process.argv.slice(2);
const [role, arg] = argv;
const option = (name: string): string | null => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? null) : null;
};
if (role === 'server') serverRole();
else if (role === 'dnsref') dnsRefRole();
else if (role === 'client') {
  clientRole(JSON.parse(arg) as ClientJob).catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
} else {
  const quick = argv.includes('--quick');
  orchestrate({
    quick,
    rounds: Number(option('--rounds') ?? (quick ? 2 : 3)),
    compare: option('--compare'),
    parts: new Set((option('--only') ?? 'bulk,setup,dns,busy,flood').split(',')),
    withoutUdpFilter: argv.includes('--without-udp-filter'),
    mtu: Number(option('--mtu') ?? 65535),
  }).catch((err: Error) => {
    console.error(`bench failed: ${err.message}`);
    process.exit(1);
  });
}
