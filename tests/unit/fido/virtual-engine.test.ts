// The virtual authenticator's CTAP2 engine as a peer: malformed or hostile requests get the
// status codes of CTAP 2.1 §8.2 and never crash or wedge it; and the client turns a malformed
// response from a key into a clear 'protocol' error.

import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { CtapHidConnection } from '../../../app/fido/ctaphid/connection';
import * as H from '../../../app/fido/ctaphid/constants';
import { fragment, Reassembler, reportCid } from '../../../app/fido/ctaphid/framing';
import { cborEncode } from '../../../app/fido/ctap2/cbor';
import { Ctap2Client } from '../../../app/fido/ctap2/client';
import * as C from '../../../app/fido/ctap2/constants';
import { encapsulate, pinHash16, pinProtocolTwo } from '../../../app/fido/ctap2/pin-protocol';
import { CtapStatusError } from '../../../app/fido/errors';
import { Ctap2SecurityKey } from '../../../app/fido/security-key';
import type { HidDeviceInfo, HidReportDevice } from '../../../app/fido/hid/report-device';
import { VirtualAuthenticator } from '../../../app/fido/virtual/authenticator';
import { RecordingPrompter, rejection } from './helpers';

async function raw(conn: CtapHidConnection, cmd: number, body: Buffer): Promise<number> {
  const resp = await conn.transact(H.CMD_CBOR, Buffer.concat([Buffer.from([cmd]), body]));
  return resp[0];
}

const mcParams = () =>
  new Map<number, unknown>([
    [1, Buffer.alloc(32)],
    [2, new Map([['id', 'ssh:']])],
    [3, new Map<string, unknown>([['id', Buffer.from('u')]])],
    [
      4,
      [
        new Map<string, unknown>([
          ['alg', -7],
          ['type', 'public-key'],
        ]),
      ],
    ],
  ]);

describe('fido: virtual authenticator CTAP2 engine', function () {
  let va: VirtualAuthenticator;
  let conn: CtapHidConnection;
  let client: Ctap2Client;

  beforeEach(async function () {
    va = new VirtualAuthenticator({ pin: '1234' });
    conn = await CtapHidConnection.open(va.connect());
    client = new Ctap2Client(conn);
  });
  afterEach(function () {
    va.unplug();
  });

  it('answers malformed requests with CTAP status codes and keeps working', async function () {
    expect(await raw(conn, C.CTAP2_MAKE_CREDENTIAL, Buffer.from([0xa1, 0x01]))).to.equal(
      C.CTAP2_ERR_INVALID_CBOR,
    );
    expect(await raw(conn, C.CTAP2_MAKE_CREDENTIAL, Buffer.from([0x01]))).to.equal(C.CTAP2_ERR_INVALID_CBOR); // not a map
    expect(
      await raw(conn, C.CTAP2_MAKE_CREDENTIAL, await cborEncode(new Map([[1, Buffer.alloc(32)]]))),
    ).to.equal(C.CTAP2_ERR_MISSING_PARAMETER);
    const wrongType = mcParams();
    wrongType.set(1, 'not bytes');
    expect(await raw(conn, C.CTAP2_MAKE_CREDENTIAL, await cborEncode(wrongType))).to.equal(
      C.CTAP2_ERR_CBOR_UNEXPECTED_TYPE,
    );
    const rsa = mcParams();
    rsa.set(4, [
      new Map<string, unknown>([
        ['alg', -257],
        ['type', 'public-key'],
      ]),
    ]);
    expect(await raw(conn, C.CTAP2_MAKE_CREDENTIAL, await cborEncode(rsa))).to.equal(
      C.CTAP2_ERR_UNSUPPORTED_ALGORITHM,
    );
    expect(await raw(conn, 0x42, Buffer.alloc(0))).to.equal(C.CTAP1_ERR_INVALID_COMMAND);
    expect(
      await raw(
        conn,
        C.CTAP2_CLIENT_PIN,
        await cborEncode(
          new Map([
            [1, 3],
            [2, 2],
          ]),
        ),
      ),
    ).to.equal(C.CTAP1_ERR_INVALID_PARAMETER);
    expect((await client.getInfo()).versions).to.include('FIDO_2_0');
  });

  it('refuses setPIN when a PIN is already set', async function () {
    const err = await rejection(client.setPin(pinProtocolTwo, '5678'));
    expect((err as CtapStatusError).status).to.equal(0x30);
  });

  it('refuses a bogus key-agreement key without spending a PIN retry', async function () {
    const params = new Map<number, unknown>([
      [1, 2],
      [2, C.PIN_GET_TOKEN_WITH_PERMISSIONS],
      [
        3,
        new Map<number, unknown>([
          [1, 2],
          [3, -25],
          [-1, 1],
          [-2, Buffer.alloc(32, 1)],
          [-3, Buffer.alloc(32, 2)],
        ]),
      ],
      [6, Buffer.alloc(32)],
      [9, C.PERMISSION_GA],
    ]);
    expect(await raw(conn, C.CTAP2_CLIENT_PIN, await cborEncode(params))).to.equal(
      C.CTAP1_ERR_INVALID_PARAMETER,
    );
    expect(va.pinRetries).to.equal(8);
  });

  it('refuses a forged pinUvAuthParam and a token used beyond its permissions', async function () {
    const forged = mcParams();
    forged.set(8, Buffer.alloc(32));
    forged.set(9, 2);
    expect(await raw(conn, C.CTAP2_MAKE_CREDENTIAL, await cborEncode(forged))).to.equal(
      C.CTAP2_ERR_PIN_AUTH_INVALID,
    );

    // A get-assertion-only token may not make credentials.
    const token = await client.getPinToken(pinProtocolTwo, '1234', {
      permissions: C.PERMISSION_GA,
      rpId: 'ssh:',
    });
    const mc = mcParams();
    mc.set(8, pinProtocolTwo.authenticate(token, Buffer.alloc(32)));
    mc.set(9, 2);
    expect(await raw(conn, C.CTAP2_MAKE_CREDENTIAL, await cborEncode(mc))).to.equal(
      C.CTAP2_ERR_PIN_AUTH_INVALID,
    );
  });

  it('uses a fixed key-agreement key when a test installs one (known-answer hook)', async function () {
    const fixed = Buffer.from('7d2a3f1e9c8b6a5948372615f4e3d2c1b0a9988776655443322110ffeeddccbb', 'hex');
    va.currentEngine!.setKeyAgreementPrivateKey(fixed);
    const key = await client.getKeyAgreement(pinProtocolTwo);
    const { platformKey, sharedSecret } = encapsulate(pinProtocolTwo, key);
    const params = new Map<number, unknown>([
      [1, 2],
      [2, C.PIN_GET_PIN_TOKEN],
      [3, platformKey],
      [6, pinProtocolTwo.encrypt(sharedSecret, pinHash16('1234'))],
    ]);
    const resp = await client.command(C.CTAP2_CLIENT_PIN, params);
    const token = pinProtocolTwo.decrypt(sharedSecret, resp!.get(2) as Buffer);
    expect(token).to.have.length(32);
  });

  it('answers a message whose continuation never comes with ERR_MSG_TIMEOUT', async function () {
    va.unplug();
    va = new VirtualAuthenticator({ messageTimeoutMs: 100 });
    const device = va.connect();
    const c2 = await CtapHidConnection.open(device);
    const got = new Promise<Buffer>((resolve) => {
      device.on('report', (r: Buffer) => {
        if (reportCid(r) === c2.cid && r[4] === (0x80 | H.CMD_ERROR)) resolve(r);
      });
    });
    await device.write(fragment(c2.cid, H.CMD_CBOR, Buffer.alloc(100))[0]);
    expect((await got)[7]).to.equal(H.ERR_MSG_TIMEOUT);
  });
});

/** Answers INIT, then a getInfo whose CBOR is garbage. */
class GarbageKey extends EventEmitter implements HidReportDevice {
  closed = false;
  readonly info: HidDeviceInfo = {
    path: 'g',
    vendorId: 0,
    productId: 0,
    product: 'Garbage',
    manufacturer: '',
  };
  private r = new Reassembler(H.BROADCAST_CID);
  private r2 = new Reassembler(0x01010101);
  async write(report: Buffer): Promise<void> {
    const res = reportCid(report) === H.BROADCAST_CID ? this.r.push(report) : this.r2.push(report);
    if (res.status !== 'complete') return;
    setImmediate(() => {
      if (res.cmd === H.CMD_INIT) {
        const resp = Buffer.alloc(17);
        res.payload.copy(resp, 0, 0, 8);
        resp.writeUInt32BE(0x01010101, 8);
        resp[16] = H.CAPABILITY_CBOR;
        for (const rep of fragment(H.BROADCAST_CID, H.CMD_INIT, resp)) this.emit('report', rep);
      } else {
        for (const rep of fragment(0x01010101, H.CMD_CBOR, Buffer.from([0x00, 0xa5, 0x01])))
          this.emit('report', rep);
      }
    });
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('fido: client against a misbehaving key', function () {
  it('turns malformed CBOR from the key into a protocol error and closes the device', async function () {
    const dev = new GarbageKey();
    const err = await rejection(Ctap2SecurityKey.open(dev, new RecordingPrompter()));
    expect(err.code).to.equal('protocol');
    expect(err.message).to.match(/malformed response/);
    expect(dev.closed).to.equal(true);
  });
});
