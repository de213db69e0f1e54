// Linux: ip -j route, resolvectl or the namespace's resolv.conf, getent, nft or iptables-save.
import { readFile } from 'node:fs/promises';
import type { Exec } from './exec';
import { evalIptables, evalNft, firewallCheck } from './firewall';
import { udpFilterCheck, type UdpFilterRules } from './udp-filter';
import { parseGetent, resolvConfCheck, resolvedCheck, resolverModeCheck } from './resolver';
import { parseIpJsonRoutes } from './routes';
import type { SystemProbe } from './system';
import { check } from './types';

export function linuxSystem(exec: Exec): SystemProbe {
  return {
    async routes() {
      const r = await exec('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
      if (r.code !== 0) return { error: r.stderr.trim() || 'ip route failed' };
      return parseIpJsonRoutes(r.stdout);
    },

    async resolverConfig(want, mode) {
      const fromMode = resolverModeCheck(mode);
      if (fromMode) return fromMode;
      let resolved = mode === 'systemd-resolved';
      if (mode === null) resolved = (await exec('resolvectl', ['status'])).code === 0;
      if (resolved) {
        const r = await exec('resolvectl', ['status', want.tun ?? '']);
        return resolvedCheck(r.code === 0 ? r.stdout : null, want);
      }
      const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => null);
      return resolvConfCheck(text, want);
    },

    async lookup(name) {
      const r = await exec('getent', ['ahostsv4', name]);
      if (r.code === null) return { addresses: [], error: 'getent is not installed' };
      // getent exits 2 when the name is not found.
      return { addresses: parseGetent(r.stdout), error: r.code === 0 ? null : `getent exit code ${r.code}` };
    },

    async firewall(dev) {
      const nft = await exec('nft', ['-j', 'list', 'ruleset']);
      if (nft.code === 0) return firewallCheck([['nft', evalNft(nft.stdout, dev)]], dev);
      // Without nft: the iptables view, IPv4 and IPv6 (VNet carries both).
      const verdicts: Array<[string, ReturnType<typeof evalIptables>]> = [];
      for (const tool of ['iptables', 'ip6tables']) {
        const r = await exec(`${tool}-save`, ['-t', 'filter']);
        if (r.code === 0) verdicts.push([tool, evalIptables(r.stdout, dev)]);
      }
      if (verdicts.length > 0) return firewallCheck(verdicts, dev);
      return check('firewall', 'Firewall: new connections on the VNet interface are let in', 'skip', [
        nft.code === null
          ? 'neither nft nor iptables-save is installed'
          : 'cannot read the rules (run as root)',
      ]);
    },

    async udpFilter(ranges) {
      const families: UdpFilterRules[] = [];
      const want: Array<['iptables' | 'ip6tables', string | null]> = [
        ['iptables', ranges.v4],
        ['ip6tables', ranges.v6],
      ];
      for (const [tool, range] of want) {
        if (range === null) continue;
        const r = await exec(tool, ['-w', '5', '-S']);
        families.push({ tool, range, rules: r.code === 0 ? r.stdout : null });
      }
      return udpFilterCheck(families);
    },
  };
}
