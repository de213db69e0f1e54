// What the checks ask of the operating system, behind one interface; system.linux.ts and
// system.darwin.ts read it with the platform's tools.
import type { Exec } from './exec';
import type { ResolverExpectation } from './resolver';
import type { Route } from './routes';
import type { CheckResult } from './types';
import { linuxSystem } from './system.linux';
import { darwinSystem } from './system.darwin';

export interface SystemProbe {
  /** The IPv4 routing tables, or why they could not be read. */
  routes(): Promise<Route[] | { error: string }>;
  /** Whether the resolver configuration points each zone at our DNS. `mode` is status.resolver. */
  resolverConfig(want: ResolverExpectation, mode: string | null): Promise<CheckResult>;
  /** A name through the system resolver (not our socket). */
  lookup(name: string): Promise<{ addresses: string[]; error: string | null }>;
  /** The firewall's verdict on new TCP connections arriving on `dev`. */
  firewall(dev: string): Promise<CheckResult>;
  /** Whether the daemon's UDP filter covers these ranges; null where the platform has none (macOS). */
  udpFilter(ranges: { v4: string; v6: string | null }): Promise<CheckResult | null>;
}

export function systemProbe(platform: NodeJS.Platform, exec: Exec): SystemProbe | null {
  if (platform === 'linux') return linuxSystem(exec);
  if (platform === 'darwin') return darwinSystem(exec);
  return null;
}
