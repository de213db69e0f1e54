// `keyvnet` against a real daemon (and then the real headless agent) in a namespace this test makes:
// every read command's human and JSON output, and the exit codes. Needs root (skips on a laptop,
// must run under CI=true).
import { expect } from 'chai';
import { join } from 'node:path';
import { Exit } from '../../app/cli/exit-codes';
import { Lines } from '../helpers/lines';
import { NetNs } from '../helpers/netns';
import { requireNetns } from '../helpers/privileges';
import { directHelloConfig, VNetStack } from '../helpers/vnet-stack';
import { keyvnetIn } from './cli-run';

const CONFIG = directHelloConfig().replace('ports = [80]', 'ports = [80]\ndescription = "the test page"');

describe('keyvnet command against a running daemon (root, netns)', function () {
  this.timeout(300_000);
  let ns: NetNs;
  let stack: VNetStack;
  const kv = (...args: string[]) =>
    keyvnetIn(ns, ['--socket', stack.socketPath, '--config', stack.configPath, ...args]);

  before(async function () {
    requireNetns(this, 'keyvnet command against a daemon');
    ns = await NetNs.create('cli');
    const server = ns.spawnNode(join(__dirname, 'fixtures', 'vnet', 'http-server.ts'), [
      '127.0.0.1',
      '8080',
      'hi',
    ]);
    await new Lines(server).next(/^LISTENING/);
    stack = new VNetStack(ns, { config: CONFIG, tunName: 'kvnc0' });
    await stack.startDaemon();
  });

  after(async () => {
    await stack?.stop();
    await ns?.delete();
  });

  describe('daemon only (no agent): VNet is down', () => {
    it('status: human and JSON', async () => {
      const h = await kv('status');
      expect(h.code, h.stderr).to.equal(Exit.Ok);
      expect(h.stdout).to.match(/^KeyVNet daemon \S+ \(pid \d+\) on .*daemon\.sock\nVNet: down for \d+s\n$/);
      const j = await kv('status', '--json');
      expect(j.code).to.equal(Exit.Ok);
      const s = JSON.parse(j.stdout);
      expect(s.daemon).to.include({ running: true, socket: stack.socketPath });
      expect(s.vnet).to.include({ state: 'down', tun: null, connections: 0 });
    });

    it('connections: none', async () => {
      expect((await kv('connections')).stdout).to.equal('No open connections.\n');
      expect(JSON.parse((await kv('connections', '--json')).stdout)).to.deep.equal({ connections: [] });
    });

    it('apps: from the config, without addresses', async () => {
      const h = await kv('apps');
      expect(h.stdout).to.equal(
        'APP              ADDRESS  VIA     TARGET          PORTS  DESCRIPTION\nhello.corp.test  -        direct  127.0.0.1:8080  80     the test page\n',
      );
      expect(JSON.parse((await kv('apps', '--json')).stdout).apps[0]).to.include({ v4: null, via: 'direct' });
    });

    it('up without an agent: exit 7 and what to do', async () => {
      const r = await kv('up');
      expect(r.code).to.equal(Exit.AgentNotRunning);
      expect(r.stderr).to.contain('no KeyVNet agent is running');
      expect(r.stderr).to.contain('keyvnet agent');
    });

    it('down: exit 0, prints the status', async () => {
      const r = await kv('down', '--json');
      expect(r.code).to.equal(Exit.Ok);
      expect(JSON.parse(r.stdout).vnet.state).to.equal('down');
    });
  });

  describe('with the headless agent: VNet is up', () => {
    before(async () => {
      await stack.startAgent();
      await stack.agentLines.next(/^vnet: up /);
    });

    it('status shows the tun, ranges, DNS and zones', async () => {
      const h = await kv('status');
      expect(h.code).to.equal(Exit.Ok);
      expect(h.stdout).to.match(/\nVNet: up for \d+s on kvnc0, MTU \d+\n/);
      expect(h.stdout).to.contain('  zones:       corp.test\n');
      expect(h.stdout).to.contain('  apps:        1\n');
      const s = JSON.parse((await kv('status', '--json')).stdout);
      expect(s.vnet).to.include({ state: 'up', tun: 'kvnc0', ipv4Range: '100.64.0.0/10' });
      expect(s.vnet.zones).to.deep.equal(['corp.test']);
      expect(s.vnet.apps['hello.corp.test'].v4).to.match(/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./);
    });

    it('apps shows the virtual address', async () => {
      const v4 = await stack.appAddress('hello.corp.test');
      expect(JSON.parse((await kv('apps', '--json')).stdout).apps[0]).to.include({
        name: 'hello.corp.test',
        v4,
      });
      expect((await kv('apps')).stdout).to.contain(`hello.corp.test  ${v4}`);
    });

    it('connections lists an open connection with its bytes', async () => {
      // A client that connects and sends nothing (the test server's keep-alive would close an idle
      // connection after its response within seconds; a silent one is kept for its header timeout).
      const client = ns.spawn(process.execPath, [
        '-e',
        "require('net').connect(80,'hello.corp.test',()=>console.log('CONNECTED'));setInterval(()=>{},1e6)",
      ]);
      await new Lines(client).next(/^CONNECTED/);
      const j = JSON.parse((await kv('connections', '--json')).stdout);
      expect(j.connections).to.have.length(1);
      expect(j.connections[0]).to.include({ fqdn: 'hello.corp.test', port: 80, via: 'direct' });
      expect(j.connections[0].bytesUp).to.be.a('number'); // counted as the daemon reports them
      expect(Object.keys(j.connections[0])).to.have.members([
        'id',
        'fqdn',
        'port',
        'openedAt',
        'bytesUp',
        'bytesDown',
        'via',
        'process',
      ]);
      // The client process, found by the daemon (root) through /proc.
      expect(j.connections[0].process.pid).to.equal(client.pid);
      const h = await kv('connections');
      expect(h.stdout).to.match(
        /^ID\s+APP\s+VIA\s+AGE\s+UP\s+DOWN\s+PROCESS\n\d+\s+hello\.corp\.test:80\s+direct\s+\d+s\s+\d+ B\s+\d+ B\s+\S+ \(\d+\)\n/,
      );
      client.kill('SIGKILL');
    });

    it('down turns VNet off, up turns it on again', async () => {
      const d = await kv('down');
      expect(d.code).to.equal(Exit.Ok);
      expect(d.stdout).to.contain('\nVNet: down');
      const u = await kv('up', '--json');
      expect(u.code, u.stderr).to.equal(Exit.Ok);
      expect(JSON.parse(u.stdout).vnet.state).to.equal('up');
    });
  });

  describe('after the daemon stops', () => {
    before(async () => {
      await stack.stop();
    });

    it('every daemon command exits 3; status --json says running: false', async () => {
      for (const c of ['status', 'connections', 'up', 'down'])
        expect((await kv(c)).code, c).to.equal(Exit.DaemonNotRunning);
      const j = await kv('status', '--json');
      expect(JSON.parse(j.stdout).daemon).to.include({ running: false, socket: stack.socketPath });
    });
  });
});
