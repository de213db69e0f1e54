// The agent core, shared by the menu-bar app and `--headless`: loads and watches the user's config,
// serves the ssh-agent socket, keeps the link to the root daemon (which asks us for names, bastions
// and signatures), and turns signature requests into touch/PIN prompts through the prompter. The
// front ends differ only in how they prompt and show the state this emits.
//
// Events: 'state' (AgentState, a fresh object on every change), 'event' (each VNetEvent from the
// daemon), 'log' (level, message).
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { VNetEvent, VNetStatus } from '../../ipc/messages';
import { ConfigError } from '../config/error';
import { formatReport } from '../diag/report';
import { runDiagnostics } from '../diag/run';
import { loadConfig } from '../config/load';
import type { UserConfig } from '../config/types';
import { watchConfig } from '../config/watch';
import type { KeySource, UserPrompter } from '../fido/api';
import { SshAgent } from '../ssh/agent';
import { ControlServer } from './control-server';
import { DaemonLink, type LinkState } from './daemon-link';
import { AppDirectory } from './directory';
import { SignService } from './sign-service';
import type { AgentState, ConfiguredApp } from './state';
import type { KeyAccess } from './key-operations';
import type { WatchedPrompter } from './prompt-watch';

export type AgentLogLevel = 'info' | 'warn' | 'error';

export interface AgentOptions {
  configPath: string;
  daemonSocketPath: string;
  version: string;
  prompter: UserPrompter;
  /** The security key for signatures (the real one through node-hid, or the virtual key in tests). */
  securityKey: KeySource;
  /** Serve the ssh-agent protocol here (SSH_AUTH_SOCK for the user's own ssh), or null for none. */
  sshAgentSocket: string | null;
  /**
   * The control socket for `keyvnet key …` and `keyvnet diag` (control-server.ts): where, the keys as
   * the agent opens them, and the prompter it watches to tell the command what it asks. Absent: none.
   * Its diag sign-ins are signed by the same sign service as the daemon's logins.
   */
  control?: { socketPath: string; keys: KeyAccess; prompts: WatchedPrompter } | null;
  /** Bring VNet up as soon as the daemon is there (default true). */
  wantUp?: boolean;
  /** Daemon link tuning, for tests. */
  link?: { retryMs?: number; pingIntervalMs?: number; pingDeadMs?: number; daemonUid?: number };
}

/** The front ends' log: one timestamped line per message on stderr. */
export function stderrAgentLog(level: AgentLogLevel, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}\n`);
}

const MAX_RECENT = 20;
const MAX_ERRORS = 50;

export class AgentCore extends EventEmitter<{
  state: [AgentState];
  event: [VNetEvent];
  log: [AgentLogLevel, string];
}> {
  private directory: AppDirectory | null = null;
  private stopWatch: (() => void) | null = null;
  private sshAgent: SshAgent | null = null;
  private control: ControlServer | null = null;
  private readonly link: DaemonLink;
  private readonly signer: SignService;
  private readonly state: AgentState;

  constructor(private readonly opts: AgentOptions) {
    super();
    this.state = {
      daemon: 'connecting',
      daemonError: null,
      wantUp: opts.wantUp ?? true,
      vnet: null,
      config: { path: opts.configPath, error: null, apps: [], bastions: [], zones: [] },
      connections: [],
      recent: [],
      bastions: [],
      errors: [],
      sshAgentSocket: null,
    };
    const signer = (this.signer = new SignService({
      directory: () => this.directory,
      securityKey: opts.securityKey,
      log: (m) => this.log('info', m),
    }));
    this.link = new DaemonLink({
      socketPath: opts.daemonSocketPath,
      version: opts.version,
      log: (level, msg) => this.log(level, msg),
      ...opts.link,
      services: {
        vnetConfig: () => this.directory?.vnetConfig() ?? null,
        wantUp: () => this.state.wantUp,
        resolve: async (fqdn) => this.directory?.resolve(fqdn) ?? null,
        bastion: async (name) => this.directory?.bastion(name) ?? null,
        sign: (p, signal) => signer.sign(p, signal),
        onEvent: (ev) => this.onDaemonEvent(ev),
        onLink: (state, error, status) => this.onLink(state, error, status),
      },
    });
  }

  /** Loads the config (an invalid one is reported, not fatal), then starts the services. */
  async start(): Promise<void> {
    let current: UserConfig | undefined;
    try {
      current = loadConfig(this.opts.configPath);
      this.useConfig(current);
    } catch (err) {
      this.configError(err as Error);
    }
    // The watcher watches the file's directory, which must exist (a first run has none yet).
    try {
      mkdirSync(dirname(this.opts.configPath), { recursive: true, mode: 0o700 });
    } catch (err) {
      this.log('warn', `cannot create ${dirname(this.opts.configPath)}: ${(err as Error).message}`);
    }
    try {
      this.stopWatch = this.watch(current);
    } catch (err) {
      this.log('error', `not watching ${this.opts.configPath} for changes: ${(err as Error).message}`);
    }
    if (this.opts.sshAgentSocket) await this.startSshAgent(this.opts.sshAgentSocket);
    if (this.opts.control) await this.startControl(this.opts.control);
    this.link.start();
    this.publish();
  }

  private watch(current: UserConfig | undefined): () => void {
    return watchConfig(
      this.opts.configPath,
      (cfg) => {
        this.log('info', `config reloaded: ${this.opts.configPath}`);
        this.useConfig(cfg);
        void this.link.push();
      },
      (err) => this.configError(err),
      {
        current,
        // Back to the config in force after a bad edit: the error is over.
        onSettled: (outcome) => {
          if (outcome === 'unchanged' && this.state.config.error && this.directory) {
            this.state.config = { ...this.state.config, error: null };
            this.log('info', `config valid again: ${this.opts.configPath}`);
            this.publish();
          }
        },
      },
    );
  }

  snapshot(): AgentState {
    return structuredClone(this.state);
  }

  setVNet(on: boolean): Promise<void> {
    this.state.wantUp = on;
    this.publish();
    return this.link.push();
  }

  /** Reloads the config now (the watcher does it on change anyway). */
  reloadConfig(): Promise<void> {
    try {
      this.useConfig(loadConfig(this.opts.configPath));
    } catch (err) {
      this.configError(err as Error);
      return Promise.resolve();
    }
    return this.link.push();
  }

  /**
   * The open connections' bytes so far and client processes, asked from the daemon (the status
   * window does so every second while it is shown); published when anything changed.
   */
  async refreshConnections(): Promise<void> {
    const rpc = this.link.rpc();
    if (!rpc || this.state.connections.length === 0) return;
    const { connections } = await rpc.request('vnet/connections', {}, { timeoutMs: 5000 });
    const byId = new Map(connections.map((c) => [c.id, c]));
    let changed = false;
    for (const c of this.state.connections) {
      const d = byId.get(c.id);
      if (!d) continue;
      if (
        d.bytesUp !== c.bytesUp ||
        d.bytesDown !== c.bytesDown ||
        d.process?.pid !== c.process?.pid ||
        d.process?.name !== c.process?.name
      ) {
        c.bytesUp = d.bytesUp;
        c.bytesDown = d.bytesDown;
        if (d.process) c.process = d.process;
        changed = true;
      }
    }
    if (changed) this.publish();
  }

  async disconnectBastion(name: string): Promise<void> {
    await this.link.rpc()?.request('bastion/disconnect', { name });
  }

  openConfigPath(): string {
    return this.opts.configPath;
  }

  /**
   * The `keyvnet diag` report as text. The key check is left to the command (the key is ours now),
   * and without an ssh-agent socket of ours the agent check would only say so: this agent runs.
   */
  async diagnostics(): Promise<string> {
    const report = await runDiagnostics({
      configPath: this.opts.configPath,
      daemonSocketPath: this.opts.daemonSocketPath,
      agentSocketPath: this.opts.sshAgentSocket ?? '',
      version: this.opts.version,
      daemonUid: this.opts.link?.daemonUid,
    });
    if (!this.opts.sshAgentSocket) {
      report.checks = report.checks.filter((c) => c.id !== 'agent');
      report.summary = { ok: 0, warn: 0, fail: 0, skip: 0 };
      for (const c of report.checks) report.summary[c.status]++;
    }
    return formatReport(report);
  }

  /** VNet down, the daemon link and the ssh-agent closed, the watcher stopped. */
  async stop(): Promise<void> {
    this.stopWatch?.();
    await this.link.stop();
    await this.sshAgent?.close().catch(() => undefined);
    await this.control?.close().catch(() => undefined);
  }

  /** The control socket served (keyvnet key … through the agent), or null. */
  get controlSocket(): string | null {
    return this.control ? (this.opts.control?.socketPath ?? null) : null;
  }

  /** Not fatal: without it `keyvnet key …` prompts on its own terminal. */
  private async startControl(c: NonNullable<AgentOptions['control']>): Promise<void> {
    const server = new ControlServer({
      keys: c.keys,
      prompts: c.prompts,
      logins: this.signer,
      version: this.opts.version,
      log: (level, msg) => this.log(level, msg),
    });
    try {
      await server.listen(c.socketPath);
      this.control = server;
    } catch (err) {
      this.log(
        'error',
        `no control socket for keyvnet commands at ${c.socketPath}: ${(err as Error).message}`,
      );
    }
  }

  private useConfig(cfg: UserConfig): void {
    this.directory = new AppDirectory(cfg, undefined, (m) => this.log('warn', m));
    const apps: ConfiguredApp[] = cfg.apps.map((a) => ({
      name: a.name,
      via: a.via,
      ports: a.ports.map((p) => (typeof p === 'number' ? String(p) : `${p[0]}-${p[1]}`)),
      description: a.description,
      target: a.target.port ? `${a.target.host}:${a.target.port}` : a.target.host,
    }));
    this.state.config = {
      path: cfg.path,
      error: null,
      apps,
      bastions: cfg.bastions.map((b) => ({ name: b.name, host: b.host, user: b.user, policy: b.policy })),
      zones: cfg.zones.map((z) => z.suffix),
    };
    this.publish();
  }

  private configError(err: Error): void {
    const msg = err instanceof ConfigError ? err.message : `config: ${err.message}`;
    this.log('error', this.directory ? `${msg} (the previous configuration stays in force)` : msg);
    this.state.config = { ...this.state.config, error: msg };
    this.publish();
  }

  private async startSshAgent(path: string): Promise<void> {
    const agent = new SshAgent({
      keys: () => {
        const dir = this.directory;
        if (!dir) return [];
        const out = [];
        for (const b of dir.config.bastions) {
          try {
            out.push(dir.signingKey(b));
          } catch {
            /* reported when the daemon asks for it */
          }
        }
        return out;
      },
      securityKey: this.opts.securityKey,
      log: (level, message) => {
        if (level !== 'debug') this.log(level, `ssh-agent: ${message}`);
      },
    });
    await agent.listen(path);
    this.sshAgent = agent;
    this.state.sshAgentSocket = path;
  }

  private onLink(state: LinkState, error: string | null, status: VNetStatus | null): void {
    this.state.daemon = state;
    this.state.daemonError = error;
    if (status) this.applyStatus(status);
    else if (state !== 'connected') {
      this.state.vnet = null;
      this.state.connections = [];
      this.state.bastions = [];
    }
    this.publish();
  }

  private applyStatus(status: VNetStatus): void {
    this.state.vnet = status;
    this.state.bastions = status.bastions;
    if (status.state !== 'up') this.state.connections = [];
  }

  private onDaemonEvent(ev: VNetEvent): void {
    const s = this.state;
    switch (ev.type) {
      case 'vnet-state':
        this.applyStatus(ev.status);
        break;
      case 'connection-opened':
        s.connections.unshift({
          id: ev.id,
          fqdn: ev.fqdn,
          port: ev.port,
          openedAt: ev.at,
          bytesUp: 0,
          bytesDown: 0,
          via: ev.via,
        });
        if (s.connections.length > 4096) s.connections.pop();
        break;
      case 'connection-closed': {
        const i = s.connections.findIndex((c) => c.id === ev.id);
        const c = i >= 0 ? s.connections.splice(i, 1)[0] : null;
        s.recent.unshift({
          id: ev.id,
          fqdn: ev.fqdn,
          port: ev.port,
          openedAt: c?.openedAt ?? ev.at,
          bytesUp: ev.bytesUp,
          bytesDown: ev.bytesDown,
          via: c?.via ?? '',
          ...(c?.process ? { process: c.process } : {}),
          closedAt: ev.at,
        });
        s.recent.length = Math.min(s.recent.length, MAX_RECENT);
        break;
      }
      case 'refused':
        this.noteError(ev.at, `${ev.fqdn}:${ev.port} refused: ${ev.reason}`);
        break;
      case 'error':
        this.noteError(
          ev.at,
          ev.fqdn ? `${ev.fqdn}${ev.port ? `:${ev.port}` : ''}: ${ev.message}` : ev.message,
        );
        break;
      case 'bastion-state': {
        const i = s.bastions.findIndex((b) => b.name === ev.bastion.name);
        if (i >= 0) s.bastions[i] = ev.bastion;
        else s.bastions.push(ev.bastion);
        break;
      }
      case 'dns-miss':
        break;
    }
    this.emit('event', ev);
    this.publish();
  }

  private noteError(at: number, message: string): void {
    this.state.errors.unshift({ at, message });
    this.state.errors.length = Math.min(this.state.errors.length, MAX_ERRORS);
  }

  private publish(): void {
    this.emit('state', this.snapshot());
  }

  private log(level: AgentLogLevel, msg: string): void {
    this.emit('log', level, msg);
  }
}
