// Real keys through node-hid, with node-hid replaced by a fake that records how the key is opened
// (issue 10 §1): never exclusively (macOS node-hid is exclusive unless told `nonExclusive`), and
// only for the length of a transaction, so browsers and ssh-sk-helper can use the key meanwhile.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { CtapHidConnection } from '../../../app/fido/ctaphid/connection';
import * as H from '../../../app/fido/ctaphid/constants';
import { fragment, Reassembler } from '../../../app/fido/ctaphid/framing';
import { openNodeHidDevice, type NodeHidModule } from '../../../app/fido/hid/node-hid-device';
import { rejection } from './helpers';

const CID = 0x01020304;

class FakeHid extends EventEmitter {
  closed = false;
  private readonly reasm = new Reassembler(H.BROADCAST_CID);
  constructor(private readonly log: string[]) {
    super();
  }
  async write(data: number[] | Buffer): Promise<number> {
    const report = Buffer.from(data).subarray(1); // drop the report-ID byte
    this.log.push('write');
    const cid = report.readUInt32BE(0);
    this.reasm.cid = cid;
    const r = this.reasm.push(report);
    if (r.status !== 'complete') return 65;
    const answer =
      r.cmd === H.CMD_INIT
        ? Buffer.concat([r.payload.subarray(0, 8), Buffer.from([1, 2, 3, 4, 2, 0, 0, 0, H.CAPABILITY_CBOR])])
        : r.payload;
    setImmediate(() => {
      for (const rep of fragment(cid, r.cmd, answer)) if (!this.closed) this.emit('data', rep);
    });
    return 65;
  }
  async close(): Promise<void> {
    this.closed = true;
    this.log.push('close');
  }
}

function fakeNodeHid(log: string[], opts: { fail?: boolean } = {}): NodeHidModule {
  return {
    HIDAsync: {
      open: async (path: string, o?: { nonExclusive?: boolean }) => {
        log.push(`open ${path} ${JSON.stringify(o)}`);
        if (opts.fail) throw new Error('no such device');
        return new FakeHid(log);
      },
    },
  } as unknown as NodeHidModule;
}

const INFO = { path: '/dev/hidraw7', vendorId: 1, productId: 2, product: 'Test key', manufacturer: '' };

describe('fido: node-hid devices', () => {
  it('opens the key non-exclusively and only while a transaction runs', async () => {
    const log: string[] = [];
    const dev = await openNodeHidDevice(INFO, fakeNodeHid(log));
    await new Promise((r) => setImmediate(r));
    expect(log).to.deep.equal(['open /dev/hidraw7 {"nonExclusive":true}', 'close']);
    log.length = 0;
    const conn = await CtapHidConnection.open(dev);
    expect(conn.cid).to.equal(CID);
    const answer = await conn.transact(H.CMD_PING, Buffer.from('ping'));
    expect(answer.toString()).to.equal('ping');
    await new Promise((r) => setImmediate(r));
    expect(log).to.deep.equal([
      'open /dev/hidraw7 {"nonExclusive":true}',
      'write',
      'close',
      'open /dev/hidraw7 {"nonExclusive":true}',
      'write',
      'close',
    ]);
    await conn.close();
  });

  it('says the key is gone when it cannot be opened', async () => {
    const err = await rejection(openNodeHidDevice(INFO, fakeNodeHid([], { fail: true })));
    expect(err.code).to.equal('device-removed');
    expect(err.message).to.match(/Cannot open the security key Test key \(no such device\)/);
  });
});
