// The three-namespace topology of the SSH transport's tests, the end-to-end test and the bench:
//
//   laptop 10.201.1.2 ── 10.201.1.1 bastion 10.201.2.1 ── 10.201.2.2 intranet
//
// - intranet: an HTTP server (a known page) and a TCP echo server, plus optionally a second sshd
//   (an inner bastion for jump tests, reachable only from bastion);
// - bastion: a real OpenSSH sshd with its own config and host key, listening on the laptop side;
//   it reaches intranet (it does not forward packets: no route from laptop to intranet);
// - laptop: reaches only bastion. The daemon runs here (in the end-to-end test); the test process
//   itself connects from laptop through a relay (tests/helpers/ns-connect.ts).
// Names are unique per test process (NetNs); teardown() deletes everything, also after a failed
// set-up. Nothing is configured in the host namespace.
// Run as a script it is the intranet's servers: `topology.ts serve <addr> <httpPort> <echoPort> <page>`.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNsRelay, type NsConnector } from './ns-connect';
import { linkVeth, NetNs } from './netns';

export const ADDR = {
  laptop: '10.201.1.2',
  bastionOuter: '10.201.1.1',
  bastionInner: '10.201.2.1',
  intranet: '10.201.2.2',
} as const;
export const HTTP_PORT = 80;
export const ECHO_PORT = 7;
export const SSH_PORT = 22;
export const INNER_SSH_PORT = 2222;
export const PAGE = '<h1>Hello from the intranet (KeyVNet test page)</h1>\n';

/** A real sshd with its own directory, config, host key and authorized_keys. */
export class TopoSshd {
  private child: ChildProcess | null = null;
  private log = '';
  readonly hostKeyPath: string;

  constructor(
    readonly ns: NetNs,
    readonly dir: string,
    readonly address: string,
    readonly port: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.hostKeyPath = join(dir, 'ssh_host_ed25519_key');
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      `kvn-${address}`,
      '-f',
      this.hostKeyPath,
    ]);
    this.setAuthorizedKeys([]);
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `ListenAddress ${address}:${port}`,
        `HostKey ${this.hostKeyPath}`,
        'PidFile none',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'PubkeyAcceptedAlgorithms +sk-ecdsa-sha2-nistp256@openssh.com,sk-ssh-ed25519@openssh.com',
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'AllowTcpForwarding yes',
        'PermitOpen any',
        'LogLevel VERBOSE',
        'MaxAuthTries 10',
        'MaxStartups 200',
        '',
      ].join('\n'),
    );
  }

  /** "ssh-ed25519 AAAA…" as the agent would send it from known_hosts. */
  get hostKeyLine(): string {
    return readFileSync(`${this.hostKeyPath}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  }

  get logText(): string {
    return this.log;
  }

  setAuthorizedKeys(lines: string[]): void {
    writeFileSync(join(this.dir, 'authorized_keys'), lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  }

  /** Starts sshd and resolves once it listens (hang guard: 20 s). */
  async start(): Promise<void> {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const mark = this.log.length;
    const child = this.ns.spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(this.dir, 'sshd_config')]);
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    const want = `Server listening on ${this.address} port ${this.port}`;
    const deadline = Date.now() + 20_000;
    while (!this.log.slice(mark).includes(want)) {
      if (child.exitCode !== null)
        throw new Error(`sshd exited with ${child.exitCode}:\n${this.log.slice(mark)}`);
      if (Date.now() > deadline) throw new Error(`sshd did not start listening:\n${this.log.slice(mark)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Stops sshd and every session process it forked (as a bastion reboot would: live sessions
   * drop), then starts it again with the same host key and config.
   */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) this sshd and its sessions: a bastion that hangs. */
  freeze(frozen: boolean): void {
    for (const pid of this.sshdPids()) process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  private sshdPids(): number[] {
    const pids = execFileSync('ip', ['netns', 'pids', this.ns.name]).toString().split(/\s+/).filter(Boolean);
    return pids.map(Number).filter((pid) => {
      try {
        return /^(\/usr\/sbin\/)?sshd\b/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    // Per-connection sshd processes survive their listener; kill the ones of this sshd.
    for (const pid of this.sshdPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

export interface TopologyOptions {
  /** Also start an inner sshd in intranet (for jump tests). */
  innerSshd?: boolean;
}

export class Topology {
  readonly dir: string;
  laptop!: NetNs;
  bastion!: NetNs;
  intranet!: NetNs;
  sshd!: TopoSshd;
  innerSshd: TopoSshd | null = null;
  /** TCP from inside laptop, for code running in the test process. */
  connectFromLaptop!: NsConnector;
  private servers: ChildProcess | null = null;

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'kvn-topo-'));
  }

  static async create(opts: TopologyOptions = {}): Promise<Topology> {
    const t = new Topology();
    try {
      await t.build(opts);
    } catch (err) {
      await t.teardown();
      throw err;
    }
    return t;
  }

  private async build(opts: TopologyOptions): Promise<void> {
    this.laptop = await NetNs.create('laptop');
    this.bastion = await NetNs.create('bastion');
    this.intranet = await NetNs.create('intranet');
    await linkVeth(this.laptop, `${ADDR.laptop}/24`, this.bastion, `${ADDR.bastionOuter}/24`);
    await linkVeth(this.bastion, `${ADDR.bastionInner}/24`, this.intranet, `${ADDR.intranet}/24`);
    this.servers = this.intranet.spawnNode(__filename, [
      'serve',
      ADDR.intranet,
      String(HTTP_PORT),
      String(ECHO_PORT),
      PAGE,
    ]);
    this.sshd = new TopoSshd(this.bastion, join(this.dir, 'bastion-sshd'), ADDR.bastionOuter, SSH_PORT);
    await this.sshd.start();
    if (opts.innerSshd) {
      this.innerSshd = new TopoSshd(
        this.intranet,
        join(this.dir, 'inner-sshd'),
        ADDR.intranet,
        INNER_SSH_PORT,
      );
      await this.innerSshd.start();
    }
    await waitForLine(this.servers, 'serving', 20_000);
    this.connectFromLaptop = await startNsRelay(this.laptop, join(this.dir, 'laptop-relay.sock'));
  }

  /** Deletes namespaces (killing everything in them) and the temp directory; never throws. */
  async teardown(): Promise<void> {
    for (const ns of [this.laptop, this.bastion, this.intranet]) await ns?.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function waitForLine(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${text}" from intranet servers: ${out}`)),
      timeoutMs,
    );
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`intranet servers exited with ${code}: ${out}`));
    });
  });
}

/** The intranet's servers: an HTTP page and a TCP echo, on `addr`. */
function serve(addr: string, httpPort: number, echoPort: number, page: string): void {
  const http = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(page) });
    res.end(page);
  });
  const echo = createTcpServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  let up = 0;
  const ready = (): void => {
    if (++up === 2) process.stdout.write('serving\n');
  };
  http.listen(httpPort, addr, ready);
  echo.listen({ port: echoPort, host: addr, backlog: 1024 }, ready);
}

if (require.main === module && process.argv[2] === 'serve') {
  serve(process.argv[3], Number(process.argv[4]), Number(process.argv[5]), process.argv[6]);
}
