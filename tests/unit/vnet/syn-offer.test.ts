// Who writes a relayed flow's SYN (systemext/vnet/syn-offer): the relay worker's claim() and the
// main thread's letGo() forced into every order of their atomic steps, on a real NAT table; then
// RelayCore taking an offer on a real loopback connect and writing the rewritten SYN.
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { TCP_SYN } from '../../../systemext/net/packet';
import { AddressPlan } from '../../../systemext/vnet/addresses';
import {
  natInitForPlan,
  NatTable,
  ST_CLOSING,
  ST_DIALING,
  ST_FREE,
  ST_OPEN,
} from '../../../systemext/vnet/nat-table';
import { RelayCore } from '../../../systemext/vnet/relay-core';
import { relayShared, type FromRelay, type RelayWorkerData } from '../../../systemext/vnet/relay-protocol';
import { claim, letGo, offer, take, withdraw } from '../../../systemext/vnet/syn-offer';
import { clientSyn, tcpOf, until } from './kernel';

const RPORT = 4100;

function setup(): { plan: AddressPlan; nat: NatTable; data: RelayWorkerData; offers: Int32Array } {
  const plan = new AddressPlan({ ipv6Prefix: 'fd00:9:5::/48' });
  const init = natInitForPlan(plan, 64);
  const nat = new NatTable(init);
  nat.setRelayPorts(RPORT, 0);
  const data: RelayWorkerData = { nat: init, ...relayShared(64) };
  return { plan, nat, data, offers: new Int32Array(data.offers) };
}

/** An entry as the main thread leaves it when it posts an offered dial. */
function offered(nat: NatTable, offers: Int32Array, cport: number, id: number): { e: number; syn: Buffer } {
  const syn = clientSyn(cport);
  const e = nat.allocate(syn, 12, 16, 4, cport, 80);
  nat.setListenerPort(e, RPORT);
  offer(offers, e, id);
  return { e, syn };
}

describe('vnet syn-offer: the worker and the main thread racing for a SYN, every order', () => {
  // The main thread's side in full, as Flows.drop()/release() run it: let go, then close (DIALING is
  // freed at once, OPEN becomes CLOSING and is held).
  const mainDrops = (nat: NatTable, offers: Int32Array, e: number, id: number): void => {
    letGo(offers, nat, e, id);
    nat.close(e, 0, 60_000);
  };

  it('worker first: it opens the entry; the main thread letting go after holds it (CLOSING)', () => {
    const { nat, offers } = setup();
    const { e } = offered(nat, offers, 50000, 7);
    expect(claim(offers, nat, e, 7)).to.equal(true); // the worker writes the SYN
    expect(nat.state(e)).to.equal(ST_OPEN);
    mainDrops(nat, offers, e, 7);
    expect(nat.state(e)).to.equal(ST_CLOSING);
  });

  it('main thread first: the entry is freed at once; the worker then claims nothing', () => {
    const { nat, offers } = setup();
    const { e } = offered(nat, offers, 50001, 8);
    mainDrops(nat, offers, e, 8);
    expect(nat.state(e)).to.equal(ST_FREE);
    expect(claim(offers, nat, e, 8)).to.equal(false); // no SYN written
    expect(nat.state(e)).to.equal(ST_FREE);
  });

  it('worker took the offer, main lets go and closes before the worker opens: no SYN, entry held', () => {
    const { nat, offers } = setup();
    const { e } = offered(nat, offers, 50002, 9);
    const wrote = claim(offers, nat, e, 9, () => mainDrops(nat, offers, e, 9));
    expect(wrote).to.equal(false); // the entry was no longer DIALING: the SYN must not go out
    // Held although nothing was written: the main thread could not know, so it held (safe side).
    expect(nat.state(e)).to.equal(ST_CLOSING);
  });

  // claim() is take + open, letGo() is withdraw + open: run those atomic steps in each of the 10
  // orders that keep each thread's own order, then main's close, and check what must always hold.
  it('all 10 interleavings of the atomic steps: one winner, a written SYN is always held, never written late', () => {
    const orders: string[][] = [];
    const build = (w: number, m: number, acc: string[]): void => {
      if (w === 2 && m === 3) return void orders.push(acc);
      if (w < 2) build(w + 1, m, [...acc, `W${w + 1}`]);
      if (m < 3) build(w, m + 1, [...acc, `M${m + 1}`]);
    };
    build(0, 0, []);
    expect(orders).to.have.length(10);
    orders.forEach((order, k) => {
      const { nat, offers } = setup();
      const id = 100 + k;
      const { e } = offered(nat, offers, 50100 + k, id);
      let workerTook = false;
      let wrote = false;
      let mainWithdrew = false;
      let closedAt = -1;
      order.forEach((step, at) => {
        if (step === 'W1') workerTook = take(offers, e, id);
        if (step === 'W2' && workerTook) wrote = nat.openIfDialing(e);
        if (step === 'M1') mainWithdrew = withdraw(offers, e, id);
        if (step === 'M2' && !mainWithdrew) nat.openIfDialing(e);
        if (step === 'M3') {
          nat.close(e, 0, 60_000);
          closedAt = at;
        }
        if (wrote && step === 'W2') expect(closedAt, order.join(' ')).to.equal(-1); // never after close
      });
      expect(workerTook !== mainWithdrew, order.join(' ')).to.equal(true);
      if (wrote) expect(nat.state(e), order.join(' ')).to.equal(ST_CLOSING);
      if (nat.state(e) === ST_FREE) expect(wrote, order.join(' ')).to.equal(false);
      if (mainWithdrew) expect(nat.state(e), order.join(' ')).to.equal(ST_FREE);
      // The worker's open may still be coming: a freed entry could be reused and opened under a new flow.
      if (workerTook) expect(nat.state(e), order.join(' ')).to.equal(ST_CLOSING);
    });
  });
});

describe('vnet syn-offer: RelayCore takes the offer on a real connect', () => {
  let server: Server;
  let port: number;
  let core: RelayCore | null = null;

  beforeEach(async () => {
    server = createServer((s) => s.on('error', () => {}).pipe(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterEach(async () => {
    core?.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('opens the entry, writes the SYN rewritten to its listener, and says opened', async () => {
    const { plan, nat, data, offers } = setup();
    const written: Buffer[] = [];
    const posted: FromRelay[] = [];
    core = new RelayCore(
      data,
      (m) => posted.push(m),
      (p) => (written.push(Buffer.from(p)), null),
    );
    const { e, syn } = offered(nat, offers, 50200, 21);
    core.handle({ t: 'dial', id: 21, entry: e, family: 4, host: '127.0.0.1', port, timeoutMs: 5000, syn });
    await until(() => posted.length > 0);
    expect(posted).to.deep.equal([{ t: 'dialed', id: 21, opened: true }]);
    expect(nat.state(e)).to.equal(ST_OPEN);
    expect(written).to.have.length(1);
    expect(tcpOf(written[0])).to.include({
      src: plan.fake4(nat.fakeIndex(e)),
      sport: nat.natPort(e),
      dst: plan.tun4,
      dport: RPORT,
      flags: TCP_SYN,
    });
  });

  it('an offer withdrawn before the connect: nothing written, nothing posted, the upstream dropped', async () => {
    const { nat, data, offers } = setup();
    const written: Buffer[] = [];
    const posted: FromRelay[] = [];
    core = new RelayCore(
      data,
      (m) => posted.push(m),
      (p) => (written.push(p), null),
    );
    const { e, syn } = offered(nat, offers, 50201, 22);
    core.handle({ t: 'dial', id: 22, entry: e, family: 4, host: '127.0.0.1', port, timeoutMs: 5000, syn });
    letGo(offers, nat, e, 22); // the main thread drops the flow; its 'abort' is still on the way
    await until(() => core!.size === 0);
    expect(written).to.deep.equal([]);
    expect(posted).to.deep.equal([]);
    expect(nat.state(e)).to.equal(ST_DIALING); // the main thread frees it
  });

  it('a SYN write the kernel refuses is counted; the flow goes on (the client resends its SYN)', async () => {
    const { nat, data, offers } = setup();
    const posted: FromRelay[] = [];
    core = new RelayCore(
      data,
      (m) => posted.push(m),
      () => 'EIO',
    );
    const { e, syn } = offered(nat, offers, 50202, 23);
    core.handle({ t: 'dial', id: 23, entry: e, family: 4, host: '127.0.0.1', port, timeoutMs: 5000, syn });
    await until(() => posted.length > 0);
    expect(posted).to.deep.equal([{ t: 'dialed', id: 23, opened: true }]);
    expect(core.synWriteErrors).to.equal(1);
    expect(nat.state(e)).to.equal(ST_OPEN);
  });

  it('without a writer the offer is left alone and the main thread writes the SYN', async () => {
    const { nat, data, offers } = setup();
    const posted: FromRelay[] = [];
    core = new RelayCore(data, (m) => posted.push(m));
    const { e, syn } = offered(nat, offers, 50203, 24);
    core.handle({ t: 'dial', id: 24, entry: e, family: 4, host: '127.0.0.1', port, timeoutMs: 5000, syn });
    await until(() => posted.length > 0);
    expect(posted).to.deep.equal([{ t: 'dialed', id: 24 }]);
    expect(nat.state(e)).to.equal(ST_DIALING);
  });
});
