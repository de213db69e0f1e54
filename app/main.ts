// KeyVNet agent entry point.
//   node --import tsx app/main.ts --headless   terminal only, never loads Qt
//   scripts/run-app.sh [options]                the menu-bar app (loads NodeGui lazily)
import { parseArgs } from 'node:util';
// Imported, not read at run time, so a bundle carries the version with it.
import packageJson from '../package.json';
import { daemonSocketPath } from '../ipc/socket-path';
import type { VirtualKeySwitch } from './agent/key-source';
import { defaultConfigPath } from './config/paths';
import { defaultAgentSocketPath, defaultControlSocketPath } from './ssh/socket-path';

export const USAGE = `Usage: keyvnet [--headless] [--config FILE] [--daemon-socket PATH] [--ssh-agent-socket PATH|none]
               [--agent-socket PATH|none] [--no-up] [--demo-prompts] [--ui-probe=SECONDS] [--version] [--help]
  --headless        run without any GUI (status and prompts on the terminal)
  --config FILE     the config file (default: ${defaultConfigPath()})
  --daemon-socket PATH  the daemon's socket (default: ${daemonSocketPath()})
  --ssh-agent-socket PATH|none  where to serve the ssh-agent (default: ${defaultAgentSocketPath()})
  --agent-socket PATH|none  the control socket for keyvnet key commands and diag, whose prompts appear
                    here (default: ${defaultControlSocketPath()})
  --no-up           connect to the daemon but leave VNet off
  --virtual-key FILE    (tests, demo) use the virtual security key kept in FILE instead of a USB key
  --virtual-key-pin PIN (tests, demo) the PIN of a new virtual key
  --virtual-touch auto[:MS]|deny|never|manual  (tests, demo) who touches the virtual key
  --virtual-key-control PATH  (tests) a unix socket taking "touch", "deny", "unplug", "plug" lines
  --virtual-key-unplugged     (tests) the virtual key starts pulled out (until "plug")
  --demo-prompts    show the touch prompt, then the PIN prompt (to try them out)
  --ui-probe=N      GUI: print "KEYVNET-UI {json}" lines on stdout (e.g. when the tray icon is
                    visible) and exit after N seconds or when stdin closes
  --version         print the version and exit`;

export interface MainOptions {
  headless: boolean;
  configPath: string;
  daemonSocket: string;
  sshAgentSocket: string | null;
  controlSocket: string | null;
  up: boolean;
  virtualKey: VirtualKeySwitch | null;
  demoPrompts: boolean;
  probeSeconds: number | null;
  version: boolean;
  help: boolean;
}

export class UsageError extends Error {}

/** Pure argument parsing, so it is unit-testable. */
export function parseMainArgs(argv: string[]): MainOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        headless: { type: 'boolean', default: false },
        config: { type: 'string' },
        'daemon-socket': { type: 'string' },
        'ssh-agent-socket': { type: 'string' },
        'agent-socket': { type: 'string' },
        'no-up': { type: 'boolean', default: false },
        'virtual-key': { type: 'string' },
        'virtual-key-pin': { type: 'string' },
        'virtual-touch': { type: 'string' },
        'virtual-key-control': { type: 'string' },
        'virtual-key-unplugged': { type: 'boolean', default: false },
        'demo-prompts': { type: 'boolean', default: false },
        'ui-probe': { type: 'string' },
        version: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  let probeSeconds: number | null = null;
  if (v['ui-probe'] !== undefined) {
    probeSeconds = Number(v['ui-probe']);
    if (v['ui-probe'] === '' || !Number.isFinite(probeSeconds) || probeSeconds <= 0) {
      throw new UsageError(`--ui-probe wants a number of seconds > 0, got "${v['ui-probe']}"`);
    }
  }
  if (
    v['virtual-key'] === undefined &&
    (v['virtual-key-pin'] !== undefined ||
      v['virtual-touch'] !== undefined ||
      v['virtual-key-control'] !== undefined ||
      v['virtual-key-unplugged'] === true)
  )
    throw new UsageError(
      '--virtual-key-pin, --virtual-touch, --virtual-key-control and --virtual-key-unplugged go with --virtual-key',
    );
  const sshSock = v['ssh-agent-socket'];
  const controlSock = v['agent-socket'];
  return {
    headless: v.headless ?? false,
    configPath: v.config ?? defaultConfigPath(),
    daemonSocket: v['daemon-socket'] ?? daemonSocketPath(),
    sshAgentSocket: sshSock === 'none' ? null : (sshSock ?? defaultAgentSocketPath()),
    controlSocket: controlSock === 'none' ? null : (controlSock ?? defaultControlSocketPath()),
    up: !(v['no-up'] ?? false),
    virtualKey:
      v['virtual-key'] === undefined
        ? null
        : {
            statePath: v['virtual-key'],
            pin: v['virtual-key-pin'],
            touch: v['virtual-touch'] ?? 'auto',
            ...(v['virtual-key-control'] !== undefined ? { control: v['virtual-key-control'] } : {}),
            ...(v['virtual-key-unplugged'] === true ? { unplugged: true } : {}),
          },
    demoPrompts: v['demo-prompts'] ?? false,
    probeSeconds,
    version: v.version ?? false,
    help: v.help ?? false,
  };
}

export function appVersion(): string {
  return packageJson.version;
}

export async function main(argv: string[]): Promise<number> {
  let opts: MainOptions;
  try {
    opts = parseMainArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`keyvnet: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts.version) {
    console.log(`keyvnet ${appVersion()}`);
    return 0;
  }
  if (opts.headless) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runHeadless } = require('./headless/run') as typeof import('./headless/run');
    return runHeadless({
      version: appVersion(),
      demoPrompts: opts.demoPrompts,
      configPath: opts.configPath,
      daemonSocketPath: opts.daemonSocket,
      sshAgentSocket: opts.sshAgentSocket,
      controlSocket: opts.controlSocket,
      virtualKey: opts.virtualKey,
      wantUp: opts.up,
    });
  }
  // GUI: NodeGui (and Qt) are loaded only from here on.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runGui } = require('./ui/gui-app') as typeof import('./ui/gui-app');
  const { QtRuntimeError } = require('./ui/qt-runtime') as typeof import('./ui/qt-runtime'); // eslint-disable-line @typescript-eslint/no-require-imports
  try {
    const { agentCoreConnector } = require('./ui/gui-agent') as typeof import('./ui/gui-agent'); // eslint-disable-line @typescript-eslint/no-require-imports
    runGui(
      { probeSeconds: opts.probeSeconds, demoPrompts: opts.demoPrompts },
      // --demo-prompts only shows the prompts: no agent behind the menu then.
      opts.demoPrompts
        ? undefined
        : agentCoreConnector({
            version: appVersion(),
            configPath: opts.configPath,
            daemonSocketPath: opts.daemonSocket,
            sshAgentSocket: opts.sshAgentSocket,
            controlSocket: opts.controlSocket,
            virtualKey: opts.virtualKey,
            wantUp: opts.up,
          }),
    );
  } catch (err) {
    if (!(err instanceof QtRuntimeError)) throw err;
    console.error(`keyvnet: ${err.message}`);
    return 1;
  }
  return -1; // the GUI keeps running until the user quits
}

// Run when started as a program: directly (tsx), or as the entry of a webpack bundle, where `module` is
// webpack's and never equals require.main.
declare const __webpack_require__: unknown;
if (typeof __webpack_require__ === 'function' || require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      console.error('keyvnet: fatal:', err);
      process.exit(1);
    },
  );
}
