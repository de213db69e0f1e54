// One run of VNet in the root daemon: opens the tun, configures the OS (address, MTU, routes,
// resolver), starts the engine with an app resolver and a dialer, and undoes it all on stop. The
// daemon (vnet-controller.ts) starts one when the agent says `vnet/up` and stops it on `vnet/down`
// or when the agent goes away.
//
// Order matters:
//   1. undo leftovers of a crashed run (state file, resolver markers) before touching anything;
//   2. create the engine first: it owns the NAT table the tun's reader thread rewrites with (fast path);
//   3. open the tun with that fast path, then configure the OS: the engine's listener binds on the tun's
//      address, so the address must exist before the engine starts;
//   4. start the engine. Any failure undoes what was done so far, in reverse.
//
// Default MTU (daemon-config.ts defaultMtu): 64 KiB on Linux, 16 KiB on macOS. Measured with bench/vnet.ts's
// MTU sweep on the 2-core Linux test bed (256 MB uploads through VNet, median of 3 interleaved rounds, as a
// ratio to plain loopback in the same run), over three full runs on a busy machine:
//   1500 → 0.05-0.10, 9000 → 0.12-0.18, 16384 → 0.14-0.25, 65535 → 0.23-0.30.
// Fewer, larger packets is what makes the path through the tun and the engine cheaper, and 65535 came out
// best in every full run, so Linux uses it. On macOS we keep 16 KiB: Teleport measured it there for its
// utun VNet (gravitational/teleport#69025) and utun's upper limit is not verified here.
import { join } from 'node:path';
import type { Upstream } from './dns/system-config-parse';
import { systemUpstreams } from './dns/upstreams';
import { createOsConfigurator, type OsConfigResult, type OsConfigurator } from './osconfig';
import type { TunDevice } from './tun/device';
import { openTun } from './tun/open';
import {
  createVNet,
  DirectDialer,
  loadAddressPlan,
  type AppResolver,
  type Dialer,
  type VNetEngine,
  type VNetOptions,
  type VNetStats,
} from './vnet';

export type LogLevel = 'info' | 'warn' | 'error';
export type DaemonLog = (level: LogLevel, msg: string) => void;

/** What VNet needs to start: the agent's pushed configuration plus the daemon's own settings. */
export interface VNetInstanceConfig {
  /** IPv4 VNet range (CIDR /8../24). */
  range: string;
  /** Configure IPv6 (the ULA range) too, when the OS has IPv6. */
  ipv6: boolean;
  mtu: number;
  zones: string[];
  /** Configured app names, for the virtual addresses reported in `info`. */
  appNames: string[];
  stateDir: string;
  tunName?: string;
}

export interface DaemonDeps {
  /** Where apps come from: the agent over IPC (AgentResolver); tests may pass a StaticResolver. */
  resolver: AppResolver;
  /** How apps are reached: DirectDialer by default; the daemon passes one that routes by bastion. */
  dialer?: Dialer;
  log?: DaemonLog;
  /** Hard limit for an orderly stop; past it stop() resolves anyway (default 10 s). */
  stopTimeoutMs?: number;
  /** Seams for unit tests without root (an in-memory tun, a recording OS configurator, engine options). */
  openTun?: typeof openTun;
  os?: OsConfigurator;
  engineOptions?: Partial<VNetOptions>;
}

/** What a started daemon tells its caller (and main.ts prints as its ready line). */
export interface DaemonInfo {
  tun: string;
  mtu: number;
  ipv4Range: string;
  ipv6Range: string | null;
  dns: string[];
  resolver: OsConfigResult['resolver'];
  /** Configured apps' virtual addresses. */
  apps: Record<string, { v4: string; v6: string | null }>;
}

export interface DaemonStats {
  engine: VNetStats;
  tun: object;
}

export interface RunningVNet {
  info: DaemonInfo;
  engine: VNetEngine;
  /** Packet counters of the engine and the tun reader (for logs, later for the agent's status view). */
  stats(): DaemonStats;
  /** Orderly stop: engine, OS clean-up, tun close. Idempotent; resolves within the hard timeout. */
  stop(): Promise<void>;
  /** Virtual addresses of app names (stable: persisted in the state directory). */
  addresses(names: string[]): DaemonInfo['apps'];
}

export const ADDRESS_STATE_FILE = 'addresses.json';

export async function startVNetInstance(config: VNetInstanceConfig, deps: DaemonDeps): Promise<RunningVNet> {
  const log: DaemonLog = deps.log ?? stderrLog;
  const os: OsConfigurator = deps.os ?? createOsConfigurator(config.stateDir, log);
  await os.cleanupLeftovers();

  const { plan, warning } = loadAddressPlan(join(config.stateDir, ADDRESS_STATE_FILE), config.range);
  if (warning) log('warn', warning);

  const ipv6 = config.ipv6 && os.ipv6Available();
  if (config.ipv6 && !ipv6) log('warn', 'IPv6 is disabled in this system: VNet runs IPv4 only');
  const resolver = deps.resolver;

  // Upstreams for non-zone queries: when we rewrite the namespace resolv.conf, the ones it had before
  // (read from osconfig, since the file then points at us); otherwise the system's, re-read by the engine.
  let osResult: OsConfigResult | null = null;
  const ownDns = [plan.dns4, plan.dns6];
  const upstreams = async (): Promise<Upstream[]> =>
    osResult?.resolver === 'netns-resolv-conf'
      ? osResult.upstreams.map((host) => ({ host, port: 53 }))
      : systemUpstreams(ownDns);

  const engine = createVNet({
    plan,
    resolver,
    dialer: deps.dialer ?? new DirectDialer(),
    // Without IPv6 in the OS, AAAA answers would send clients to addresses nothing routes.
    ipv6,
    upstreams,
    ...deps.engineOptions,
  });
  forwardEvents(engine, log);

  let tun: (TunDevice & { stats?: () => object }) | null = null;
  let osUp = false;
  try {
    tun = await (deps.openTun ?? openTun)({
      name: config.tunName,
      mtu: config.mtu,
      fastPath: engine.fastPathHook,
    });
    log('info', `tun ${tun.name} open (mtu ${config.mtu})`);
    const dns = ipv6 ? ownDns : [plan.dns4];
    osResult = await os.up({
      tunName: tun.name,
      mtu: config.mtu,
      ipv4Range: plan.ipv4Range,
      ipv6Range: ipv6 ? plan.ipv6Range : null,
      dnsAddresses: dns,
      zones: config.zones,
    });
    osUp = true;
    await engine.start(tun);
    const v6On = osResult.ipv6;
    const addresses = (names: string[]): DaemonInfo['apps'] => {
      const out: DaemonInfo['apps'] = {};
      for (const name of names) {
        const { v4, v6 } = plan.assign(name);
        out[name] = { v4, v6: v6On ? v6 : null };
      }
      return out;
    };
    const apps = addresses(config.appNames);
    const info: DaemonInfo = {
      tun: tun.name,
      mtu: config.mtu,
      ipv4Range: plan.ipv4Range,
      ipv6Range: osResult.ipv6 ? plan.ipv6Range : null,
      dns: osResult.ipv6 ? dns : [plan.dns4],
      resolver: osResult.resolver,
      apps,
    };
    const dev = tun;
    const stats = (): DaemonStats => ({ engine: { ...engine.stats }, tun: dev.stats?.() ?? {} });
    const stop = once(() => {
      // One line of counters at stop: how much went through the fast path, what was malformed or dropped.
      log('info', `stats ${JSON.stringify(stats())}`);
      return orderlyStop(engine, os, dev, log, deps.stopTimeoutMs ?? 10_000);
    });
    return { info, engine, stats, stop, addresses };
  } catch (err) {
    log('error', `start failed: ${(err as Error).message}`);
    await engine.stop().catch(() => {});
    if (osUp) await os.down();
    else await os.cleanupLeftovers(); // undoes a partial up() recorded in the state file
    await tun?.close().catch(() => {});
    throw err;
  }
}

/** Stops the engine, undoes the OS configuration and closes the tun; never hangs past `timeoutMs`. */
async function orderlyStop(
  engine: VNetEngine,
  os: OsConfigurator,
  tun: TunDevice,
  log: DaemonLog,
  timeoutMs: number,
): Promise<void> {
  const work = (async () => {
    // First stop attracting traffic (resolver back, routes and addresses gone), then stop the engine:
    // OS clean-up must happen even when the engine misbehaves, a dangling route or resolver is worse.
    await os.down();
    await engine.stop().catch((err: Error) => log('error', `engine stop: ${err.message}`));
    await tun.close().catch((err: Error) => log('error', `tun close: ${err.message}`));
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      log('error', `stop did not finish within ${timeoutMs} ms; giving up (the next start cleans up)`);
      resolve();
    }, timeoutMs);
  });
  await Promise.race([work, timeout]);
  clearTimeout(timer);
}

/** Engine events go to the log for now; later they are forwarded to the agent. */
function forwardEvents(engine: VNetEngine, log: DaemonLog): void {
  engine.on('connection', (e: { fqdn: string; port: number }) =>
    log('info', `connection ${e.fqdn}:${e.port}`),
  );
  engine.on('closed', (e: { fqdn: string; port: number; bytesFromClient: number; bytesToClient: number }) =>
    log('info', `closed ${e.fqdn}:${e.port} (${e.bytesFromClient} bytes up, ${e.bytesToClient} down)`),
  );
  engine.on('refused', (e: { fqdn: string; port: number; reason: string }) =>
    log('warn', `refused ${e.fqdn}:${e.port}: ${e.reason}`),
  );
  // Listening to 'error' also keeps a peer-triggered engine error from being thrown as unhandled.
  engine.on('error', (e: { fqdn?: string; port?: number; message: string }) =>
    log('error', `${e.fqdn ? `${e.fqdn}:${e.port} ` : ''}${e.message}`),
  );
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= fn());
}

export function stderrLog(level: LogLevel, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}\n`);
}
