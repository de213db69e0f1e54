// Linux OS configuration: detects what the system offers (IPv6, systemd-resolved, a netns resolv.conf),
// records what it will change, then hands the pure plans to the runner.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import {
  chooseLinuxResolver,
  interfacePlan,
  ipv6Enabled,
  planDownLinux,
  planResolvConfDown,
  planResolvConfUp,
  planResolvedDown,
  planResolvedUp,
  planUpLinux,
} from './plan.linux';
import { upstreamsOf } from './resolv-conf';
import { familiesOf, planUdpFilterDown, planUdpFilterUp } from './udp-filter.linux';
import { runSteps } from './runner';
import { readState, removeState, statePath, writeState, type OsState } from './state';
import {
  OsConfigError,
  type OsConfigRequest,
  type OsConfigResult,
  type OsConfigurator,
  type OsLog,
  type ResolverMode,
  type Step,
} from './types';

const RESOLV_CONF = '/etc/resolv.conf';

export class LinuxOsConfigurator implements OsConfigurator {
  private readonly stateFile: string;

  constructor(
    stateDir: string,
    private readonly log: OsLog,
  ) {
    this.stateFile = statePath(stateDir);
  }

  async cleanupLeftovers(): Promise<void> {
    const state = readState(this.stateFile, (m) => this.log('warn', m));
    if (state) {
      this.log('warn', `osconfig: undoing leftovers of an earlier run (pid ${state.pid}, ${state.tunName})`);
      await this.undo(state);
    }
    // Even without a state file, a resolv.conf of ours means a crash: restore the original it embeds.
    if (netnsResolvConfMounted()) {
      await runSteps(planResolvConfDown(RESOLV_CONF, readOrNull(RESOLV_CONF)), {
        log: this.log,
        stopOnError: false,
      });
    }
  }

  ipv6Available(): boolean {
    return ipv6Enabled(
      readOrNull('/proc/sys/net/ipv6/conf/all/disable_ipv6'),
      readOrNull('/proc/sys/net/ipv6/conf/default/disable_ipv6'),
      existsSync('/proc/net/if_inet6'),
    );
  }

  async up(req: OsConfigRequest): Promise<OsConfigResult> {
    const warnings: string[] = [];
    const ipv6 = req.ipv6Range !== null && this.ipv6Available();
    if (req.ipv6Range !== null && !ipv6)
      warnings.push('IPv6 is disabled in this system: configuring IPv4 only');
    const mode = chooseLinuxResolver({
      resolvedRunning: await resolvedRunning(),
      netnsResolvConf: netnsResolvConfMounted(),
      inHostNetns: inHostNetns(),
    });
    if (mode === 'none') {
      warnings.push(
        'neither a network-namespace resolv.conf (/etc/netns/NAME/resolv.conf) nor systemd-resolved for this ' +
          'namespace: resolver NOT configured ' +
          '(the host /etc/resolv.conf is never rewritten); VNet DNS still answers queries sent to it directly',
      );
    }
    const { addresses, routes } = interfacePlan(req, ipv6);
    if (!onPath('iptables'))
      warnings.push(
        'iptables not found: UDP sent to app addresses is not refused before the tun (see README)',
      );
    const state: OsState = {
      version: 1,
      platform: 'linux',
      pid: process.pid,
      tunName: req.tunName,
      addresses,
      routes,
      resolver: mode,
      ...(mode === 'netns-resolv-conf' ? { resolverPath: RESOLV_CONF } : {}),
      udpFilter: familiesOf(routes),
    };
    // Record first: a crash in the middle must still be undone by the next start.
    writeState(this.stateFile, state);

    let upstreams: string[] = [];
    const steps: Step[] = [...planUpLinux(req, ipv6), ...planUdpFilterUp(routes, req.dnsAddresses)];
    if (mode === 'systemd-resolved') steps.push(...planResolvedUp(req.tunName, req.dnsAddresses, req.zones));
    if (mode === 'netns-resolv-conf') {
      const current = readFileSync(RESOLV_CONF, 'utf8');
      upstreams = upstreamsOf(current, req.dnsAddresses);
      steps.push(...planResolvConfUp(RESOLV_CONF, current, req.dnsAddresses));
    }
    const failures = await runSteps(steps, { log: this.log, stopOnError: true });
    if (failures.length > 0) {
      await this.undo(state);
      throw new OsConfigError(`OS configuration of ${req.tunName} failed: ${failures[0].message}`, failures);
    }
    for (const w of warnings) this.log('warn', `osconfig: ${w}`);
    return { ipv6, resolver: mode, upstreams, warnings };
  }

  async down(): Promise<void> {
    const state = readState(this.stateFile, (m) => this.log('warn', m));
    if (state) await this.undo(state);
  }

  private async undo(state: OsState): Promise<void> {
    const steps: Step[] = [];
    steps.push(...resolverDown(state.resolver, state));
    steps.push(...planUdpFilterDown(state.udpFilter ?? []));
    steps.push(...planDownLinux(state));
    await runSteps(steps, { log: this.log, stopOnError: false });
    removeState(this.stateFile);
  }
}

function resolverDown(mode: ResolverMode, state: OsState): Step[] {
  if (mode === 'systemd-resolved') return planResolvedDown(state.tunName);
  if (mode === 'netns-resolv-conf') {
    const path = state.resolverPath ?? RESOLV_CONF;
    return planResolvConfDown(path, readOrNull(path));
  }
  return [];
}

/** Whether a command is found in PATH (or the sbin directories, where iptables lives). */
function onPath(cmd: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d !== '' && existsSync(`${d}/${cmd}`));
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** systemd-resolved is in charge when its runtime dir exists and `resolvectl status` works. */
function resolvedRunning(): Promise<boolean> {
  if (!existsSync('/run/systemd/resolve')) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('resolvectl', ['status'], { timeout: 5000 }, (err) => resolve(!err));
  });
}

/**
 * True when we run under `ip netns exec NAME` with /etc/netns/NAME/resolv.conf bind-mounted over
 * /etc/resolv.conf (ip-netns(8)): then /etc/resolv.conf belongs to the namespace, never to the host.
 * The namespace is found by comparing our /proc/self/ns/net with the nsfs files in /run/netns.
 */
export function netnsResolvConfMounted(): boolean {
  try {
    const self = statSync('/proc/self/ns/net');
    for (const name of readdirSync('/run/netns')) {
      const s = statSync(`/run/netns/${name}`);
      if (s.ino !== self.ino || s.dev !== self.dev) continue;
      const nsFile = `/etc/netns/${name}/resolv.conf`;
      if (!existsSync(nsFile)) return false;
      const a = statSync(nsFile);
      const b = statSync(RESOLV_CONF);
      return a.ino === b.ino && a.dev === b.dev;
    }
  } catch {
    /* no /run/netns or unreadable: not in a named namespace */
  }
  return false;
}

/** Whether we share pid 1's network namespace (the host's), by comparing the nsfs inodes. */
function inHostNetns(): boolean {
  try {
    const self = statSync('/proc/self/ns/net');
    const init = statSync('/proc/1/ns/net');
    return self.ino === init.ino && self.dev === init.dev;
  } catch {
    return true; // cannot tell (no /proc access): assume the host, where resolved is the norm
  }
}
