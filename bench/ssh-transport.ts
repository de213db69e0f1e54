// SSH transport benchmark (NOT a test): root only; builds and deletes the three-namespace topology
// (tests/helpers/topology.ts); bounded. In one run, interleaved rounds, from the laptop namespace
// through the bastion's real sshd to a byte source in the intranet namespace:
//   - `ssh -L`: the OpenSSH client forwarding a local port (aes128-gcm@openssh.com);
//   - ssh2 forwardOut: a plain ssh2 Client in the main thread, same cipher;
//   - SshDialer: our dialer (session policy, sk key signed by the virtual authenticator), with the
//     session's ssh2 framing and crypto in the main thread, and in a worker thread.
// Figures: bulk download, bulk upload and 100 parallel downloads in MB/s (and ratio to ssh -L);
// CPU seconds per GB of the client side (the ssh process + the reading Node process, or the Node
// process alone for ssh2) and of sshd (from /proc); the event-loop delay of the client's main
// thread meanwhile (what a SYN or DNS query served by that thread would wait); new-connection
// latency (connect or channel open + 1-byte echo), p50/p99.
// Usage: node --import tsx bench/ssh-transport.ts [--quick]    (--quick: 256 MiB, 100 connections)
// The same file runs the roles inside the namespaces: `source` (intranet), `client <json>` (laptop).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { Client } from 'ssh2';
import { authorizedKeysLine } from '../app/ssh/keys';
import { SshDialer } from '../systemext/ssh/dialer';
import { whyNoNetns } from '../tests/helpers/privileges';
import { ADDR, SSH_PORT, Topology } from '../tests/helpers/topology';
import { VirtualBridge, VirtualKey } from '../tests/unit/ssh-transport/virtual-bridge';

const SOURCE_PORT = 9000;
const FORWARD_PORT = 15000;
const CIPHER = 'aes128-gcm@openssh.com';
const HANG_GUARD_MS = 300_000;
const STREAMS = 100;

interface ClientArgs {
  bytes: number;
  rounds: number;
  connections: number;
  sshdHostKey: string;
  plainKey: string; // private key file for ssh -L and plain ssh2
  authorizedKeys: string; // sshd's authorized_keys, to add the enrolled sk key
  knownHosts: string;
  bastionNs: string;
}

// ---------- intranet: the byte source ----------

/** 'D<n>\n' → n bytes then FIN; 'U' + bytes + FIN → the byte count; 'P' → echo (latency probe). */
function sourceRole(): void {
  const chunk = Buffer.alloc(1 << 20, 0x62);
  createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => s.destroy());
    let header = '';
    const onData = (d: Buffer): void => {
      if (header === '' && d[0] === 0x55 /* U */) {
        s.off('data', onData);
        let count = d.length - 1;
        s.on('data', (x: Buffer) => (count += x.length));
        s.on('end', () => s.end(`${count}\n`));
        return;
      }
      if (header === '' && d[0] === 0x50 /* P */) {
        s.off('data', onData);
        s.write(d.subarray(0, 1));
        s.pipe(s);
        return;
      }
      header += d.toString('latin1');
      if (!header.includes('\n')) return;
      s.off('data', onData);
      let left = Number(header.slice(1, header.indexOf('\n')));
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(chunk.length, left);
          left -= n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    };
    s.on('data', onData);
  }).listen(SOURCE_PORT, ADDR.intranet, () => console.log('LISTENING'));
}

// ---------- laptop: the clients ----------

function cpuOfPid(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
  } catch {
    return 0;
  }
}

function cpuOfNs(ns: string): number {
  const pids = execFileSync('ip', ['netns', 'pids', ns]).toString().split(/\s+/).filter(Boolean);
  return pids.reduce((sum, p) => sum + cpuOfPid(Number(p)), 0);
}

function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function download(stream: Duplex, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const guard = setTimeout(() => reject(new Error('download hang guard')), HANG_GUARD_MS);
    stream.on('data', (d: Buffer) => (got += d.length));
    stream.once('error', reject);
    stream.once('end', () => {
      clearTimeout(guard);
      stream.destroy();
      if (got !== bytes) reject(new Error(`got ${got} of ${bytes} bytes`));
      else resolve();
    });
    stream.write(`D${bytes}\n`);
  });
}

function upload(stream: Duplex, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(1 << 20, 0x75);
  return new Promise((resolve, reject) => {
    let answer = '';
    const guard = setTimeout(() => reject(new Error('upload hang guard')), HANG_GUARD_MS);
    stream.on('data', (d: Buffer) => (answer += d.toString()));
    stream.once('error', reject);
    stream.once('end', () => {
      clearTimeout(guard);
      stream.destroy();
      if (Number(answer.trim()) !== bytes) reject(new Error(`server got ${answer.trim()} of ${bytes}`));
      else resolve();
    });
    let left = bytes;
    stream.write('U');
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(chunk.length, left);
        left -= n;
        if (!stream.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
          return void stream.once('drain', pump);
      }
      stream.end();
    };
    pump();
  });
}

/** Opens a stream, sends one byte, waits for it back: milliseconds. */
async function probe(open: () => Promise<Duplex>): Promise<number> {
  const t0 = process.hrtime.bigint();
  const s = await open();
  await new Promise<void>((resolve, reject) => {
    s.once('data', () => resolve());
    s.once('error', reject);
    s.write('P');
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  s.destroy();
  return ms;
}

function tcp(host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface Path {
  name: string;
  open(): Promise<Duplex>;
  /** Client-side processes besides this one (pids). */
  pids: number[];
}

async function clientRole(args: ClientArgs): Promise<void> {
  // ssh -L
  const ssh: ChildProcess = spawn(
    'ssh',
    [
      '-F',
      'none',
      '-N',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      `UserKnownHostsFile=${args.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-i',
      args.plainKey,
      '-c',
      CIPHER,
      '-L',
      `127.0.0.1:${FORWARD_PORT}:${ADDR.intranet}:${SOURCE_PORT}`,
      `root@${ADDR.bastionOuter}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        (await tcp('127.0.0.1', FORWARD_PORT)).destroy();
        break;
      } catch {
        if (Date.now() > deadline || ssh.exitCode !== null) throw new Error('ssh -L did not come up');
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // ssh2 in the main thread, plain key
    const plain = new Client();
    await new Promise<void>((resolve, reject) => {
      plain.once('ready', resolve).once('error', reject);
      plain.connect({
        host: ADDR.bastionOuter,
        port: SSH_PORT,
        username: 'root',
        privateKey: readFileSync(args.plainKey),
        algorithms: { cipher: [CIPHER] },
        hostVerifier: (key: Buffer) => key.equals(Buffer.from(args.sshdHostKey.split(' ')[1], 'base64')),
      });
    });
    plain.setNoDelay(true); // as SshDialer does; ssh2 leaves Nagle on (p50 ~30 ms here without)
    const forwardOut = (): Promise<Duplex> =>
      new Promise((resolve, reject) =>
        plain.forwardOut('127.0.0.1', 0, ADDR.intranet, SOURCE_PORT, (err, ch) =>
          err ? reject(err) : resolve(ch),
        ),
      );

    // SshDialer with an sk key on the virtual authenticator
    const vkey = await VirtualKey.open();
    const key = await vkey.enroll({ comment: 'bench' });
    appendFileSync(args.authorizedKeys, `${authorizedKeysLine(key)}\n`);
    const bridge = new VirtualBridge(vkey, key);
    bridge.specs.set('corp', {
      name: 'corp',
      host: ADDR.bastionOuter,
      port: SSH_PORT,
      user: 'root',
      hostKeys: [args.sshdHostKey],
      publicKey: bridge.publicKey,
      policy: 'session',
      keepaliveSec: 30,
      maxSessionAgeSec: 0,
      jump: null,
    });
    const dialer = new SshDialer(bridge);
    const workerDialer = new SshDialer(bridge, { thread: 'worker' });
    const app = { fqdn: 'bench.corp.test', allowedPorts: [], target: { host: ADDR.intranet }, via: 'corp' };
    const dial = (): Promise<Duplex> => dialer.dial(app, SOURCE_PORT, AbortSignal.timeout(60_000));
    const dialW = (): Promise<Duplex> => workerDialer.dial(app, SOURCE_PORT, AbortSignal.timeout(60_000));
    (await dial()).destroy(); // the sessions (and their touches) before measuring
    (await dialW()).destroy();

    const paths: Path[] = [
      { name: 'ssh -L (OpenSSH)', open: () => tcp('127.0.0.1', FORWARD_PORT), pids: [ssh.pid!] },
      { name: 'ssh2 forwardOut (main thread)', open: forwardOut, pids: [] },
      { name: 'SshDialer (main thread)', open: dial, pids: [] },
      { name: 'SshDialer (worker thread)', open: dialW, pids: [] },
    ];
    const binding = (
      createRequire(__filename)('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean }
    ).bindingAvailable;
    console.log(
      `# ${(args.bytes / 2 ** 20).toFixed(0)} MiB per transfer x ${args.rounds} interleaved rounds, cipher ${CIPHER}, ` +
        `ssh2 native crypto binding: ${binding ? 'yes' : 'NO (JS fallback)'}`,
    );
    const median = (xs: number[]): number => pct(xs, 50);
    const perStream = Math.floor(args.bytes / STREAMS);
    const transfers: { title: string; bytes: number; run: (p: Path) => Promise<void> }[] = [
      { title: 'bulk download', bytes: args.bytes, run: async (p) => download(await p.open(), args.bytes) },
      { title: 'bulk upload', bytes: args.bytes, run: async (p) => upload(await p.open(), args.bytes) },
      {
        title: `${STREAMS} parallel downloads (sum)`,
        bytes: perStream * STREAMS,
        run: async (p) => {
          const streams = await Promise.all(Array.from({ length: STREAMS }, () => p.open()));
          await Promise.all(streams.map((st) => download(st, perStream)));
        },
      },
    ];
    for (const t of transfers) {
      type Row = {
        mbps: number[];
        client: number;
        sshd: number;
        bytes: number;
        lagP99: number[];
        lagMax: number;
      };
      const res = new Map<string, Row>();
      for (const p of paths)
        res.set(p.name, { mbps: [], client: 0, sshd: 0, bytes: 0, lagP99: [], lagMax: 0 });
      for (let r = 0; r < args.rounds; r++) {
        for (const p of paths) {
          const c0 = selfCpu() + p.pids.reduce((a, pid) => a + cpuOfPid(pid), 0);
          const d0 = cpuOfNs(args.bastionNs);
          // How long a timer (a SYN, a DNS query) waits on this thread meanwhile.
          const lag = monitorEventLoopDelay({ resolution: 1 });
          lag.enable();
          const t0 = process.hrtime.bigint();
          await t.run(p);
          const sec = Number(process.hrtime.bigint() - t0) / 1e9;
          lag.disable();
          const c1 = selfCpu() + p.pids.reduce((a, pid) => a + cpuOfPid(pid), 0);
          const d1 = cpuOfNs(args.bastionNs);
          const e = res.get(p.name)!;
          e.mbps.push(t.bytes / 1e6 / sec);
          e.client += c1 - c0;
          e.sshd += d1 - d0;
          e.bytes += t.bytes;
          e.lagP99.push(lag.percentile(99) / 1e6);
          e.lagMax = Math.max(e.lagMax, lag.max / 1e6);
        }
      }
      const ref = res.get(paths[0].name)!;
      console.log(
        `\n${t.title.padEnd(34)} MB/s (median; each round)`.padEnd(71) +
          'ratio  client CPU s/GB  sshd CPU s/GB  loop delay p99/max ms',
      );
      for (const p of paths) {
        const e = res.get(p.name)!;
        const gb = e.bytes / 1e9;
        const mbps = `${median(e.mbps).toFixed(0).padStart(5)} (${e.mbps.map((x) => x.toFixed(0)).join(', ')})`;
        const ratio = (median(e.mbps) / median(ref.mbps)).toFixed(2).padStart(5);
        const cpu = `${(e.client / gb).toFixed(2).padStart(15)}  ${(e.sshd / gb).toFixed(2).padStart(13)}`;
        const lag = `${median(e.lagP99).toFixed(1)}/${e.lagMax.toFixed(1)}`.padStart(21);
        console.log(`${p.name.padEnd(34)} ${mbps}`.padEnd(70) + `${ratio}  ${cpu}  ${lag}`);
      }
    }

    console.log(
      `\nnew connection + 1-byte echo (${args.connections} each, interleaved)   p50 ms   p99 ms   p50 ratio`,
    );
    const lat = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    for (let i = 0; i < args.connections; i++) {
      for (const p of paths) lat.get(p.name)!.push(await probe(p.open));
    }
    const refP50 = pct(lat.get(paths[0].name)!, 50);
    for (const p of paths) {
      const xs = lat.get(p.name)!;
      console.log(
        `${p.name.padEnd(58)} ${pct(xs, 50).toFixed(2).padStart(7)}  ${pct(xs, 99).toFixed(2).padStart(7)}   ${(pct(xs, 50) / refP50).toFixed(2).padStart(6)}`,
      );
    }
    plain.end();
    await dialer.close();
    await workerDialer.close();
    await vkey.close();
  } finally {
    ssh.kill();
  }
}

// ---------- orchestration (host namespace: only creates and deletes the namespaces) ----------

async function main(): Promise<void> {
  const why = whyNoNetns();
  if (why) {
    console.error(`ssh-transport bench needs root and network namespaces: ${why}`);
    process.exit(2);
  }
  const quick = process.argv.includes('--quick');
  const topo = await Topology.create();
  try {
    const plainKey = join(topo.dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plainKey]);
    const authorizedKeys = join(topo.sshd.dir, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${plainKey}.pub`), { mode: 0o600 });
    const knownHosts = join(topo.dir, 'known_hosts');
    writeFileSync(knownHosts, `${ADDR.bastionOuter} ${topo.sshd.hostKeyLine}\n`);

    const source = topo.intranet.spawnNode(__filename, ['source']);
    await new Promise<void>((resolve, reject) => {
      source.stdout?.on('data', (d: Buffer) => d.toString().includes('LISTENING') && resolve());
      source.once('exit', (c) => reject(new Error(`source exited ${c}`)));
    });
    const args: ClientArgs = {
      bytes: quick ? 256 * 2 ** 20 : 2 ** 30,
      rounds: quick ? 2 : 3,
      connections: quick ? 100 : 500,
      sshdHostKey: topo.sshd.hostKeyLine,
      plainKey,
      authorizedKeys,
      knownHosts,
      bastionNs: topo.bastion.name,
    };
    const client = topo.laptop.spawnNode(__filename, ['client', JSON.stringify(args)], { stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => client.once('exit', resolve));
    if (code !== 0) throw new Error(`client exited with ${code}`);
  } finally {
    await topo.teardown();
  }
}

if (require.main === module) {
  const role = process.argv[2];
  if (role === 'source') sourceRole();
  else if (role === 'client')
    clientRole(JSON.parse(process.argv[3]) as ClientArgs).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  else
    main().catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
