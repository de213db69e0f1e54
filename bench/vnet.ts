// VNet benchmark (NOT a test): root only; makes and deletes its own network namespace; bounded.
// Side by side in one run, inside one namespace:
//   - bulk TCP upload and download through VNet (client -> app VIP -> tun -> engine -> direct dialer -> server)
//     vs the same transfers over plain loopback (client -> server);
//   - connection set-up (connect + 1-byte round trip), p50/p99 over N connections, VNet vs direct;
//   - DNS query latency for an app name, p50/p99, VNet DNS (100.64.0.2) vs a minimal Node DNS server
//     on loopback (same dns-packet library, fixed answer): the peer shows the floor of a Node UDP round trip;
//   - an MTU sweep (smaller transfers) used to choose the daemon's default MTU.
// Usage: node --import tsx bench/vnet.ts [--quick]   (--quick: 128 MB bulk, 200 connections/queries)
// The same file runs the helper roles inside the namespace: `server`, `dnsref`, `client <json>`.
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { defaultMtu } from '../systemext/daemon-config';
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
            const t0 = process.hrtime.bigint();
            const onMsg = (m: Buffer): void => {
              if (m.readUInt16BE(0) !== id) return;
              sock.off('message', onMsg);
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
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        const m = re.exec(line);
        if (m) {
          clearTimeout(timer);
          return resolve(m);
        }
      }
    });
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

class Bench {
  private daemon: ChildProcess | null = null;
  private vip = '';
  constructor(
    private readonly ns: NetNs,
    private readonly stateDir: string,
  ) {}

  async startDaemon(mtu: number): Promise<void> {
    const cfgPath = `${this.stateDir}/config-${mtu}.json`;
    const cfg = {
      zones: ['corp.test'],
      apps: [{ name: APP, target: `127.0.0.1:${SERVER_PORT}`, ports: [80] }],
      stateDir: this.stateDir,
      mtu,
      tunName: 'kvnb0',
    };
    writeFileSync(cfgPath, JSON.stringify(cfg));
    this.daemon = this.ns.spawnNode(`${__dirname}/../systemext/main.ts`, ['--config', cfgPath]);
    const m = await waitLine(this.daemon, /^READY (.*)$/);
    this.vip = (JSON.parse(m[1]) as { apps: Record<string, { v4: string }> }).apps[APP].v4;
  }

  async stopDaemon(): Promise<void> {
    if (!this.daemon) return;
    this.daemon.kill('SIGTERM');
    await exitOf(this.daemon);
    this.daemon = null;
  }

  async client<T>(job: ClientJob): Promise<T> {
    const c = this.ns.spawnNode(__filename, ['client', JSON.stringify(job)]);
    const m = await waitLine(c, /^RESULT (.*)$/, HANG_GUARD_MS + 10_000);
    await exitOf(c);
    return JSON.parse(m[1]) as T;
  }

  get appAddress(): string {
    return this.vip;
  }

  bulkVnet(bytes: number) {
    return this.client<{ bps: number }>({ kind: 'bulk', host: this.vip, port: 80, bytes });
  }
  downloadVnet(bytes: number) {
    return this.client<{ bps: number }>({ kind: 'download', host: this.vip, port: 80, bytes });
  }
  downloadDirect(bytes: number) {
    return this.client<{ bps: number }>({ kind: 'download', host: '127.0.0.1', port: SERVER_PORT, bytes });
  }
  bulkDirect(bytes: number) {
    return this.client<{ bps: number }>({ kind: 'bulk', host: '127.0.0.1', port: SERVER_PORT, bytes });
  }
}

function pct(ms: number[], p: number): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const mbps = (bps: number) => `${((bps * 8) / 1e6).toFixed(0)} Mbit/s`;
const f3 = (x: number) => x.toFixed(3);

async function orchestrate(quick: boolean): Promise<void> {
  const why = whyNoNetns();
  if (why) throw new Error(`bench/vnet.ts needs root and network namespaces: ${why}`);
  const bulkBytes = quick ? 128 << 20 : 1 << 30;
  const sweepBytes = quick ? 64 << 20 : 256 << 20;
  const n = quick ? 200 : 1000;
  const ns = await NetNs.create('vbench');
  const etc = `/etc/netns/${ns.name}`;
  const stateDir = `/run/keyvnet-bench-${ns.name}`;
  const cleanup = async (): Promise<void> => {
    await ns.delete();
    rmSync(etc, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
    try {
      rmdirSync('/etc/netns');
    } catch {
      /* not empty or absent */
    }
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    mkdirSync(etc, { recursive: true });
    writeFileSync(`${etc}/resolv.conf`, 'nameserver 192.0.2.53\noptions timeout:1 attempts:1\n');
    mkdirSync(stateDir, { recursive: true });
    await waitLine(ns.spawnNode(__filename, ['server']), /^LISTENING/);
    await waitLine(ns.spawnNode(__filename, ['dnsref']), /^LISTENING/);
    const b = new Bench(ns, stateDir);

    // Each MTU is measured `rounds` times, interleaved, each time next to a loopback run: machines
    // running other work are noisy, and the median ratio is what decides.
    const mtus = [1500, 9000, 16384, 65535];
    const rounds = quick ? 1 : 3;
    console.log(
      `MTU sweep: ${sweepBytes >> 20} MB upload through VNet vs plain loopback, ${rounds} round(s), median`,
    );
    const ratios = new Map<number, { r: number; v: number }[]>(mtus.map((m) => [m, []]));
    for (let round = 0; round < rounds; round++) {
      for (const mtu of mtus) {
        await b.startDaemon(mtu);
        const v = await b.bulkVnet(sweepBytes);
        const d = await b.bulkDirect(sweepBytes);
        ratios.get(mtu)!.push({ r: v.bps / d.bps, v: v.bps });
        await b.stopDaemon();
      }
    }
    for (const mtu of mtus) {
      const rs = ratios.get(mtu)!.sort((x, y) => x.r - y.r);
      const med = rs[Math.floor(rs.length / 2)];
      const all = rs.map((x) => x.r.toFixed(2)).join(' ');
      console.log(
        `  mtu ${String(mtu).padStart(5)}: VNet ${mbps(med.v).padStart(14)}  ratio to loopback ${med.r.toFixed(2)}  (all: ${all})`,
      );
    }

    const mtu = defaultMtu(process.platform);
    await b.startDaemon(mtu);
    console.log(`\nBulk transfer ${bulkBytes >> 20} MB each way (default MTU ${mtu}):`);
    const v = await b.bulkVnet(bulkBytes);
    const d = await b.bulkDirect(bulkBytes);
    console.log(
      `  upload   VNet ${mbps(v.bps)}  loopback ${mbps(d.bps)}  ratio VNet/loopback ${(v.bps / d.bps).toFixed(2)}`,
    );
    const vd = await b.downloadVnet(bulkBytes);
    const dd = await b.downloadDirect(bulkBytes);
    console.log(
      `  download VNet ${mbps(vd.bps)}  loopback ${mbps(dd.bps)}  ratio VNet/loopback ${(vd.bps / dd.bps).toFixed(2)}`,
    );

    // Packets the kernel dropped on the tun (e.g. a full tx queue while the reader thread lagged).
    const link = (await ns.run('ip', ['-s', 'link', 'show', 'kvnb0'])).stdout.split('\n');
    const dropsOf = (hdr: string): string => {
      const i = link.findIndex((l) => l.trim().startsWith(hdr));
      return i >= 0 ? (link[i + 1]?.trim().split(/\s+/)[3] ?? '?') : '?';
    };
    console.log(`  tun drops after the bulk runs: rx ${dropsOf('RX:')} tx ${dropsOf('TX:')}`);

    console.log(`\nConnection set-up (connect + 1-byte round trip), ${n} sequential connections:`);
    const sv = (
      await b.client<{ ms: number[] }>({
        kind: 'setup',
        host: b.appAddress,
        port: 80,
        count: n,
      })
    ).ms;
    const sd = (
      await b.client<{ ms: number[] }>({ kind: 'setup', host: '127.0.0.1', port: SERVER_PORT, count: n })
    ).ms;
    for (const p of [50, 99]) {
      console.log(
        `  p${p}: VNet ${f3(pct(sv, p))} ms  direct ${f3(pct(sd, p))} ms  overhead ${f3(pct(sv, p) - pct(sd, p))} ms  ratio ${(pct(sv, p) / pct(sd, p)).toFixed(2)}`,
      );
    }

    console.log(`\nDNS A query for ${APP}, ${n} sequential queries:`);
    const qv = (
      await b.client<{ ms: number[] }>({ kind: 'dns', host: '100.64.0.2', port: 53, name: APP, count: n })
    ).ms;
    const qr = (
      await b.client<{ ms: number[] }>({
        kind: 'dns',
        host: '127.0.0.1',
        port: DNSREF_PORT,
        name: APP,
        count: n,
      })
    ).ms;
    for (const p of [50, 99]) {
      console.log(
        `  p${p}: VNet DNS ${f3(pct(qv, p))} ms  minimal Node DNS on loopback ${f3(pct(qr, p))} ms  ratio ${(pct(qv, p) / pct(qr, p)).toFixed(2)}`,
      );
    }
    // Where set-up time goes: one packet to the engine and back (ICMP echo answered by the engine's
    // main thread) vs the kernel answering on loopback.
    const pingAvg = async (addr: string): Promise<number> => {
      const out = (await ns.run('ping', ['-q', '-c', String(n), '-i', '0.002', '-W', '2', addr])).stdout;
      const m = /= [\d.]+\/([\d.]+)\//.exec(out);
      return m ? Number(m[1]) : NaN;
    };
    const pv = await pingAvg(b.appAddress);
    const pl = await pingAvg('127.0.0.1');
    console.log(
      `\nICMP echo, ${n} pings, average RTT: VNet (engine answers) ${f3(pv)} ms  loopback ${f3(pl)} ms  ratio ${(pv / pl).toFixed(1)}`,
    );
    await b.stopDaemon();
  } finally {
    await cleanup();
  }
}

const [role, arg] = process.argv.slice(2);
if (role === 'server') serverRole();
else if (role === 'dnsref') dnsRefRole();
else if (role === 'client') {
  clientRole(JSON.parse(arg) as ClientJob).catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
} else {
  orchestrate(process.argv.includes('--quick')).catch((err: Error) => {
    console.error(`bench failed: ${err.message}`);
    process.exit(1);
  });
}
