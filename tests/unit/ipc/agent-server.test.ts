// The daemon's socket rules without root: who is served, the hello, one agent, roles, and what the
// agent's departure does to VNet. The VNet instance is a fake (its start and stop are recorded), the
// peers' uids come from a seam; the connections and the protocol are real.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, PROTOCOL_VERSION, type VNetConfig } from '../../../ipc/messages';
import { RpcError, RpcPeer } from '../../../ipc/rpc';
import { AgentServer } from '../../../systemext/agent-server';
import { VNetController } from '../../../systemext/vnet-controller';
import type { RunningVNet } from '../../../systemext/vnet-instance';
import { StaticResolver, DirectDialer } from '../../../systemext/vnet';

const CONFIG: VNetConfig = {
  range: '100.64.0.0/10',
  ipv6: false,
  mtu: null,
  zones: ['corp.test'],
  apps: ['a.corp.test'],
};

class FakeInstances {
  calls: string[] = [];
  appsChanged = 0;
  failNext = false;
  start = async (cfg: { zones: string[] }): Promise<RunningVNet> => {
    this.calls.push(`start ${cfg.zones.join(',')}`);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('tun: Operation not permitted');
    }
    const engine = Object.assign(new EventEmitter(), { appsChanged: () => this.appsChanged++ });
    return {
      info: {
        tun: 'kvn0',
        mtu: 65535,
        ipv4Range: '100.64.0.0/10',
        ipv6Range: null,
        dns: ['100.64.0.2'],
        resolver: 'none',
        apps: {},
      },
      engine: engine as never,
      stats: () => ({ engine: {} as never, tun: {} }),
      stop: async () => {
        this.calls.push('stop');
      },
      addresses: (names: string[]) =>
        Object.fromEntries(names.map((n) => [n, { v4: '100.64.1.1', v6: null }])),
    };
  };
}

describe('daemon socket: AgentServer + VNetController', () => {
  let dir: string;
  let server: AgentServer;
  let controller: VNetController;
  let fake: FakeInstances;
  let uidOf: Map<number, number>;
  const peers: RpcPeer[] = [];
  const logs: string[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-srv-'));
    fake = new FakeInstances();
    logs.length = 0;
    controller = new VNetController(
      { socketDir: join(dir, 'run'), allowUid: 501, stateDir: dir },
      {
        resolver: new StaticResolver(['corp.test'], []),
        dialer: new DirectDialer(),
        log: (l, m) => logs.push(`${l} ${m}`),
        start: fake.start as never,
      },
    );
    // Each client connects from its own local port... but these are Unix sockets: identify clients by order.
    uidOf = new Map();
    let n = 0;
    server = new AgentServer({ socketDir: join(dir, 'run'), allowUid: 501, stateDir: dir }, controller, {
      version: '9.9.9',
      log: (l, m) => logs.push(`${l} ${m}`),
      peerOf: () => ({ uid: uidOf.get(n) ?? 501, pid: 1000 + n++ }),
    });
    await server.listen();
  });

  afterEach(async () => {
    peers.splice(0).forEach((p) => p.close('test over'));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (): Promise<RpcPeer> => {
    const s: Socket = connect(server.socketPath);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
    const p = new RpcPeer(s, { peerName: 'daemon' });
    p.handle('app/resolve', async () => ({ app: null }));
    peers.push(p);
    return p;
  };
  const hello = (p: RpcPeer, role: 'agent' | 'cli', protocol = PROTOCOL_VERSION) =>
    p.request('hello', { protocol, version: '1.0.0', role, pid: 42 });
  const closeOf = (p: RpcPeer): Promise<string> =>
    p.closed ? Promise.resolve(p.closeReason ?? '') : new Promise((resolve) => p.once('close', resolve));

  it('serves the allowed uid: hello names the daemon’s version and pid', async () => {
    const p = await open();
    const r = await hello(p, 'agent');
    expect(r).to.deep.equal({ protocol: PROTOCOL_VERSION, version: '9.9.9', pid: process.pid });
  });

  it('closes a peer of another uid at once, without a word', async () => {
    uidOf.set(0, 502);
    const p = await open();
    await closeOf(p);
    expect(logs.join('\n')).to.match(/refused pid 1000 of uid 502/);
  });

  it('root is served too (e.g. `sudo keyvnet status`)', async () => {
    uidOf.set(0, 0);
    const p = await open();
    expect((await hello(p, 'cli')).version).to.equal('9.9.9');
  });

  it('another protocol version gets a clear error naming both versions, then the connection closes', async () => {
    const p = await open();
    const err = await hello(p, 'agent', PROTOCOL_VERSION + 1).catch((e: RpcError) => e);
    expect((err as RpcError).code).to.equal(ErrorCodes.VersionMismatch);
    expect((err as RpcError).message).to.match(
      /the daemon 9\.9\.9 speaks protocol \d+, this agent 1\.0\.0 speaks \d+/,
    );
    await closeOf(p);
  });

  it('nothing but hello (and ping) before hello', async () => {
    const p = await open();
    const err = await p.request('vnet/status', {}).catch((e: RpcError) => e);
    expect((err as RpcError).code).to.equal(ErrorCodes.NotAllowed);
    expect(await p.request('ping', {})).to.deep.equal({});
  });

  it('a second agent is refused with the first one’s pid; a cli may connect beside it', async () => {
    const first = await open();
    await hello(first, 'agent');
    const second = await open();
    const err = await hello(second, 'agent').catch((e: RpcError) => e);
    expect((err as RpcError).code).to.equal(ErrorCodes.AgentAlreadyConnected);
    expect((err as RpcError).message).to.match(/already connected \(pid 1000\)/);
    const cli = await open();
    await hello(cli, 'cli');
    expect((await cli.request('vnet/status', {})).state).to.equal('down');
  });

  it('a cli may not push a configuration, and may bring VNet up only while an agent is there', async () => {
    const cli = await open();
    await hello(cli, 'cli');
    const e1 = await cli.request('vnet/configure', CONFIG).catch((e: RpcError) => e);
    expect((e1 as RpcError).code).to.equal(ErrorCodes.NotAllowed);
    const e2 = await cli.request('vnet/up', {}).catch((e: RpcError) => e);
    expect((e2 as RpcError).reason).to.equal('no-agent');
  });

  it('up needs a configuration first; then it starts VNet and reports the apps’ addresses', async () => {
    const agent = await open();
    await hello(agent, 'agent');
    const e = await agent.request('vnet/up', {}).catch((x: RpcError) => x);
    expect((e as RpcError).message).to.match(/send vnet\/configure first/);
    await agent.request('vnet/configure', CONFIG);
    const st = await agent.request('vnet/up', {});
    expect(st.state).to.equal('up');
    expect(st.apps).to.deep.equal({ 'a.corp.test': { v4: '100.64.1.1', v6: null } });
  });

  it('a new configuration with the same zones changes apps only: no restart', async () => {
    const agent = await open();
    await hello(agent, 'agent');
    await agent.request('vnet/configure', CONFIG);
    await agent.request('vnet/up', {});
    const r = await agent.request('vnet/configure', { ...CONFIG, apps: ['a.corp.test', 'b.corp.test'] });
    expect(r.restarted).to.equal(false);
    expect(fake.calls).to.deep.equal(['start corp.test']);
    expect(fake.appsChanged).to.equal(1);
    const r2 = await agent.request('vnet/configure', { ...CONFIG, zones: ['corp.test', 'lab.test'] });
    expect(r2.restarted).to.equal(true);
    expect(fake.calls).to.deep.equal(['start corp.test', 'stop', 'start corp.test,lab.test']);
  });

  it('up, down and up sent at once end up, in order (operations are serialised)', async () => {
    const agent = await open();
    await hello(agent, 'agent');
    await agent.request('vnet/configure', CONFIG);
    const [, , last] = await Promise.all([
      agent.request('vnet/up', {}),
      agent.request('vnet/down', {}),
      agent.request('vnet/up', {}),
    ]);
    expect(last.state).to.equal('up');
    expect(fake.calls).to.deep.equal(['start corp.test', 'stop', 'start corp.test']);
  });

  it('a failed start is an error state with the reason, and the next up tries again', async () => {
    const agent = await open();
    await hello(agent, 'agent');
    await agent.request('vnet/configure', CONFIG);
    fake.failNext = true;
    const e = await agent.request('vnet/up', {}).catch((x: RpcError) => x);
    expect((e as RpcError).message).to.match(/Operation not permitted/);
    const st = await agent.request('vnet/status', {});
    expect(st.state).to.equal('error');
    expect(st.error).to.match(/VNet could not start: tun: Operation not permitted/);
    expect((await agent.request('vnet/up', {})).state).to.equal('up');
  });

  it('when the agent goes away, VNet goes down', async () => {
    const agent = await open();
    await hello(agent, 'agent');
    await agent.request('vnet/configure', CONFIG);
    await agent.request('vnet/up', {});
    const down = new Promise<void>((resolve) =>
      controller.on('event', (ev) => {
        if (ev.type === 'vnet-state' && ev.status.state === 'down') resolve();
      }),
    );
    agent.close('agent crashed');
    await down;
    expect(fake.calls).to.deep.equal(['start corp.test', 'stop']);
    expect(controller.status().error).to.match(/the agent disconnected/);
  });

  it('the agent hears VNet events as notifications', async () => {
    const agent = await open();
    const events: string[] = [];
    agent.onNotification('event', (ev) =>
      events.push(ev.type === 'vnet-state' ? `state ${ev.status.state}` : ev.type),
    );
    await hello(agent, 'agent');
    await agent.request('vnet/configure', CONFIG);
    await agent.request('vnet/up', {});
    await agent.request('ping', {}); // notifications sent before this answer have arrived
    expect(events).to.include.members(['state starting', 'state up']);
  });
});
