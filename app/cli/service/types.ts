// Installing the daemon as a system service: pure plans (files to write, commands to run) that
// install.ts carries out. Tests check the plans and write them into a temporary root only.

export interface ServiceSpec {
  /** The node binary and the arguments before the daemon's own: e.g. ['--import', 'file:///…/tsx/dist/loader.mjs']. */
  node: string;
  nodeArgs: string[];
  /** Absolute path of systemext/main.ts (or the bundled daemon). */
  daemonScript: string;
  /** Linux: the uid whose agent may connect (macOS: the console user, decided by the daemon). */
  allowUid: number | null;
  socketDir: string;
  stateDir: string;
}

export interface ServicePlan {
  /** Where the unit/plist goes (absolute, as on the real system). */
  path: string;
  content: string;
  /** Run after writing (install) or before removing (uninstall). */
  commands: string[][];
}
