// macOS: netstat -rn, scutil --dns, dscacheutil, pfctl.
import type { Exec } from './exec';
import { evalPf, firewallCheck, pfEnabled } from './firewall';
import { parseDscacheutil, resolverModeCheck, scutilCheck } from './resolver';
import { parseNetstatRoutes } from './routes';
import type { SystemProbe } from './system';
import { check } from './types';

export function darwinSystem(exec: Exec): SystemProbe {
  return {
    async routes() {
      const r = await exec('netstat', ['-rn', '-f', 'inet']);
      if (r.code !== 0) return { error: r.stderr.trim() || 'netstat failed' };
      return parseNetstatRoutes(r.stdout);
    },

    async resolverConfig(want, mode) {
      const fromMode = resolverModeCheck(mode);
      if (fromMode) return fromMode;
      const r = await exec('scutil', ['--dns']);
      if (r.code !== 0)
        return check('resolver.config', 'Resolver: the system asks VNet for each zone', 'fail', [
          r.stderr.trim(),
        ]);
      return scutilCheck(r.stdout, want);
    },

    async lookup(name) {
      const r = await exec('dscacheutil', ['-q', 'host', '-a', 'name', name]);
      const addresses = parseDscacheutil(r.stdout);
      return { addresses, error: addresses.length > 0 ? null : r.stderr.trim() || 'no answer' };
    },

    async firewall(dev) {
      const info = await exec('pfctl', ['-s', 'info']);
      const title = 'Firewall: new connections on the VNet interface are let in';
      if (info.code !== 0)
        return check('firewall', title, 'skip', ['pfctl -s info failed (pf can be read as root only)']);
      if (!pfEnabled(info.stdout)) return check('firewall', title, 'ok', ['pf is disabled']);
      const rules = await exec('pfctl', ['-s', 'rules']);
      if (rules.code !== 0) return check('firewall', title, 'skip', ['pfctl -s rules failed']);
      return firewallCheck([['pf', evalPf(rules.stdout, dev)]], dev);
    },

    // The UDP filter is Linux-only so far (a pf anchor on macOS is not built).
    udpFilter: () => Promise.resolve(null),
  };
}
