// The agent drives the daemon, for real: the root daemon and the headless agent as two processes in a
// namespace this test makes, a TOML config, a real tun, getent and curl. Covers the config reload,
// the agent's death and return, and what the daemon socket does with strangers and garbage.
// Needs root (skips on a laptop, must run under CI=true).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Lines } from '../helpers/lines';
import { NetNs } from '../helpers/netns';
import { requireNetns } from '../helpers/privileges';
import { directHelloConfig, VNetStack } from '../helpers/vnet-stack';

const FIXTURES = join(__dirname, 'fixtures', 'vnet');

const config = (apps: string): string => directHelloConfig(apps);

const EXTRA_APP = `
[[app]]
name = "second.corp.test"
target = "127.0.0.1:8081"
ports = [80]
`;

/** What our configuration leaves in the namespace: addresses and routes of the VNet ranges, the resolver. */
async function ours(ns: NetNs): Promise<{ links: string; routes: string; resolv: string }> {
  const links = (await ns.run('ip', ['-o', 'link', 'show'])).stdout;
  const routes =
    (await ns.run('ip', ['route', 'show'])).stdout + (await ns.run('ip', ['-6', 'route', 'show'])).stdout;
  const resolv = (await ns.run('cat', ['/etc/resolv.conf'])).stdout;
  return {
    links: links
      .split('\n')
      .filter((l) => / kvn/.test(l))
      .join('\n'),
    routes: routes
      .split('\n')
      .filter((l) => /^100\.64|^fd/.test(l))
      .join('\n'),
    resolv: resolv
      .split('\n')
      .filter((l) => /keyvnet|100\.64\.0\.2/i.test(l))
      .join('\n'),
  };
}

describe('agent and daemon: VNet driven by the user agent (root)', function () {
  this.timeout(180_000);
  let ns: NetNs;
  let stack: VNetStack;

  before(async function () {
    requireNetns(this, 'agent + daemon end-to-end');
    ns = await NetNs.create('agent');
    for (const [port, page] of [
      ['8080', 'hello from behind VNet'],
      ['8081', 'second app'],
    ]) {
      const server = ns.spawnNode(join(FIXTURES, 'http-server.ts'), ['127.0.0.1', port, page]);
      await new Lines(server).next(/^LISTENING/);
    }
    stack = await VNetStack.start(ns, { config: config(''), tunName: 'kvna0' });
  });

  after(async () => {
    await stack?.stop();
    await ns?.delete();
  });

  it('answers the config’s app by name (getent) and carries curl to it', async () => {
    const v4 = await stack.appAddress('hello.corp.test');
    const hosts = await ns.run('getent', ['ahostsv4', 'hello.corp.test']);
    expect(hosts.stdout.split(/\s+/)[0]).to.equal(v4);
    const page = await ns.run('curl', ['-sS', '-m', '10', 'http://hello.corp.test/']);
    expect(page.stdout.trim()).to.equal('hello from behind VNet');
    await stack.agentLines.next(/^event: connection hello\.corp\.test:80 via direct/);
  });

  it('a name in the zone that is no app is NXDOMAIN, and the agent hears of it', async () => {
    const r = await ns.run('getent', ['hosts', 'nothere.corp.test']).catch((e: { code?: number }) => e);
    expect((r as { code?: number }).code).to.equal(2);
  });

  it('an edit that adds an app takes effect without restarting either process', async () => {
    const daemonPid = stack.daemon!.pid;
    const agentPid = stack.agent!.pid;
    stack.agentLines.skipAll();
    stack.writeConfig(config(EXTRA_APP));
    await stack.agentLines.next(/^config: .*\(2 apps, 1 zone\)/);
    await stack.agentLines.next(/^app: second\.corp\.test /);
    const page = await ns.run('curl', ['-sS', '-m', '10', 'http://second.corp.test/']);
    expect(page.stdout.trim()).to.equal('second app');
    // The first app still works, and nobody restarted.
    expect((await ns.run('curl', ['-sS', '-m', '10', 'http://hello.corp.test/'])).stdout.trim()).to.equal(
      'hello from behind VNet',
    );
    expect(stack.daemon!.pid).to.equal(daemonPid);
    expect(stack.agent!.pid).to.equal(agentPid);
    expect(stack.agent!.exitCode).to.equal(null);
  });

  it('an invalid edit is reported with its line and field and changes nothing', async () => {
    stack.agentLines.skipAll();
    stack.writeConfig(config(EXTRA_APP).replace('ports = [80]\n', 'ports = ["90-80"]\n'));
    const m = await stack.agentLines.next(/^config error: (.*)$/);
    expect(m[1]).to.match(/config\.toml:\d+: app\[0\]\.ports\[0\]: /);
    expect(m[1]).to.include('90-80');
    // The running config stays: both apps still answer.
    expect((await ns.run('curl', ['-sS', '-m', '10', 'http://second.corp.test/'])).stdout.trim()).to.equal(
      'second app',
    );
    stack.writeConfig(config(EXTRA_APP));
    await stack.agentLines.next(/^config: /);
  });

  describe('the daemon socket with other peers', () => {
    const rawConnect = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect(stack.socketPath);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    /** Resolves when the daemon closes the socket (with what it sent before), or rejects after `ms`. */
    const closedByDaemon = (s: Socket, ms = 20_000): Promise<string> =>
      new Promise((resolve, reject) => {
        let got = '';
        const timer = setTimeout(() => reject(new Error('the daemon kept the connection open')), ms);
        s.on('data', (d) => (got += d.toString()));
        s.on('error', () => {});
        s.on('close', () => {
          clearTimeout(timer);
          resolve(got);
        });
      });
    const stillServing = async (): Promise<void> => {
      const page = await ns.run('curl', ['-sS', '-m', '10', 'http://hello.corp.test/']);
      expect(page.stdout.trim()).to.equal('hello from behind VNet');
    };

    it('refuses a peer of another uid before reading a byte', async () => {
      const script = `const s=require('net').connect(process.argv[1]);let got='';s.on('data',d=>got+=d);s.on('error',e=>{if(!['EPIPE','ECONNRESET'].includes(e.code))console.log('ERROR '+e.code);});s.on('connect',()=>s.write('Content-Length: 2\\r\\n\\r\\n{}'));s.on('close',()=>console.log('CLOSED '+JSON.stringify(got)));setTimeout(()=>{console.log('OPEN');process.exit(0)},15000);`;
      const child = spawn(process.execPath, ['-e', script, stack.socketPath], { uid: 65534, gid: 65534 });
      const lines = new Lines(child);
      const m = await lines.next(/^(CLOSED|OPEN|ERROR)(.*)$/);
      expect(m[1], m[0]).to.equal('CLOSED');
      expect(m[2].trim()).to.equal('""');
      await stack.daemonLines.nextErr(/refused pid \d+ of uid 65534/);
      await stillServing();
    });

    it('closes a peer that sends garbage', async () => {
      const s = await rawConnect();
      const closed = closedByDaemon(s);
      s.write('this is not a frame\r\n\r\n');
      await closed;
      await stillServing();
    });

    it('closes a peer that announces an oversized frame, before buffering it', async () => {
      const s = await rawConnect();
      const closed = closedByDaemon(s);
      s.write(`Content-Length: ${64 * 1024 * 1024}\r\n\r\n{"jsonrpc":"2.0"`);
      await closed;
      await stillServing();
    });

    it('closes a half-open peer that never says hello', async () => {
      const s = await rawConnect();
      await closedByDaemon(s);
      await stack.daemonLines.nextErr(/closed before hello: no hello within/);
      await stillServing();
    });

    it('answers a second agent with a clear error naming the first, and keeps the first', async () => {
      const second = ns.spawnNode(join(__dirname, '..', '..', 'app', 'main.ts'), [
        '--headless',
        '--config',
        stack.configPath,
        '--daemon-socket',
        stack.socketPath,
        '--ssh-agent-socket',
        'none',
      ]);
      const lines = new Lines(second);
      const m = await lines.next(/^daemon: unavailable \((.*)\)$/);
      expect(m[1]).to.match(/another KeyVNet agent is already connected \(pid \d+\)/);
      second.kill('SIGTERM');
      await stillServing();
    });
  });

  describe('the agent and the daemon come and go', () => {
    it('when the agent is killed, VNet is taken down; when it comes back, VNet is back', async () => {
      const v4 = await stack.appAddress('hello.corp.test');
      expect((await ours(ns)).routes).to.include('100.64.0.0/10');
      stack.daemonLines.skipAll();
      stack.agent!.kill('SIGKILL');
      // The daemon notices (socket closed, or pings unanswered) and undoes its configuration.
      await waitFor(async () => {
        const o = await ours(ns);
        return o.routes === '' && o.links === '' && o.resolv === '';
      });
      // Without the agent there is no VNet: the name does not resolve through us.
      await stack.startAgent();
      await stack.agentLines.next(/^vnet: up /);
      expect(await stack.appAddress('hello.corp.test')).to.equal(v4);
      const page = await ns.run('curl', ['-sS', '-m', '10', 'http://hello.corp.test/']);
      expect(page.stdout.trim()).to.equal('hello from behind VNet');
    });

    it('the agent reconnects by itself when the daemon restarts', async () => {
      stack.agentLines.skipAll();
      stack.daemon!.kill('SIGTERM');
      await stack.agentLines.next(/^daemon: connecting/);
      await stack.startDaemon();
      await stack.agentLines.next(/^vnet: up /);
      const page = await ns.run('curl', ['-sS', '-m', '10', 'http://hello.corp.test/']);
      expect(page.stdout.trim()).to.equal('hello from behind VNet');
    });

    it('SIGTERM to the agent takes VNet down and leaves nothing configured', async () => {
      stack.agent!.kill('SIGTERM');
      await stack.agentLines.next(/^KeyVNet agent stopped/);
      const o = await ours(ns);
      expect(o).to.deep.equal({ links: '', routes: '', resolv: '' });
    });
  });
});

/** Polls `cond` until true; rejects after `ms` (a hang guard, not a timing assertion). */
async function waitFor(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
