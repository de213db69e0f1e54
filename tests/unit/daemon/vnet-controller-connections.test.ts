// vnet/connections on the daemon side: open connections carry their bytes so far (asked from the
// engine at each list, not only at close) and their client process, looked up once per connection
// (not on every list) and forgotten when it closes. The VNet instance and the OS lookup are fakes.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VNetConfig } from '../../../ipc/messages';
import type { TcpEnds } from '../../../systemext/procinfo/socket-owner';
import { DirectDialer, StaticResolver } from '../../../systemext/vnet';
import type { OpenFlow } from '../../../systemext/vnet/engine';
import { VNetController } from '../../../systemext/vnet-controller';
import type { RunningVNet } from '../../../systemext/vnet-instance';

const CONFIG: VNetConfig = { range: '100.64.0.0/10', ipv6: false, mtu: null, zones: ['corp.test'], apps: [] };

describe('daemon: live bytes and client processes of open connections', () => {
  let dir: string;
  let engine: EventEmitter & { openConnections(): OpenFlow[] };
  let open: OpenFlow[];
  let asked: TcpEnds[][];
  let controller: VNetController;
  /** A running VNet around the test's engine (no tun: only its connections matter here). */
  const startVNet = async (): Promise<RunningVNet> =>
    ({
      info: {
        tun: 'kvn0',
        mtu: 1500,
        ipv4Range: CONFIG.range,
        ipv6Range: null,
        dns: [],
        resolver: 'none',
        apps: {},
      },
      engine,
      stats: () => ({ engine: {}, tun: {} }),
      stop: async () => undefined,
      addresses: () => ({}),
    }) as never;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-conns-'));
    open = [];
    asked = [];
    engine = Object.assign(new EventEmitter(), { appsChanged: () => undefined, openConnections: () => open });
    controller = new VNetController(
      { socketDir: join(dir, 'run'), allowUid: 0, stateDir: dir },
      {
        resolver: new StaticResolver(['corp.test'], []),
        dialer: new DirectDialer(),
        log: () => undefined,
        start: startVNet as never,
        socketOwners: async (sockets) => {
          asked.push(sockets);
          return sockets.map((s) => (s.local.port === 50001 ? { pid: 4051, name: 'curl' } : null));
        },
      },
    );
    await controller.configure(CONFIG);
    await controller.up();
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const flow = (id: number, port: number, up: number, down: number): OpenFlow => ({
    id,
    fqdn: 'echo.corp.test',
    port: 7,
    via: 'corp',
    bytesFromClient: up,
    bytesToClient: down,
    client: { address: '10.0.0.5', port },
    app: { address: '100.64.1.1', port: 7 },
  });

  it('lists the bytes so far of open connections and who holds them; asks the OS once per connection', async () => {
    engine.emit('connection', { fqdn: 'echo.corp.test', port: 7, id: 1, via: 'corp' });
    engine.emit('connection', { fqdn: 'echo.corp.test', port: 7, id: 2, via: 'corp' });
    open = [flow(1, 50001, 10, 20), flow(2, 50002, 0, 0)];
    let list = await controller.connections();
    expect(list.map((c) => [c.id, c.bytesUp, c.bytesDown, c.process])).to.deep.equal([
      [1, 10, 20, { pid: 4051, name: 'curl' }],
      [2, 0, 0, undefined],
    ]);
    expect(asked).to.deep.equal([
      [
        { local: { address: '10.0.0.5', port: 50001 }, remote: { address: '100.64.1.1', port: 7 } },
        { local: { address: '10.0.0.5', port: 50002 }, remote: { address: '100.64.1.1', port: 7 } },
      ],
    ]);
    // Later lists: the bytes move on, the OS is not asked again (nor for the one it said nothing of).
    open = [flow(1, 50001, 1000, 2000), flow(2, 50002, 5, 6)];
    list = await controller.connections();
    expect(list.map((c) => [c.id, c.bytesUp, c.bytesDown])).to.deep.equal([
      [1, 1000, 2000],
      [2, 5, 6],
    ]);
    expect(asked).to.have.length(1);
    // Closed: gone from the list with its lookup; a new connection is asked about.
    engine.emit('closed', { fqdn: 'echo.corp.test', port: 7, bytesFromClient: 5, bytesToClient: 6, id: 2 });
    engine.emit('connection', { fqdn: 'echo.corp.test', port: 7, id: 3, via: 'corp' });
    open = [flow(1, 50001, 1000, 2000), flow(3, 50003, 1, 1)];
    list = await controller.connections();
    expect(list.map((c) => c.id)).to.deep.equal([1, 3]);
    expect(asked.map((a) => a.map((s) => s.local.port))).to.deep.equal([[50001, 50002], [50003]]);
  });

  it('a lookup that fails leaves the processes out, and the list still comes', async () => {
    const failing = new VNetController(
      { socketDir: join(dir, 'run2'), allowUid: 0, stateDir: dir },
      {
        resolver: new StaticResolver(['corp.test'], []),
        dialer: new DirectDialer(),
        log: () => undefined,
        start: startVNet as never,
        socketOwners: async () => {
          throw new Error('lsof: not found');
        },
      },
    );
    await failing.configure(CONFIG);
    await failing.up();
    engine.emit('connection', { fqdn: 'echo.corp.test', port: 7, id: 9, via: 'corp' });
    open = [flow(9, 50009, 3, 4)];
    const [c] = await failing.connections();
    expect(c.bytesUp).to.equal(3);
    expect(c.process).to.equal(undefined);
  });
});
