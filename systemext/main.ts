// CLI entry of the root daemon: `node --import tsx systemext/main.ts --config <file.json>`.
// Prints `READY <json>` on stdout once the tun, the OS configuration and the engine are up; stops in
// order on SIGTERM/SIGINT. Log lines go to stderr. A config file (fields: daemon-config.ts):
//
//   {
//     "zones": ["corp.test"],                       // required: DNS zones VNet answers
//     "apps": [{ "name": "hello.corp.test",         // an FQDN inside a zone
//                "target": "127.0.0.1:8080",        // "host", "host:port", "[v6]:port" or {host, port}
//                "ports": [80, [8000, 8099]],       // allowed ports/ranges; [] or absent = all
//                "via": "direct" }],                // only "direct" for now (SSH bastion: later)
//     "range": "100.64.0.0/10",                     // optional, IPv4 VNet range (/8../24)
//     "ipv6": true,                                 // optional, also the ULA range when the OS has IPv6
//     "mtu": 65535,                                 // optional; default 65535 Linux, 16384 macOS
//     "stateDir": "/var/lib/keyvnet",               // optional, address plan + OS configuration record
//     "tunName": "kvn0"                             // optional (Linux), else the kernel's kvnN
//   }
import { readFileSync } from 'node:fs';
import { ConfigError, parseDaemonConfig, type DaemonConfig } from './daemon-config';
import { startDaemon, stderrLog, type RunningDaemon } from './daemon';
import { JsonSyntaxError, parseJsonWithLines, type LocatedJson } from './json-lines';

const USAGE = 'usage: main.ts --config <file.json>';

/** Reads and validates the config file; errors name the file, the line and the field. */
export function loadConfig(path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config ${path}: ${(err as Error).message}`);
  }
  let json: LocatedJson;
  try {
    json = parseJsonWithLines(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError)
      throw new Error(`config ${path}:${err.line}:${err.column}: not valid JSON: ${err.problem}`);
    throw new Error(`config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    return parseDaemonConfig(json.value);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const line = json.lineOf(err.field);
    throw new Error(`config ${path}${line === undefined ? '' : `:${line}`}: ${err.message}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--config');
  if (i < 0 || !argv[i + 1]) throw new Error(USAGE);
  const config = loadConfig(argv[i + 1]);

  let daemon: RunningDaemon | null = null;
  let stopping = false;
  const keepAlive = setInterval(() => {}, 1 << 30);
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    stderrLog('info', `${signal}: stopping`);
    // During start-up the stop happens once startDaemon returns (below), so nothing is left configured.
    if (!daemon) return;
    void daemon.stop().then(() => {
      stderrLog('info', 'stopped');
      clearInterval(keepAlive);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Nothing a peer sends may take the daemon down: log what escaped and keep serving.
  process.on('uncaughtException', (err) => stderrLog('error', `uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => stderrLog('error', `unhandled rejection: ${String(err)}`));

  daemon = await startDaemon(config);
  if (stopping) {
    await daemon.stop();
    stderrLog('info', 'stopped');
    process.exit(0);
  }
  process.stdout.write(`READY ${JSON.stringify(daemon.info)}\n`);
}

// Run when started as a program: directly (tsx), or as the entry of a webpack bundle, where `module` is
// webpack's and never equals require.main.
declare const __webpack_require__: unknown;
if (typeof __webpack_require__ === 'function' || require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    stderrLog('error', err.message);
    process.exit(1);
  });
}
