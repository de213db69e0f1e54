// Public entry of OS configuration: pick the platform's configurator.
import { DarwinOsConfigurator } from './darwin';
import { LinuxOsConfigurator } from './linux';
import type { OsConfigurator, OsLog } from './types';

export * from './types';

/** The configurator for this platform; `stateDir` holds the crash-recovery state file. */
export function createOsConfigurator(stateDir: string, log: OsLog): OsConfigurator {
  if (process.platform === 'linux') return new LinuxOsConfigurator(stateDir, log);
  if (process.platform === 'darwin') return new DarwinOsConfigurator(stateDir, log);
  throw new Error(`OS configuration is not implemented for ${process.platform}`);
}
