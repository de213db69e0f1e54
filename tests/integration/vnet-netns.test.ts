// VNet end to end, for real, inside a network namespace this test creates and deletes: a real tun,
// the daemon and the headless agent started as their own processes, real resolvers and clients (getent, curl, dig, ping) and the
// kernel's TCP stack. Needs root (skips on a laptop, must run under CI=true).
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetNs } from '../helpers/netns';
import { requireNetns } from '../helpers/privileges';
import { directHelloConfig, VNetStack } from '../helpers/vnet-stack';
import type { VNetStatus } from '../../ipc/messages';

const FIXTURES = join(__dirname, 'fixtures', 'vnet');
/** The user's config of these tests: one zone reached directly, one app in it. */
const CONFIG = directHelloConfig();
// The namespace's resolver before VNet: a stand-in upstream on loopback (started where a test needs it).
const UPSTREAM = '127.0.0.1';
const ORIGINAL_RESOLV = `# the namespace resolver before VNet\nnameserver ${UPSTREAM}\noptions timeout:1 attempts:1\n`;

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

/** Runs a command in the namespace and returns its exit code instead of rejecting on non-zero. */
async function runRc(
  ns: NetNs,
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await ns.run(cmd, args);
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? '') };
  }
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
    // The UDP filter (udp-filter.linux.ts): a chain and a jump in each family's filter table.
    iptables: (await ns.run('iptables', ['-w', '5', '-S'])).stdout,
    ip6tables: (await ns.run('ip6tables', ['-w', '5', '-S'])).stdout,
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
        upstreams: [UPSTREAM],
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
      // UDP to the ranges is refused in OUTPUT, but for DNS to our own address.
      expect((await ns.run('iptables', ['-w', '5', '-S'])).stdout.split('\n')).to.include.members([
        '-N KEYVNET-UDP',
        '-A OUTPUT -j KEYVNET-UDP',
        '-A KEYVNET-UDP -d 100.64.0.2/32 -p udp -m udp --dport 53 -j RETURN',
        '-A KEYVNET-UDP -d 100.64.0.0/10 -p udp -j DROP',
      ]);
      expect((await ns.run('ip6tables', ['-w', '5', '-S'])).stdout.split('\n')).to.include.members([
        '-N KEYVNET-UDP',
        '-A OUTPUT -j KEYVNET-UDP',
        '-A KEYVNET-UDP -d fd00:6b76:6e00::2/128 -p udp -m udp --dport 53 -j RETURN',
        '-A KEYVNET-UDP -d fd00:6b76:6e00::/96 -p udp -j DROP',
      ]);
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
  describe('daemon driven by the agent, end to end (real tun, engine, direct dialer, real clients)', () => {
    const PAGE = 'hello from behind VNet';
    let beforeDaemon: Record<string, string>;
    let stack: VNetStack | null = null;
    let info: VNetStatus;
    let app: { v4: string; v6: string | null };

    /** The daemon and the headless agent with CONFIG; resolves once VNet is up, with its status. */
    const startStack = async (): Promise<VNetStack> => {
      const st = new VNetStack(ns, {
        config: CONFIG,
        resolv: ORIGINAL_RESOLV,
        tunName: 'kvnt0',
        stateDir: join(stateRoot, 'daemon'),
      });
      await st.startDaemon();
      await st.startAgent();
      await st.agentLines.next(/^vnet: up /);
      info = await st.status();
      app = info.apps['hello.corp.test'];
      return st;
    };
    /** SIGTERM to the agent (VNet goes down with it), then to the daemon; both exit 0. */
    const stopStack = async (st: VNetStack): Promise<void> => {
      st.agent!.kill('SIGTERM');
      expect(await exited(st.agent!)).to.equal(0);
      st.daemon!.kill('SIGTERM');
      expect(await exited(st.daemon!)).to.equal(0);
    };

    before(async () => {
      const server = ns.spawnNode(join(FIXTURES, 'http-server.ts'), ['127.0.0.1', '8080', PAGE]);
      await waitForLine(server, /^LISTENING/);
      const upstream = ns.spawnNode(join(FIXTURES, 'dns-upstream.ts'), [UPSTREAM, '53', '198.51.100.7']);
      await waitForLine(upstream, /^LISTENING/);
      mkdirSync(stateRoot, { recursive: true });
      beforeDaemon = await snapshot(ns);
      stack = await startStack();
    });

    after(async () => {
      // ns.delete() (outer after) kills what is left if a test failed before the stop test.
      stack?.agent?.kill('SIGKILL');
      stack?.daemon?.kill('SIGKILL');
    });

    it('is up with the tun, IPv4+IPv6 and the namespace resolver pointed at it', () => {
      expect(info.state).to.equal('up');
      expect(info.tun).to.equal('kvnt0');
      expect(info.resolver).to.equal('netns-resolv-conf');
      expect(info.dns).to.have.length(2);
      expect(app.v4).to.match(/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./);
      expect(app.v6).to.be.a('string');
    });

    it('getent resolves the app to its virtual IPv4 (and hosts to one of its addresses)', async () => {
      const v4 = await ns.run('getent', ['ahostsv4', 'hello.corp.test']);
      expect(v4.stdout.split(/\s+/)[0]).to.equal(app.v4);
      const any = await ns.run('getent', ['hosts', 'hello.corp.test']);
      expect([app.v4, app.v6]).to.include(any.stdout.split(/\s+/)[0]);
    });

    it('answers AAAA (getent ahostsv6 and dig)', async () => {
      const v6 = await ns.run('getent', ['ahostsv6', 'hello.corp.test']);
      expect(v6.stdout.split(/\s+/)[0]).to.equal(app.v6);
      const dig = await ns.run('dig', [
        '+short',
        '+time=2',
        '+tries=1',
        'AAAA',
        `@${info.dns[0]}`,
        'hello.corp.test',
      ]);
      expect(dig.stdout.trim()).to.equal(app.v6);
    });

    it('curl reaches the app through the tun and the direct dialer', async () => {
      const r = await ns.run('curl', ['-sS', '--max-time', '20', 'http://hello.corp.test/']);
      expect(r.stdout).to.equal(`${PAGE}\n`);
      const v6 = await ns.run('curl', ['-sS', '-6', '--max-time', '20', 'http://hello.corp.test/']);
      expect(v6.stdout).to.equal(`${PAGE}\n`);
    });

    it('an unknown name in the zone is NXDOMAIN', async () => {
      const dig = await ns.run('dig', ['+time=2', '+tries=1', `@${info.dns[0]}`, 'nope.corp.test']);
      expect(dig.stdout).to.match(/status: NXDOMAIN/);
      const g = await runRc(ns, 'getent', ['hosts', 'nope.corp.test']);
      expect(g.code).to.equal(2); // getent(1): key not found
    });

    it('names outside the zones go to the original upstream (kept from the old resolv.conf)', async () => {
      const r = await ns.run('getent', ['ahostsv4', 'www.example.org']);
      expect(r.stdout.split(/\s+/)[0]).to.equal('198.51.100.7');
    });

    it('a disallowed port is refused at once (curl exit 7), not left to time out', async () => {
      // --max-time is only a hang guard: a timeout would be exit 28.
      const r = await runRc(ns, 'curl', ['-sS', '-4', '--max-time', '20', 'http://hello.corp.test:81/']);
      expect(r.code, r.stderr).to.equal(7);
      expect(r.stderr).to.match(/Couldn't connect|Connection refused/);
    });

    it('ping of the app address answers (IPv4 and IPv6)', async () => {
      expect((await runRc(ns, 'ping', ['-c1', '-W2', app.v4])).code).to.equal(0);
      expect((await runRc(ns, 'ping', ['-6', '-c1', '-W2', app.v6!])).code).to.equal(0);
    });

    it('after SIGTERM nothing of ours is left: tun, addresses, routes, resolv.conf', async () => {
      await stopStack(stack!);
      stack = null;
      expect(await snapshot(ns)).to.deep.equal(beforeDaemon);
      expect(readFileSync(`/etc/netns/${ns.name}/resolv.conf`, 'utf8')).to.equal(ORIGINAL_RESOLV);
    });

    it('after kill -9 of the daemon, its next start cleans the leftovers, the agent reconnects, and it works', async () => {
      stack = await startStack();
      stack.agentLines.skipAll();
      stack.daemon!.kill('SIGKILL');
      await exited(stack.daemon!);
      // The crash left the resolver pointed at a dead daemon (the tun went with its fd).
      expect(readFileSync(`/etc/netns/${ns.name}/resolv.conf`, 'utf8')).to.match(/^# managed by KeyVNet/);
      await stack.startDaemon();
      await stack.agentLines.next(/^vnet: up /);
      const r = await ns.run('curl', ['-sS', '--max-time', '20', 'http://hello.corp.test/']);
      expect(r.stdout).to.equal(`${PAGE}\n`);
      await stopStack(stack);
      stack = null;
      expect(await snapshot(ns)).to.deep.equal(beforeDaemon);
      expect(readFileSync(`/etc/netns/${ns.name}/resolv.conf`, 'utf8')).to.equal(ORIGINAL_RESOLV);
    });

    it('a bad config file is refused by the agent with the line and field named, changing nothing', async () => {
      const st = new VNetStack(ns, {
        config: CONFIG.replace('target = "127.0.0.1:8080"', 'target = "h:0"'),
        resolv: ORIGINAL_RESOLV,
        stateDir: join(stateRoot, 'daemon'),
      });
      try {
        await st.startDaemon();
        await st.startAgent();
        // Printed at start, before "daemon: connected" (which startAgent waited for).
        const line = st.agentLines.all.find((l) => l.startsWith('config error: '));
        expect(line).to.match(/config\.toml:10: app\[0\]\.target: "h:0": port 0 is outside 1-65535/);
        await st.agentLines.next(/^vnet: down$/);
        expect(await snapshot(ns)).to.deep.equal(beforeDaemon);
        expect((await st.status()).state).to.equal('down');
      } finally {
        st.agent?.kill('SIGTERM');
        st.daemon?.kill('SIGTERM');
        await exited(st.agent!).catch(() => null);
        await exited(st.daemon!).catch(() => null);
      }
    });
  });
});

describe('VNet in a network namespace with IPv6 disabled (root)', function () {
  this.timeout(120_000);
  let ns: NetNs;
  let stateRoot: string;

  before(async function () {
    requireNetns(this, 'VNet netns IPv4-only');
    ns = await NetNs.create('vnetv4');
    // net.* sysctls are per namespace: this does not touch the host.
    await ns.run('sysctl', [
      '-q',
      '-w',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]);
    mkdirSync(`/etc/netns/${ns.name}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns.name}/resolv.conf`, ORIGINAL_RESOLV);
    stateRoot = `/run/keyvnet-test-${ns.name}`;
  });

  after(async () => {
    await ns?.delete();
    if (ns) rmSync(`/etc/netns/${ns.name}`, { recursive: true, force: true });
    try {
      rmdirSync('/etc/netns');
    } catch {
      /* not empty or absent */
    }
    if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
  });

  it('runs IPv4-only without error: no AAAA, curl works, stop leaves nothing', async () => {
    const server = ns.spawnNode(join(FIXTURES, 'http-server.ts'), ['127.0.0.1', '8080', 'v4 only']);
    await waitForLine(server, /^LISTENING/);
    mkdirSync(stateRoot, { recursive: true });
    const before = await snapshot(ns);
    const stack = new VNetStack(ns, {
      config: CONFIG,
      resolv: ORIGINAL_RESOLV,
      stateDir: join(stateRoot, 'daemon'),
    });
    await stack.startDaemon();
    await stack.startAgent();
    await stack.agentLines.next(/^vnet: up /);
    const info = await stack.status();
    expect(info.ipv6Range).to.equal(null);
    expect(info.dns).to.have.length(1);
    expect(info.apps['hello.corp.test'].v6).to.equal(null);
    const v4 = await ns.run('getent', ['ahostsv4', 'hello.corp.test']);
    expect(v4.stdout.split(/\s+/)[0]).to.equal(info.apps['hello.corp.test'].v4);
    const aaaa = await ns.run('dig', [
      '+short',
      '+time=2',
      '+tries=1',
      'AAAA',
      `@${info.dns[0]}`,
      'hello.corp.test',
    ]);
    expect(aaaa.stdout.trim()).to.equal('');
    expect((await ns.run('curl', ['-sS', '--max-time', '20', 'http://hello.corp.test/'])).stdout).to.equal(
      'v4 only\n',
    );
    stack.agent!.kill('SIGTERM');
    expect(await exited(stack.agent!)).to.equal(0);
    stack.daemon!.kill('SIGTERM');
    expect(await exited(stack.daemon!)).to.equal(0);
    expect(await snapshot(ns)).to.deep.equal(before);
  });
});

describe('VNet in a network namespace without its own resolv.conf (root)', function () {
  this.timeout(120_000);
  let ns: NetNs;
  let stateRoot: string;

  before(async function () {
    requireNetns(this, 'VNet netns without resolv.conf');
    ns = await NetNs.create('vnetnors');
    stateRoot = `/run/keyvnet-test-${ns.name}`;
  });

  after(async () => {
    await ns?.delete();
    if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
  });

  it('never rewrites the host resolv.conf: resolver "none", DNS still answers explicit queries', async () => {
    // Without /etc/netns/NAME/resolv.conf, /etc/resolv.conf inside the namespace IS the host's file.
    const hostBefore = readFileSync('/etc/resolv.conf', 'utf8');
    const mtimeBefore = statSync('/etc/resolv.conf').mtimeMs;
    mkdirSync(stateRoot, { recursive: true });
    const stack = new VNetStack(ns, { config: CONFIG, resolv: null, stateDir: join(stateRoot, 'daemon') });
    await stack.startDaemon();
    await stack.startAgent();
    await stack.agentLines.next(/^vnet: up /);
    const info = await stack.status();
    expect(info.resolver).to.equal('none');
    const a = await ns.run('dig', [
      '+short',
      '+time=2',
      '+tries=1',
      'A',
      `@${info.dns[0]}`,
      'hello.corp.test',
    ]);
    expect(a.stdout.trim()).to.equal(info.apps['hello.corp.test'].v4);
    stack.agent!.kill('SIGTERM');
    expect(await exited(stack.agent!)).to.equal(0);
    stack.daemon!.kill('SIGTERM');
    expect(await exited(stack.daemon!)).to.equal(0);
    expect(readFileSync('/etc/resolv.conf', 'utf8')).to.equal(hostBefore);
    expect(statSync('/etc/resolv.conf').mtimeMs).to.equal(mtimeBefore);
  });
});

describe('VNet engine under load, on a real tun in a namespace (root)', function () {
  this.timeout(240_000);
  let ns: NetNs;
  let engine: ChildProcess;
  let ready: {
    tun: string;
    tun4: string;
    dns4: string;
    apps: Record<string, string>;
    listener: { v4: number };
    relay: { v4: number };
    fake4: string;
  };
  const MB = 1 << 20;

  before(async function () {
    requireNetns(this, 'VNet engine under load');
    ns = await NetNs.create('vnetload');
    const server = ns.spawnNode(join(FIXTURES, 'bulk-server.ts'), ['127.0.0.1', '9000']);
    await waitForLine(server, /^LISTENING/);
    engine = ns.spawnNode(join(FIXTURES, 'engine.ts'), [
      JSON.stringify({
        tun: 'kvnl0',
        mtu: 65535,
        apps: [{ name: 'bulk.corp.test', target: '127.0.0.1:9000' }],
      }),
    ]);
    ready = JSON.parse((await waitForLine(engine, /^READY (.*)$/))[1]) as typeof ready;
  });

  after(async () => {
    await ns?.delete();
  });

  const curl = (path: string, maxTime = 120) =>
    runRc(ns, 'curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{size_download}',
      '--max-time',
      String(maxTime), // a hang guard only
      `http://${ready.apps['bulk.corp.test']}${path}`,
    ]);

  /** Runs a Node one-liner that connects and prints CONNECTED or the error code. */
  const tryConnect = async (where: NetNs, host: string, port: number, local = ''): Promise<string> => {
    const script = `
      const s = require('node:net').connect({ host: '${host}', port: ${port}${local} });
      s.on('connect', () => { console.log('CONNECTED'); s.destroy(); });
      s.on('error', (e) => console.log(e.code));`;
    return (await where.run(process.execPath, ['-e', script])).stdout.trim();
  };

  // The listener is bound to the tun (SO_BINDTODEVICE): a peer that reaches tun4:listener through
  // another interface (here a second namespace routed over a veth pair) is refused.
  it('refuses connections to the listener that arrive through another interface', async () => {
    const peer = await NetNs.create('vnetpeer');
    try {
      await ns.run('ip', [
        'link',
        'add',
        'kvnv0',
        'type',
        'veth',
        'peer',
        'name',
        'kvnv1',
        'netns',
        peer.name,
      ]);
      await ns.run('ip', ['addr', 'add', '10.99.0.1/24', 'dev', 'kvnv0']);
      await ns.run('ip', ['link', 'set', 'kvnv0', 'up']);
      await peer.run('ip', ['addr', 'add', '10.99.0.2/24', 'dev', 'kvnv1']);
      await peer.run('ip', ['link', 'set', 'kvnv1', 'up']);
      await peer.run('ip', ['route', 'add', `${ready.tun4}/32`, 'via', '10.99.0.1']);
      // The route works: the namespace answers ping on tun4 through the veth.
      expect((await runRc(peer, 'ping', ['-c1', '-W5', ready.tun4])).code).to.equal(0);
      expect(await tryConnect(peer, ready.tun4, ready.listener.v4)).to.equal('ECONNREFUSED');
    } finally {
      await peer.delete();
    }
    // On this host, a local process cannot send from a fake source either: binding one is allowed
    // with IP_FREEBIND / ip_nonlocal_bind, but the kernel refuses to route from it (only
    // IP_TRANSPARENT, which needs CAP_NET_ADMIN, could).
    await ns.run('sysctl', ['-q', '-w', 'net.ipv4.ip_nonlocal_bind=1']);
    const local = `, localAddress: '${ready.fake4}', localPort: 1024`;
    expect(await tryConnect(ns, ready.tun4, ready.listener.v4, local)).to.be.oneOf([
      'ENETUNREACH',
      'ECONNREFUSED',
    ]);
    // ...while connections through the tun still work.
    expect((await curl('/bytes/100')).stdout).to.equal('200 100');
  });

  // The byte relay runs in the relay worker: a direct app's connection is handed to the worker's
  // own listener (the SYN rewrite targets its port), not to the engine's.
  it("relays a direct app's bytes in the relay worker, through its own listener", async () => {
    expect(ready.relay.v4).to.be.above(0);
    expect(ready.relay.v4).to.not.equal(ready.listener.v4);
    // While a connection through the VIP is open, list the kernel's sockets on the tun side.
    const script = `
      const s = require('node:net').connect({ host: '${ready.apps['bulk.corp.test']}', port: 80 });
      s.on('connect', () => {
        console.log(require('node:child_process').execFileSync('ss', ['-tnH', 'state', 'established']).toString());
        s.destroy();
      });
      s.on('error', (e) => console.log(e.code));`;
    const out = (await ns.run(process.execPath, ['-e', script])).stdout;
    // ss shows a socket bound to a device as address%device:port.
    const at = (port: number): RegExp => new RegExp(`${ready.tun4.replace(/\./g, '\\.')}(%\\S+)?:${port}\\s`);
    expect(out).to.match(at(ready.relay.v4));
    expect(out).to.not.match(at(ready.listener.v4));
    const before = (await engineStats()).engine as { relaySyns: number };
    expect((await curl('/bytes/100000')).stdout).to.equal('200 100000');
    // The worker wrote the rewritten SYN itself, not the main thread (./syn-offer).
    const after = (await engineStats()).engine as { relaySyns: number };
    expect(after.relaySyns).to.equal(before.relaySyns + 1);
  });

  /** The engine's counters (tun: the reader's, engine: the main thread's). */
  const engineStats = async (): Promise<{ tun: Record<string, number>; engine: object }> => {
    const got = waitForLine(engine, /^STATS (.*)$/);
    engine.stdin?.write('stats\n');
    return JSON.parse((await got)[1]) as { tun: Record<string, number>; engine: object };
  };
  const startFlood = async (): Promise<{ flood: ChildProcess; refused: number }> => {
    const flood = ns.spawnNode(join(FIXTURES, 'udp-flood.ts'), [
      ready.apps['bulk.corp.test'],
      '9999',
      '65000',
    ]);
    const m = await waitForLine(flood, /^FLOODING refused=(\d+)$/);
    return { flood, refused: Number(m[1]) };
  };

  // Head-of-line blocking: a local process flooding an app's virtual IP with 64 KB UDP datagrams
  // once filled the kernel's queue for the tun, so SYNs, DNS and a download's packets were dropped
  // behind it. The UDP filter refuses such datagrams at send: the flood never reaches the tun.
  // Functional outcomes only; bench/vnet.ts measures rates.
  it('a download, a new connection and DNS all complete during a UDP flood from another process', async () => {
    const before = await engineStats();
    const { flood, refused } = await startFlood();
    try {
      expect(refused, 'datagrams refused at send (EPERM)').to.be.above(0);
      const size = 512 * MB;
      const download = curl(`/bytes/${size}`, 200);
      // One try: with the flood refused at send, a query is never lost in the tun's queue.
      const dig = await runRc(ns, 'dig', [
        '+short',
        '+time=5',
        '+tries=1',
        `@${ready.dns4}`,
        'bulk.corp.test',
      ]);
      expect(dig.code, dig.stdout + dig.stderr).to.equal(0);
      expect(dig.stdout.trim()).to.equal(ready.apps['bulk.corp.test']);
      const small = await curl('/bytes/1000', 60);
      expect(small.stdout).to.equal('200 1000');
      const big = await download;
      expect(big.code, big.stderr).to.equal(0);
      expect(big.stdout).to.equal(`200 ${size}`);
    } finally {
      flood.kill('SIGTERM');
    }
    const after = await engineStats();
    console.log(`      engine under flood: ${JSON.stringify(after)}`);
    // Nothing of the flood reached the reader: no slow-path packet was dropped, SYN/DNS or other.
    expect(after.tun.budgetDrops - before.tun.budgetDrops).to.equal(0);
    expect(after.tun.priorityDrops - before.tun.priorityDrops).to.equal(0);
  });

  // Where iptables is missing (the filter is then skipped, with a warning), the flood reaches the tun:
  // the reader keeps reading and drops what is over its slow-path budget, counted, and VNet still works.
  it('without the UDP filter the flood reaches the reader, which drops it over its budget', async () => {
    await ns.run('iptables', ['-w', '5', '-D', 'OUTPUT', '-j', 'KEYVNET-UDP']);
    try {
      const before = await engineStats();
      const { flood, refused } = await startFlood();
      try {
        expect(refused).to.equal(0);
        // The flood runs until the reader has dropped some of it (a hang guard only, no timing).
        let drops = 0;
        for (let i = 0; i < 600 && drops === 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          drops = (await engineStats()).tun.budgetDrops - before.tun.budgetDrops;
        }
        expect(drops).to.be.above(0);
      } finally {
        flood.kill('SIGTERM');
        await exited(flood);
      }
      expect((await curl('/bytes/1000', 60)).stdout).to.equal('200 1000');
    } finally {
      await ns.run('iptables', ['-w', '5', '-I', 'OUTPUT', '-j', 'KEYVNET-UDP']);
    }
  });
});
