// `--headless`: the agent without any GUI or Qt (Linux servers, CI, tests, the demo). Runs the agent
// core and prints one status line per change on stdout, so scripts and tests can wait on them:
//   config: /path/config.toml (2 apps, 1 zone)      | config error: file:line: field: ...
//   daemon: connected                               | daemon: connecting (reason) | daemon: unavailable (reason)
//   vnet: up tun kvn0 range 100.64.0.0/10 zones corp.test | vnet: down | vnet: error (reason)
//   app: hello.corp.test 100.64.12.34 fd12:...::64.12.34
//   event: connection hello.corp.test:80 via direct | event: refused ... | event: dns-miss ...
//   prompt: touch Touch your security key to connect to corp (bastion.corp.example.com) | prompt: done
//   control: /run/user/1000/keyvnet/control.sock   (keyvnet key … and diag run here; their prompts are these)
// Prompts go to the terminal (stderr; the PIN is read from stdin). Stops cleanly on SIGINT/SIGTERM:
// VNet goes down with it.
import { AgentCore, stderrAgentLog, type AgentOptions } from '../agent/agent';
import { agentKeyAccess } from '../agent/agent-keys';
import { securityKeySource, type VirtualKeySwitch } from '../agent/key-source';
import { WatchedPrompter } from '../agent/prompt-watch';
import type { AgentState, VNetEvent } from '../agent/state';
import type { Purpose } from '../fido/api';
import { TerminalPrompter } from './prompts';
import { ReportingPrompter } from './reporting-prompter';

/** What --demo-prompts asks for: a bastion login requested by the daemon. */
const DEMO_PURPOSE: Purpose = {
  what: 'ssh-login',
  bastion: 'corp',
  host: 'bastion.corp.example.com',
  user: 'alice',
  requester: 'daemon',
};

export interface HeadlessOptions {
  version: string;
  demoPrompts: boolean;
  configPath: string;
  daemonSocketPath: string;
  sshAgentSocket: string | null;
  /** The control socket for `keyvnet key …` (prompts then appear here), or null for none. */
  controlSocket: string | null;
  /** Test/demo only: the virtual authenticator's state file and touch policy. */
  virtualKey: VirtualKeySwitch | null;
  wantUp: boolean;
}

export async function runHeadless(opts: HeadlessOptions): Promise<number> {
  const terminal = new TerminalPrompter();
  if (opts.demoPrompts) return demoPrompts(opts, terminal);
  const prompter = new WatchedPrompter(new ReportingPrompter(terminal));

  const securityKey = securityKeySource(opts.virtualKey, prompter);
  const agentOpts: AgentOptions = {
    configPath: opts.configPath,
    daemonSocketPath: opts.daemonSocketPath,
    version: opts.version,
    prompter,
    securityKey,
    sshAgentSocket: opts.sshAgentSocket,
    wantUp: opts.wantUp,
    control: opts.controlSocket
      ? {
          socketPath: opts.controlSocket,
          keys: agentKeyAccess(opts.virtualKey, securityKey, prompter),
          prompts: prompter,
        }
      : null,
  };
  const agent = new AgentCore(agentOpts);
  const printer = new StatusPrinter();
  agent.on('state', (s) => printer.state(s));
  agent.on('event', (ev) => printer.event(ev));
  agent.on('log', stderrAgentLog);

  // Signal handlers go in before the first status line: whoever waits for it may stop us.
  const stopped = new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const stop = (): void => {
      clearInterval(keepAlive);
      console.log('KeyVNet agent stopping');
      void agent.stop().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log(`KeyVNet ${opts.version} agent (headless)`);
  await agent.start();
  if (opts.sshAgentSocket) console.log(`ssh-agent: SSH_AUTH_SOCK=${opts.sshAgentSocket}`);
  if (agent.controlSocket) console.log(`control: ${agent.controlSocket}`);
  await stopped;
  console.log('KeyVNet agent stopped');
  return 0;
}

/** Prints what changed, one line per fact. */
export class StatusPrinter {
  private last = new Map<string, string>();

  constructor(private readonly out: (line: string) => void = (l) => console.log(l)) {}

  state(s: AgentState): void {
    this.put(
      'config',
      s.config.error
        ? `config error: ${s.config.error}`
        : `config: ${s.config.path} (${plural(s.config.apps.length, 'app')}, ${plural(s.config.zones.length, 'zone')})`,
    );
    this.put('daemon', `daemon: ${s.daemon}${s.daemonError ? ` (${s.daemonError})` : ''}`);
    const v = s.vnet;
    if (v) {
      // App addresses first: whoever waits for "vnet: up" then finds them printed already.
      if (v.state === 'up')
        for (const [name, a] of Object.entries(v.apps))
          this.put(`app ${name}`, `app: ${name} ${a.v4}${a.v6 ? ` ${a.v6}` : ''}`);
      const detail =
        v.state === 'up'
          ? ` tun ${v.tun} range ${v.ipv4Range}${v.ipv6Range ? ` ${v.ipv6Range}` : ''} zones ${v.zones.join(',') || '-'}`
          : v.error
            ? ` (${v.error})`
            : '';
      this.put('vnet', `vnet: ${v.state}${detail}`);
    }
  }

  event(ev: VNetEvent): void {
    switch (ev.type) {
      case 'connection-opened':
        return this.out(`event: connection ${ev.fqdn}:${ev.port} via ${ev.via}`);
      case 'connection-closed':
        return this.out(`event: closed ${ev.fqdn}:${ev.port} (${ev.bytesUp} bytes up, ${ev.bytesDown} down)`);
      case 'refused':
        return this.out(`event: refused ${ev.fqdn}:${ev.port} ${ev.code}: ${ev.reason}`);
      case 'dns-miss':
        return this.out(`event: dns-miss ${ev.fqdn}`);
      case 'error':
        return this.out(`event: error ${ev.code ?? ''} ${ev.fqdn ? `${ev.fqdn}: ` : ''}${ev.message}`);
      case 'bastion-state':
        return this.out(
          `event: bastion ${ev.bastion.name} ${ev.bastion.state}${ev.bastion.reason ? ` (${ev.bastion.reason})` : ''}`,
        );
      case 'vnet-state':
        return;
    }
  }

  private put(key: string, line: string): void {
    if (this.last.get(key) === line) return;
    this.last.set(key, line);
    this.out(line);
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function demoPrompts(opts: HeadlessOptions, prompter: TerminalPrompter): Promise<number> {
  console.log(`KeyVNet ${opts.version} agent (headless)`);
  const keyLabel = 'KeyVNet virtual key';
  const purpose = DEMO_PURPOSE;
  const signal = new AbortController().signal;
  const touch = { requestId: 1, keyLabel, purpose, signal, fingerprint: false };
  prompter.touchNeeded(touch);
  prompter.touchDone(touch);
  const pin = await prompter.askPin({ requestId: 1, keyLabel, purpose, signal, retriesLeft: 3 });
  // Never print the PIN itself.
  console.log(pin === null ? 'PIN: cancelled' : `PIN: ${[...pin].length} characters entered`);
  return 0;
}
