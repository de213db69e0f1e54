// VNet end to end, for real, inside a network namespace this test creates and deletes: a real tun,
// the daemon started as its own process, real resolvers and clients (getent, curl, dig, ping) and the
// kernel's TCP stack. Needs root (skips on a laptop, must run under CI=true).
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetNs } from '../helpers/netns';
import { requireNetns } from '../helpers/privileges';

const FIXTURES = join(__dirname, 'fixtures', 'vnet');
const ORIGINAL_RESOLV =
  '# the namespace resolver before VNet\nnameserver 192.0.2.53\noptions timeout:1 attempts:1\n';

/** Resolves with the first stdout line matching `re`; rejects on exit or after `ms` (a hang guard only). */
function waitForLine(child: ChildProcess, re: RegExp, ms = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(
      () => finish(new Error(`no line matching ${re} within ${ms} ms; stderr: ${err}`)),
      ms,
    );
    const onOut = (d: Buffer): void => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const m = re.exec(l);
        if (m) return finish(null, m);
      }
    };
    const onErr = (d: Buffer): void => {
      err = (err + d.toString()).slice(-4000);
    };
    const onExit = (code: number | null): void =>
      finish(new Error(`exited (${code}) before ${re}; stderr: ${err}`));
    const finish = (e: Error | null, m?: RegExpExecArray): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(m!);
    };
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess, ms = 20_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** What our configuration could change in the namespace: links, addresses, routes, resolv.conf. */
async function snapshot(ns: NetNs): Promise<Record<string, string>> {
  const strip = (s: string) =>
    s
      .split('\n')
      .map((l) => l.replace(/\s+valid_lft.*$/, '').trim())
      .filter(Boolean)
      .join('\n');
  return {
    links: strip((await ns.run('ip', ['-o', 'link', 'show'])).stdout).replace(/state \S+ /g, ''),
    addrs: strip((await ns.run('ip', ['-o', 'addr', 'show'])).stdout),
    routes4: strip((await ns.run('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout),
    // The kernel adds ff00::/8 to a link once IPv6 is initialised on it; it is not ours and goes with the link.
    routes6: strip((await ns.run('ip', ['-6', 'route', 'show', 'table', 'all'])).stdout)
      .split('\n')
      .filter((l) => !l.startsWith('multicast ff00::/8'))
      .join('\n'),
    resolv: readFileSync(`/etc/netns/${ns.name}/resolv.conf`, 'utf8'),
  };
}

describe('VNet in a network namespace (root)', function () {
  this.timeout(120_000);
  let ns: NetNs;
  let stateRoot: string;

  before(async function () {
    requireNetns(this, 'VNet netns end-to-end');
    ns = await NetNs.create('vnet');
    // `ip netns exec` bind-mounts this file over /etc/resolv.conf for everything run in the namespace
    // (ip-netns(8)), so the daemon's resolver change stays inside it.
    mkdirSync(`/etc/netns/${ns.name}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns.name}/resolv.conf`, ORIGINAL_RESOLV);
    stateRoot = `/run/keyvnet-test-${ns.name}`;
  });

  after(async () => {
    await ns?.delete();
    if (ns) rmSync(`/etc/netns/${ns.name}`, { recursive: true, force: true });
    try {
      rmdirSync('/etc/netns'); // only when empty: other namespaces may have files there
    } catch {
      /* not empty or absent */
    }
    if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
  });

  describe('OS configuration alone (persistent tuntap, no engine)', () => {
    const tun = 'kvnos0';
    let before: Record<string, string>;

    it('configures address, MTU, routes and resolv.conf, and undoes all of it on stop', async () => {
      await ns.run('ip', ['tuntap', 'add', 'mode', 'tun', 'name', tun]);
      // A persistent device keeps its MTU and up state after we stop (a real tun vanishes with our fd):
      // set them first so the comparison covers what stop must undo: addresses, routes, resolv.conf.
      await ns.run('ip', ['link', 'set', 'dev', tun, 'mtu', '9000', 'up']);
      before = await snapshot(ns);
      const stateDir = join(stateRoot, 'os');
      const child = ns.spawnNode(join(FIXTURES, 'osconfig-try.ts'), [stateDir, 'up', tun]);
      const m = await waitForLine(child, /^CONFIGURED (.*)$/);
      expect(JSON.parse(m[1])).to.deep.include({
        ipv6: true,
        resolver: 'netns-resolv-conf',
        upstreams: ['192.0.2.53'],
      });
      const addr = (await ns.run('ip', ['addr', 'show', 'dev', tun])).stdout;
      expect(addr).to.match(/mtu 9000/);
      expect(addr).to.contain('inet 100.64.0.1/10');
      expect(addr).to.contain('inet6 fd00:6b76:6e00::1/96');
      expect((await ns.run('ip', ['-4', 'route'])).stdout).to.contain(`100.64.0.0/10 dev ${tun}`);
      expect((await ns.run('ip', ['-6', 'route'])).stdout).to.contain(`fd00:6b76:6e00::/96 dev ${tun}`);
      const resolv = (await ns.run('cat', ['/etc/resolv.conf'])).stdout;
      expect(resolv.split('\n')[0]).to.equal('# managed by KeyVNet: do not edit');
      expect(resolv).to.contain('nameserver 100.64.0.2\n');
      child.kill('SIGTERM');
      await waitForLine(child, /^DOWN$/);
      expect(await snapshot(ns)).to.deep.equal(before);
    });

    it('a crashed run is undone at the next start (state file + resolv.conf marker)', async () => {
      const stateDir = join(stateRoot, 'os');
      const crash = ns.spawnNode(join(FIXTURES, 'osconfig-try.ts'), [stateDir, 'up-crash', tun]);
      await waitForLine(crash, /^CONFIGURED /);
      await exited(crash);
      expect(readFileSync(`/etc/netns/${ns.name}/resolv.conf`, 'utf8')).to.not.equal(ORIGINAL_RESOLV);
      const clean = ns.spawnNode(join(FIXTURES, 'osconfig-try.ts'), [stateDir, 'cleanup', tun]);
      await waitForLine(clean, /^CLEANED$/);
      expect(await snapshot(ns)).to.deep.equal(before);
      await ns.run('ip', ['tuntap', 'del', 'mode', 'tun', 'name', tun]);
    });
  });
});
