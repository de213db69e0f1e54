// The whole product in one test namespace: the root daemon (systemext/main.ts) and the headless agent
// (app/main.ts --headless) with a TOML config, as two processes, the way a user runs them. The
// namespace gets its own resolv.conf (ip netns exec bind-mounts /etc/netns/NAME/resolv.conf), so the
// daemon's resolver change stays inside it. Everything is removed by stop(), also after a failure.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectDaemon } from '../../ipc/client';
import type { VNetStatus } from '../../ipc/messages';
import { Lines } from './lines';
import type { NetNs } from './netns';

const ROOT = join(__dirname, '..', '..');
export const DAEMON_MAIN = join(ROOT, 'systemext', 'main.ts');
export const AGENT_MAIN = join(ROOT, 'app', 'main.ts');
/**
 * The config most namespace tests use: one zone reached directly (no bastion) and one app in it, a web
 * server on 127.0.0.1:8080 inside the namespace; `extra` is appended (more apps, bastions).
 */
export const directHelloConfig = (extra = ''): string => `[vnet]
range = "100.64.0.0/10"

[[zone]]
suffix = "corp.test"
via = "direct"

[[app]]
name = "hello.corp.test"
target = "127.0.0.1:8080"
ports = [80]
${extra}`;

export const DEFAULT_RESOLV =
  '# the namespace resolver before VNet\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n';

export interface StackOptions {
  /** The config.toml text. */
  config: string;
  /** Extra agent flags (e.g. --virtual-key ...). */
  agentArgs?: string[];
  /** The namespace's resolv.conf before VNet; null: leave /etc/netns/NAME alone (none there). */
  resolv?: string | null;
  /** The daemon's state directory (default: inside the stack's directory). */
  stateDir?: string;
  /** The uid the daemon serves (default 0: tests run as root). */
  allowUid?: number;
  tunName?: string;
  /** Extra environment for the agent (e.g. HOME for known_hosts). */
  agentEnv?: NodeJS.ProcessEnv;
}

export class VNetStack {
  /** World-traversable, so a test can connect as another uid and be refused by the daemon itself. */
  readonly dir: string;
  readonly configPath: string;
  readonly socketDir: string;
  readonly stateDir: string;
  daemon: ChildProcess | null = null;
  agent: ChildProcess | null = null;
  daemonLines!: Lines;
  agentLines!: Lines;

  constructor(
    readonly ns: NetNs,
    private readonly opts: StackOptions,
  ) {
    this.dir = `/run/kvn-stack-${ns.name}`;
    this.configPath = join(this.dir, 'config.toml');
    this.socketDir = join(this.dir, 'run');
    this.stateDir = opts.stateDir ?? join(this.dir, 'state');
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    chmodSync(this.dir, 0o755);
    writeFileSync(this.configPath, opts.config);
    if (opts.resolv !== null) {
      mkdirSync(`/etc/netns/${ns.name}`, { recursive: true });
      writeFileSync(`/etc/netns/${ns.name}/resolv.conf`, opts.resolv ?? DEFAULT_RESOLV);
    }
  }

  /** The daemon's view of VNet, asked over its socket as the keyvnet command would (role cli). */
  async status(): Promise<VNetStatus> {
    const { peer } = await connectDaemon({ socketPath: this.socketPath, role: 'cli', version: 'test' });
    try {
      return await peer.request('vnet/status', {});
    } finally {
      peer.close('done');
    }
  }

  get socketPath(): string {
    return join(this.socketDir, 'daemon.sock');
  }

  /** Starts the daemon, then the agent, and waits until VNet is up with the config's apps. */
  static async start(ns: NetNs, opts: StackOptions): Promise<VNetStack> {
    const s = new VNetStack(ns, opts);
    try {
      await s.startDaemon();
      await s.startAgent();
      await s.agentLines.next(/^vnet: up /);
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  async startDaemon(): Promise<void> {
    const args = [
      '--allow-uid',
      String(this.opts.allowUid ?? 0),
      '--socket-dir',
      this.socketDir,
      '--state-dir',
      this.stateDir,
    ];
    if (this.opts.tunName) args.push('--tun-name', this.opts.tunName);
    this.daemon = this.ns.spawnNode(DAEMON_MAIN, args);
    this.daemonLines = new Lines(this.daemon);
    await this.daemonLines.next(/^READY /);
  }

  async startAgent(extra: string[] = []): Promise<void> {
    this.agent = this.ns.spawnNode(AGENT_MAIN, ['--headless', ...this.agentArgs(extra)], {
      env: { ...process.env, ...this.opts.agentEnv },
    });
    this.agentLines = new Lines(this.agent);
    await this.agentLines.next(/^daemon: connected/);
  }

  /**
   * The menu-bar app instead of the headless agent, in the namespace: `env` carries DISPLAY and
   * KEYVNET_QODE_STANDIN (X11's socket is a file, reachable from any network namespace). Returns
   * at once; the caller reads its --ui-probe lines. stop() ends it like the headless one.
   */
  startGuiAgent(env: NodeJS.ProcessEnv, extra: string[] = []): ChildProcess {
    this.agent = this.ns.spawnNode(AGENT_MAIN, this.agentArgs(extra), {
      env: { ...env, ...this.opts.agentEnv },
    });
    return this.agent;
  }

  private agentArgs(extra: string[]): string[] {
    return [
      '--config',
      this.configPath,
      '--daemon-socket',
      this.socketPath,
      '--ssh-agent-socket',
      'none',
      // No control socket unless a test asks for one (the last --agent-socket wins).
      '--agent-socket',
      'none',
      ...(this.opts.agentArgs ?? []),
      ...extra,
    ];
  }

  /** The app's virtual IPv4 address, from the agent's status line. */
  async appAddress(name: string): Promise<string> {
    const esc = name.replace(/\./g, '\\.');
    const m = /^app: \S+ (\S+)/.exec(
      this.agentLines.all.filter((l) => new RegExp(`^app: ${esc} `).test(l)).pop() ?? '',
    );
    if (!m) throw new Error(`no address printed for ${name}; agent said: ${this.agentLines.all.join(' | ')}`);
    return m[1];
  }

  writeConfig(text: string): void {
    // Like an editor: write a new file and rename it over the old one.
    const tmp = `${this.configPath}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.configPath);
  }

  async stop(): Promise<void> {
    for (const child of [this.agent, this.daemon]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (this.opts.resolv !== null) rmSync(`/etc/netns/${this.ns.name}`, { recursive: true, force: true });
  }
}
