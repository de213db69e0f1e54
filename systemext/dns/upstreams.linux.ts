// Upstream resolvers on Linux: /etc/resolv.conf, or, when it points at systemd-resolved's
// stub (127.0.0.53), the real upstreams resolved uses.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseResolvConf, parseResolvectlDns, type Upstream } from './system-config-parse';

export async function readSystemUpstreams(): Promise<Upstream[]> {
  const main = parseResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
  if (!main.some((h) => h === '127.0.0.53' || h === '127.0.0.54'))
    return main.map((host) => ({ host, port: 53 }));
  let hosts = parseResolvConf(await readFile('/run/systemd/resolve/resolv.conf', 'utf8').catch(() => ''));
  if (hosts.length === 0) {
    const out = await new Promise<string>((resolve) =>
      execFile('resolvectl', ['dns'], { timeout: 3000 }, (err, stdout) => resolve(err ? '' : stdout)),
    );
    hosts = parseResolvectlDns(out);
  }
  return hosts.map((host) => ({ host, port: 53 }));
}
