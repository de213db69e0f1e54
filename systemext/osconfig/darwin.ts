// macOS OS configuration: ifconfig/route for the utun and /etc/resolver/<zone> files (resolver(5)).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { darwinRoutes, planDownDarwin, planResolverDir, planUpDarwin, RESOLVER_DIR } from './plan.darwin';
import { firstHost, parseCidr } from './cidr';
import { wantedResolverFiles } from './resolver-dir';
import { runSteps } from './runner';
import { readState, removeState, statePath, writeState, type OsState } from './state';
import {
  OsConfigError,
  type OsConfigRequest,
  type OsConfigResult,
  type OsConfigurator,
  type OsLog,
} from './types';

export class DarwinOsConfigurator implements OsConfigurator {
  private readonly stateFile: string;

  constructor(
    stateDir: string,
    private readonly log: OsLog,
    private readonly resolverDir = RESOLVER_DIR,
  ) {
    this.stateFile = statePath(stateDir);
  }

  async cleanupLeftovers(): Promise<void> {
    const state = readState(this.stateFile, (m) => this.log('warn', m));
    if (state) {
      this.log('warn', `osconfig: undoing leftovers of an earlier run (pid ${state.pid}, ${state.tunName})`);
      await runSteps(planDownDarwin(state), { log: this.log, stopOnError: false });
      removeState(this.stateFile);
    }
    // Our resolver files are reconciled by up() (unchanged ones are kept, not rewritten) or removed by down().
  }

  /** macOS always has IPv6 on utun. */
  ipv6Available(): boolean {
    return true;
  }

  async up(req: OsConfigRequest): Promise<OsConfigResult> {
    const ipv6 = req.ipv6Range !== null;
    const v4 = parseCidr(req.ipv4Range);
    const addresses = [`${firstHost(v4)}/${v4.prefix}`];
    const state: OsState = {
      version: 1,
      platform: 'darwin',
      pid: process.pid,
      tunName: req.tunName,
      addresses,
      routes: darwinRoutes(req, ipv6),
      resolver: 'resolver-files',
      resolverPath: this.resolverDir,
    };
    writeState(this.stateFile, state);
    mkdirSync(this.resolverDir, { recursive: true });
    const steps = [
      ...planUpDarwin(req, ipv6),
      ...planResolverDir(
        this.resolverDir,
        this.readResolverDir(),
        wantedResolverFiles(req.zones, req.dnsAddresses),
      ),
    ];
    const failures = await runSteps(steps, { log: this.log, stopOnError: true });
    if (failures.length > 0) {
      await this.down();
      throw new OsConfigError(`OS configuration of ${req.tunName} failed: ${failures[0].message}`, failures);
    }
    // Scoped resolvers only get zone queries, so there is nothing to forward: no upstreams.
    return { ipv6, resolver: 'resolver-files', upstreams: [], warnings: [] };
  }

  async down(): Promise<void> {
    const state = readState(this.stateFile, (m) => this.log('warn', m));
    const steps = [
      ...(state ? planDownDarwin(state) : []),
      ...planResolverDir(this.resolverDir, this.readResolverDir(), new Map()),
    ];
    await runSteps(steps, { log: this.log, stopOnError: false });
    removeState(this.stateFile);
  }

  private readResolverDir(): Map<string, string> {
    const out = new Map<string, string>();
    let names: string[] = [];
    try {
      names = readdirSync(this.resolverDir);
    } catch {
      return out;
    }
    for (const n of names) {
      try {
        out.set(n, readFileSync(join(this.resolverDir, n), 'utf8'));
      } catch {
        /* unreadable or a directory: not ours */
      }
    }
    return out;
  }
}
