// Loads NodeGui on top of the right Qt runtime. On macOS (and whenever we already run inside
// NodeGui's own `qode`) NodeGui is used as is. On Linux under plain Node, the qode stand-in
// (scripts/qode-standin/qode_standin.cc) must be loaded first, with RTLD_GLOBAL, so NodeGui's addon
// finds the qode symbols it links against and Qt's events get pumped from Node's loop.
// This module is only ever imported lazily (GUI mode): headless mode and tests never load Qt.
import { constants } from 'node:os';

/** Environment variable naming the stand-in's .so; scripts/run-app.sh sets it from build.sh. */
export const STANDIN_ENV = 'KEYVNET_QODE_STANDIN';

export interface StandinStats {
  pumping: boolean;
  pumps: number;
  intervalMs: number;
}

/** Where the tray icon really is (see trayStatus in qode_standin.cc). */
export interface TrayStatus {
  /** QSystemTrayIcon::isSystemTrayAvailable(). */
  available: boolean;
  /** Qt's XEMBED fallback icons (X11 without a StatusNotifier host): one per shown tray icon. */
  x11Icons: { visible: boolean; exposed: boolean; x: number; y: number; width: number; height: number }[];
}

interface StandinModule {
  stats(): StandinStats;
  trayStatus(): TrayStatus;
}

let standin: StandinModule | null = null;

export class QtRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QtRuntimeError';
  }
}

const STANDIN_FILE = /(^|\/)libqode_standin\.so$/;

/** The stand-in's path: KEYVNET_QODE_STANDIN, or an LD_PRELOAD entry (which works as well). */
function standinPath(): string | null {
  const fromEnv = process.env[STANDIN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const preloaded = (process.env.LD_PRELOAD ?? '').split(/[:\s]+/).find((p) => STANDIN_FILE.test(p));
  return preloaded ?? null;
}

/** Child processes (ssh, ...) must not inherit the stand-in, and with it Qt. */
function forgetStandinEnv(): void {
  delete process.env[STANDIN_ENV];
  if (process.env.LD_PRELOAD === undefined) return;
  const rest = process.env.LD_PRELOAD.split(/[:\s]+/).filter((p) => p !== '' && !STANDIN_FILE.test(p));
  if (rest.length > 0) process.env.LD_PRELOAD = rest.join(':');
  else delete process.env.LD_PRELOAD;
}

function loadStandin(): void {
  if (standin !== null || process.platform !== 'linux' || process.versions.qode !== undefined) return;
  const path = standinPath();
  if (path === null) {
    throw new QtRuntimeError(
      `${STANDIN_ENV} is not set: start the GUI with scripts/run-app.sh (it builds the qode stand-in), ` +
        'or use --headless',
    );
  }
  const mod = { exports: {} as StandinModule };
  try {
    process.dlopen(mod, path, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
  } catch (err) {
    throw new QtRuntimeError(`cannot load the qode stand-in ${path}: ${(err as Error).message}`);
  }
  standin = mod.exports;
  forgetStandinEnv();
}

/** Loads the stand-in if needed, then NodeGui. Throws QtRuntimeError with a clear reason. */
export function loadNodeGui(): typeof import('@nodegui/nodegui') {
  loadStandin();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@nodegui/nodegui') as typeof import('@nodegui/nodegui');
  } catch (err) {
    throw new QtRuntimeError(`cannot load NodeGui (is its addon built?): ${(err as Error).message}`);
  }
}

/** Tray availability, or null when unknown (no stand-in: macOS always has its menu bar). */
export function trayStatus(): TrayStatus | null {
  return standin === null ? null : standin.trayStatus();
}

/** The stand-in's pump counters (null under a real qode or before loading). */
export function standinStats(): StandinStats | null {
  return standin === null ? null : standin.stats();
}

/** The NodeGui module, for type positions (`qt: NodeGui`) without loading it. */
export type NodeGui = typeof import('@nodegui/nodegui');
