// Upstream resolvers on macOS: the default resolver of `scutil --dns`, /etc/resolv.conf as fallback.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { defaultScutilServers, parseResolvConf, parseScutilDns, type Upstream } from './system-config-parse';

export async function readSystemUpstreams(): Promise<Upstream[]> {
  const out = await new Promise<string>((resolve) =>
    execFile('/usr/sbin/scutil', ['--dns'], { timeout: 3000 }, (err, stdout) => resolve(err ? '' : stdout)),
  );
  const servers = defaultScutilServers(parseScutilDns(out));
  if (servers.length > 0) return servers;
  const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  return parseResolvConf(text).map((host) => ({ host, port: 53 }));
}
