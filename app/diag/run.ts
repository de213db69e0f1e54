// `keyvnet diag` and the menu's "Diagnostics…": every check in order, each with its evidence and
// what to do. Nothing here changes the system; the security key is only asked what it is (no touch).
import { readFileSync } from 'node:fs';
import { connectDaemon } from '../../ipc/client';
import type { VNetStatus } from '../../ipc/messages';
import { ConfigError, formatProblem } from '../config/error';
import { hostKeysFor } from '../config/known-hosts';
import { loadConfig } from '../config/load';
import type { BastionConfig, UserConfig } from '../config/types';
import { AgentClient } from '../ssh/agent-client';
import { readPrivateKeyFile } from '../ssh/keyfile';
import { SSH_SK_USER_VERIFICATION_REQD } from '../ssh/keys';
import { authCheck } from './auth';
import { checkBastion } from './bastion';
import { BastionPaths, type DiagBastion, type LoginSigner } from './bastion-paths';
import { realExec, type Exec } from './exec';
import type { KeyInfo } from './key-info';
import { lookupCheck, type Lookup } from './resolver';
import { routeCheck } from './routes';
import { systemProbe } from './system';
import { check, type CheckResult, type CheckStatus, type DiagReport } from './types';

export interface PluggedKeyInfo {
  path: string;
  info: KeyInfo | null;
  error: string | null;
}

export interface DiagOptions {
  configPath: string;
  daemonSocketPath: string;
  /** The agent's ssh-agent socket (the agent is "reachable" when it answers there). */
  agentSocketPath: string;
  version: string;
  platform?: NodeJS.Platform;
  exec?: Exec;
  /** The plugged-in security keys and what they say (no touch); omitted = the key check is skipped. */
  securityKeys?: () => Promise<PluggedKeyInfo[]>;
  /** Where the keys were asked, a line of the key check's evidence ("asked through the KeyVNet agent …"). */
  keysVia?: string;
  /** The uid the daemon must run as (0). */
  daemonUid?: number;
  /** `--auth`: sign in to each bastion, the logins signed by this (a touch each); omitted = no sign-in. */
  signer?: LoginSigner;
  /** Called before each group of checks, e.g. to print "checking routes…". */
  onProgress?: (what: string) => void;
}

export const DEFAULT_VNET_RANGE = '100.64.0.0/10';

export async function runDiagnostics(opts: DiagOptions): Promise<DiagReport> {
  const platform = opts.platform ?? process.platform;
  const exec = opts.exec ?? realExec;
  const progress = opts.onProgress ?? (() => undefined);
  const checks: CheckResult[] = [];

  progress('config');
  let config: UserConfig | null = null;
  try {
    config = loadConfig(opts.configPath);
    checks.push(
      check('config', 'Config file is valid', 'ok', [
        `${opts.configPath}: ${config.bastions.length} bastions, ${config.zones.length} zones, ${config.apps.length} apps`,
      ]),
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks.push(
      check(
        'config',
        'Config file is valid',
        'fail',
        err.problems.map(formatProblem),
        err.problems.some((p) => p.line === 0)
          ? 'Create or fix the file: keyvnet config edit (or import a bastion: keyvnet config import-ssh HOST --write).'
          : 'Fix these lines: keyvnet config edit.',
      ),
    );
  }

  progress('daemon');
  let status: VNetStatus | null = null;
  try {
    const { peer, daemon } = await connectDaemon({
      socketPath: opts.daemonSocketPath,
      role: 'cli',
      version: opts.version,
      daemonUid: opts.daemonUid,
      connectTimeoutMs: 5000,
      log: () => undefined,
    });
    try {
      status = await peer.request('vnet/status', {}, { timeoutMs: 5000 });
    } finally {
      peer.close('diag done');
    }
    checks.push(
      check('daemon', 'Daemon is running', 'ok', [
        `version ${daemon.version}, pid ${daemon.pid}, on ${opts.daemonSocketPath}`,
        `VNet ${status.state}${status.tun ? ` on ${status.tun}` : ''}${status.error ? `: ${status.error}` : ''}`,
      ]),
    );
    if (status.state === 'error')
      checks.push(
        check(
          'vnet',
          'VNet state',
          'fail',
          [status.error ?? 'error'],
          'Turn VNet off and on; see the checks below.',
        ),
      );
  } catch (err) {
    checks.push(
      check(
        'daemon',
        'Daemon is running',
        'fail',
        [(err as Error).message],
        'Start it: sudo keyvnet daemon run (or install it: sudo keyvnet daemon install --allow-uid $(id -u)).',
      ),
    );
  }

  progress('agent');
  checks.push(await agentCheck(opts.agentSocketPath));

  const sys = systemProbe(platform, exec);
  const up = status?.state === 'up';
  const range = status?.ipv4Range ?? config?.vnet.range ?? DEFAULT_VNET_RANGE;
  const tun = status?.tun ?? null;

  progress('routes');
  if (!sys) checks.push(check('routes', 'Routes', 'skip', [`not supported on ${platform}`]));
  else {
    const routes = await sys.routes();
    if ('error' in routes) checks.push(check('routes', 'Routes', 'skip', [routes.error]));
    else checks.push(routeCheck(range, routes, tun));
  }

  progress('resolver');
  const zones = status?.zones.length ? status.zones : (config?.zones.map((z) => z.suffix) ?? []);
  if (!sys || !up || status === null) {
    checks.push(
      check('resolver.config', 'Resolver: the system asks VNet for each zone', 'skip', ['VNet is down']),
    );
  } else {
    checks.push(await sys.resolverConfig({ dns: status.dns, zones, tun }, status.resolver));
    for (const zone of zones) {
      const names = [...Object.keys(status.apps), ...(config?.apps.map((a) => a.name) ?? [])];
      const name = names.find((n) => n === zone || n.endsWith(`.${zone}`));
      if (!name) {
        checks.push(
          check(`resolver.lookup.${zone}`, `DNS round trip for ${zone}`, 'skip', ['no app in this zone']),
        );
        continue;
      }
      const r = await sys.lookup(name);
      const l: Lookup = { zone, name, ...r, expected: status.apps[name]?.v4 ?? null };
      checks.push(lookupCheck(l, range));
    }
  }

  progress('firewall');
  if (!sys) checks.push(check('firewall', 'Firewall', 'skip', [`not supported on ${platform}`]));
  else checks.push(await sys.firewall(tun ?? (platform === 'darwin' ? 'utun' : 'kvn0')));
  if (sys && up && status?.ipv4Range) {
    const udp = await sys.udpFilter({ v4: status.ipv4Range, v6: status.ipv6Range });
    if (udp) checks.push(udp);
  }

  // Bastions: each reached straight or through its jump (then only with --auth: see bastion-paths.ts).
  const targets = new Map<string, DiagBastion>();
  for (const b of config?.bastions ?? [])
    targets.set(b.name, { config: b, expectedKeys: expectedHostKeys(b) });
  const paths = new BastionPaths(targets, opts.signer ?? null);
  try {
    for (const { config: b, expectedKeys } of targets.values()) {
      progress(`bastion ${b.name}`);
      const session = status?.bastions.find((s) => s.name === b.name);
      const results = await checkBastion(
        { name: b.name, host: b.host, port: b.port, expectedKeys, jump: b.jump },
        session,
        paths,
      );
      checks.push(...results);
      // Sign in only when asked, and only where the host key is the expected one.
      if (opts.signer && results.find((c) => c.id === `bastion.${b.name}.hostkey`)?.status === 'ok')
        checks.push(await authCheck(b, paths));
    }
  } finally {
    paths.close();
  }

  progress('security key');
  checks.push(...(await keyChecks(opts.securityKeys, config, opts.keysVia)));

  const summary: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  return { at: Date.now(), platform, checks, summary };
}

/** The host keys a bastion must present: host_keys, else its known_hosts entries (none: unknown). */
function expectedHostKeys(b: BastionConfig): string[] {
  if (b.hostKeys !== null) return b.hostKeys;
  try {
    return hostKeysFor(readFileSync(b.knownHostsPath, 'utf8'), b.host, b.port);
  } catch {
    return [];
  }
}

/** The bastions' key files that demand the PIN on every signature (a .pub alone does not say). */
function verifyRequiredKeys(config: UserConfig | null): string[] {
  const out: string[] = [];
  for (const b of config?.bastions ?? []) {
    try {
      const k = readPrivateKeyFile(readFileSync(b.keyPath, 'utf8'));
      if (k.flags & SSH_SK_USER_VERIFICATION_REQD && !out.includes(b.keyPath)) out.push(b.keyPath);
    } catch {
      /* a .pub, an encrypted or unreadable file: the config check reports what matters */
    }
  }
  return out;
}

async function agentCheck(socket: string): Promise<CheckResult> {
  const title = 'Agent is running (its ssh-agent socket answers)';
  let client: AgentClient | null = null;
  try {
    client = await AgentClient.connect(socket);
    const c = client;
    const ids = await Promise.race([
      c.identities(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref(),
      ),
    ]);
    return check('agent', title, 'ok', [
      `${socket}: ${ids.length} ${ids.length === 1 ? 'key' : 'keys'} offered`,
    ]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ECONNREFUSED' ? 'not listening' : (err as Error).message;
    return check(
      'agent',
      title,
      'fail',
      [`${socket}: ${why}`],
      'Start the agent: keyvnet agent (or open the KeyVNet app).',
    );
  } finally {
    client?.close();
  }
}

async function keyChecks(
  list: DiagOptions['securityKeys'],
  config: UserConfig | null,
  via: string | undefined,
): Promise<CheckResult[]> {
  const title = 'Security key';
  if (!list) return [check('key', title, 'skip', ['not checked here'])];
  const needed = (config?.bastions.length ?? 0) > 0;
  const where = via !== undefined ? [via] : [];
  const keys = await list().catch((err: Error) => err);
  if (keys instanceof Error) return [check('key', title, 'fail', [keys.message, ...where])];
  if (keys.length === 0) {
    return [
      check(
        'key',
        title,
        needed ? 'fail' : 'skip',
        ['no security key plugged in', ...where],
        needed ? 'Plug in your security key: bastions need it to sign you in.' : null,
      ),
    ];
  }
  const out: CheckResult[] = [];
  keys.forEach((k, i) => {
    const id = keys.length === 1 ? 'key' : `key.${i}`;
    if (k.info === null) {
      out.push(
        check(
          id,
          `${title} ${k.path}`,
          'fail',
          [k.error ?? 'cannot open it', ...where],
          'Re-insert the key.',
        ),
      );
      return;
    }
    const info = k.info;
    const ev = [
      `${info.label} (${info.kind}${info.versions.length ? `, ${info.versions.join(' ')}` : ''})`,
      `PIN: ${info.pinSet === null ? 'not supported' : info.pinSet ? `set, ${info.pinRetries} retries left` : 'not set'}`,
      `credProtect: ${info.credProtect ? 'supported' : 'not supported'}; resident keys: ${info.residentKeys ? 'yes' : 'no'}`,
      ...where,
    ];
    let status: CheckStatus = 'ok';
    const fixes: string[] = [];
    if (info.pinRetries === 0) {
      status = 'fail';
      fixes.push('The PIN is blocked: the key must be reset (this erases its credentials).');
    } else if (info.pinRetries !== null && info.pinRetries <= 3) {
      status = 'warn';
      fixes.push(`Only ${info.pinRetries} PIN attempts left before the key locks: type the PIN carefully.`);
    }
    if (info.pinSet === false) {
      const needPin = verifyRequiredKeys(config);
      if (needPin.length > 0) {
        status = 'fail';
        fixes.push(
          `No PIN, but ${needPin.join(', ')} ${needPin.length === 1 ? 'is' : 'are'} verify-required: set one with keyvnet key pin set.`,
        );
      } else {
        if (status === 'ok') status = 'warn';
        fixes.push('No PIN: verify-required keys cannot be used; set one with keyvnet key pin set.');
      }
    }
    if (info.kind === 'u2f' || !info.credProtect) {
      if (status === 'ok') status = 'warn';
      fixes.push(
        'Without credProtect (or on a U2F-only key) resident and verify-required keys cannot be made as OpenSSH does.',
      );
    }
    out.push(check(id, title, status, ev, fixes.length > 0 ? fixes.join(' ') : null));
  });
  return out;
}
