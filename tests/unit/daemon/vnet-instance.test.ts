// startVNetInstance's wiring without root: an in-memory tun, a recording OS configurator, the engine's
// listener left unbound. Checks the order (leftovers, tun, OS, engine), what the OS is asked to do,
// that DNS answers through the tun, and that stop and a failed start undo everything.
import { expect } from 'chai';
import * as dnsPacket from 'dns-packet';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMtu } from '../../../systemext/daemon-config';
import {
  startVNetInstance,
  type DaemonDeps,
  type VNetInstanceConfig,
} from '../../../systemext/vnet-instance';
import { StaticResolver } from '../../../systemext/vnet';
import { ipToBytes } from '../../../systemext/net/addr';
import { buildUdp } from '../../../systemext/net/build';
import { parseIp, parseUdp } from '../../../systemext/net/packet';
import type { OsConfigRequest, OsConfigResult, OsConfigurator } from '../../../systemext/osconfig';
import { TunClosedError, type TunDevice } from '../../../systemext/tun/device';
import { createMemoryTunPair } from '../../../systemext/tun/memory';

class RecordingOs implements OsConfigurator {
  calls: string[] = [];
  req: OsConfigRequest | null = null;
  constructor(private readonly opts: { failUp?: boolean; ipv6?: boolean } = {}) {}
  async cleanupLeftovers(): Promise<void> {
    this.calls.push('cleanup');
  }
  ipv6Available(): boolean {
    return this.opts.ipv6 ?? true;
  }
  async up(req: OsConfigRequest): Promise<OsConfigResult> {
    this.calls.push('up');
    this.req = req;
    if (this.opts.failUp) throw new Error('ip: RTNETLINK answers: Operation not permitted');
    return { ipv6: req.ipv6Range !== null, resolver: 'none', upstreams: [], warnings: [] };
  }
  async down(): Promise<void> {
    this.calls.push('down');
  }
}

describe('VNet instance wiring (in-memory tun, no root)', () => {
  let dir: string;
  let kernel: TunDevice;
  let engineSide: TunDevice;
  const logs: string[] = [];

  const deps = (os: OsConfigurator): DaemonDeps => ({
    os,
    resolver: new StaticResolver(
      ['corp.test'],
      [{ fqdn: 'hello.corp.test', target: { host: '127.0.0.1', port: 8080 }, allowedPorts: [80] }],
    ),
    log: (level, msg) => logs.push(`${level} ${msg}`),
    openTun: async (o) => {
      [engineSide, kernel] = createMemoryTunPair(o.mtu, [o.name ?? 'mem0', 'kernel0'], o.fastPath);
      return Object.assign(engineSide, { stats: () => ({}) }) as Awaited<
        ReturnType<NonNullable<DaemonDeps['openTun']>>
      >;
    },
    engineOptions: { listener: { bind: false, port: 40000 }, upstreams: [], sweepIntervalMs: 0 },
  });
  const config = (): VNetInstanceConfig => ({
    range: '100.64.0.0/10',
    ipv6: true,
    mtu: defaultMtu(process.platform),
    zones: ['corp.test'],
    appNames: ['hello.corp.test'],
    stateDir: dir,
    tunName: 'kvnu0',
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-daemon-'));
    logs.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('cleans leftovers, then configures the OS for the tun it opened, and answers DNS through it', async () => {
    const os = new RecordingOs();
    const d = await startVNetInstance(config(), deps(os));
    try {
      expect(os.calls).to.deep.equal(['cleanup', 'up']);
      expect(os.req).to.deep.include({
        tunName: 'kvnu0',
        mtu: defaultMtu(process.platform),
        ipv4Range: '100.64.0.0/10',
        zones: ['corp.test'],
      });
      expect(os.req!.ipv6Range).to.match(/^fd[0-9a-f:]+::\/96$/);
      expect(os.req!.dnsAddresses).to.have.length(2);
      expect(os.req!.dnsAddresses[0]).to.equal('100.64.0.2');
      const app = d.info.apps['hello.corp.test'];

      // A DNS query written by "the kernel" gets the app's address back through the tun.
      const query = dnsPacket.encode({
        type: 'query',
        id: 7,
        questions: [{ type: 'A', name: 'hello.corp.test' }],
      });
      kernel.write(
        buildUdp({
          src: ipToBytes('100.64.0.1'),
          dst: ipToBytes('100.64.0.2'),
          sport: 5353,
          dport: 53,
          payload: query,
        }),
      );
      const [reply] = await kernel.read();
      const ip = parseIp(reply);
      if (typeof ip === 'string') throw new Error(ip);
      const udp = parseUdp(reply, ip);
      if (typeof udp === 'string') throw new Error(udp);
      const answer = dnsPacket.decode(reply.subarray(udp.dataOff, udp.dataEnd));
      expect(answer.answers?.map((a) => (a as { data?: unknown }).data)).to.deep.equal([app.v4]);
    } finally {
      await d.stop();
    }
    expect(os.calls).to.deep.equal(['cleanup', 'up', 'down']);
    expect(() => engineSide.write(Buffer.alloc(20))).to.throw(TunClosedError);
    expect(logs.some((l) => l.startsWith('info stats '))).to.equal(true);
  });

  it('a failed OS configuration undoes the partial work and closes the tun', async () => {
    const os = new RecordingOs({ failUp: true });
    let err: Error | null = null;
    await startVNetInstance(config(), deps(os)).catch((e: Error) => (err = e));
    expect(err).to.match(/Operation not permitted/);
    expect(os.calls).to.deep.equal(['cleanup', 'up', 'cleanup']);
    expect(() => engineSide.write(Buffer.alloc(20))).to.throw(TunClosedError);
  });

  it('without IPv6 in the OS, asks for IPv4 only', async () => {
    const os = new RecordingOs({ ipv6: false });
    const d = await startVNetInstance(config(), deps(os));
    await d.stop();
    expect(os.req!.ipv6Range).to.equal(null);
    expect(os.req!.dnsAddresses).to.deep.equal(['100.64.0.2']);
    expect(d.info.apps['hello.corp.test'].v6).to.equal(null);
    expect(logs.some((l) => l.includes('IPv4 only'))).to.equal(true);
  });

  it('stop is idempotent', async () => {
    const os = new RecordingOs();
    const d = await startVNetInstance(config(), deps(os));
    await Promise.all([d.stop(), d.stop()]);
    await d.stop();
    expect(os.calls.filter((c) => c === 'down')).to.have.length(1);
  });
});
