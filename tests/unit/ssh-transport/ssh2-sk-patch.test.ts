// Our ssh2 patch (patches/ssh2+1.17.0.patch): sk public keys parse, and the publickey userauth
// request carries an agent's sk signature blob unchanged (flags and counter included). Checks
// the exact bytes, and ssh2's own OpenSSH agent client against the project's real ssh-agent.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenSSHAgent, utils } from 'ssh2';
import { SshAgent } from '../../../app/ssh/agent';
import { encodePublicKeyBlob, publicKeyLine, type SkKey } from '../../../app/ssh/keys';
import { verifySkSignature } from '../../../app/ssh/signature';
import { signWithSkKey } from '../../../app/ssh/signer';
import { SshWriter } from '../../../app/ssh/wire';
import { VirtualKey } from './virtual-bridge';

interface ProtocolStub {
  _server: boolean;
  _kex: { sessionID: Buffer };
  _packetRW: { write: { allocStart: number; alloc(n: number): Buffer; finalize(p: Buffer): Buffer } };
  _authsQueue: string[];
  _cipher: { encrypt(p: Buffer): void };
}
type AuthPK = (
  this: ProtocolStub,
  user: string,
  key: unknown,
  algo: string | undefined,
  cbSign: (data: Buffer, cb: (sig: Buffer) => void) => void,
) => void;
const req = createRequire(__filename);
const Protocol = req('ssh2/lib/protocol/Protocol.js') as { prototype: { authPK: AuthPK } };

/** Runs ssh2's authPK against a stub transport; returns the data to sign and the packet sent. */
function userauthBytes(key: unknown, sigFromAgent: Buffer): { signed: Buffer; packet: Buffer } {
  const sent: Buffer[] = [];
  let signed = Buffer.alloc(0);
  const stub: ProtocolStub = {
    _server: false,
    _kex: { sessionID: Buffer.alloc(32, 7) },
    _packetRW: { write: { allocStart: 0, alloc: (n) => Buffer.alloc(n), finalize: (p) => p } },
    _authsQueue: [],
    _cipher: { encrypt: (p) => sent.push(Buffer.from(p)) },
  };
  Protocol.prototype.authPK.call(stub, 'alice', key, undefined, (data, cb) => {
    signed = Buffer.from(data);
    cb(sigFromAgent);
  });
  expect(sent).to.have.length(1);
  return { signed, packet: sent[0] };
}

function userauthRequest(type: string, blob: Buffer): SshWriter {
  const w = new SshWriter();
  w.byte(50).string('alice').string('ssh-connection').string('publickey').byte(1);
  return w.string(type).string(blob);
}

describe('ssh2 patch: sk keys held by an agent', function () {
  let vkey: VirtualKey;
  let ecdsa: SkKey;
  let ed25519: SkKey;

  before(async () => {
    vkey = await VirtualKey.open();
    ecdsa = await vkey.enroll({ comment: 'ecdsa-key' });
    ed25519 = await vkey.enroll({ algorithm: 'ed25519', comment: 'ed-key' });
  });
  after(() => vkey.close());

  for (const which of ['ecdsa', 'ed25519'] as const) {
    describe(which, () => {
      const key = (): SkKey => (which === 'ecdsa' ? ecdsa : ed25519);

      it('parses the public key line and keeps the sk blob (with the application)', () => {
        const parsed = utils.parseKey(publicKeyLine(key(), 'my key'));
        if (parsed instanceof Error) throw parsed;
        expect(parsed.type).to.equal(key().type);
        expect(parsed.comment).to.equal('my key');
        expect(parsed.getPublicSSH()).to.deep.equal(encodePublicKeyBlob(key()));
      });

      it('parses the binary blob too', () => {
        const parsed = utils.parseKey(encodePublicKeyBlob(key()));
        if (parsed instanceof Error) throw parsed;
        expect(parsed.type).to.equal(key().type);
        expect(parsed.getPublicSSH()).to.deep.equal(encodePublicKeyBlob(key()));
      });

      it('sends the agent signature blob unchanged in USERAUTH_REQUEST', async () => {
        const blob = encodePublicKeyBlob(key());
        const data = Buffer.from('placeholder');
        const sig = await signWithSkKey(vkey.sk, key(), data, {
          purpose: { what: 'ssh-login', requester: 'daemon' },
        });
        const { signed, packet } = userauthBytes(publicKeyLine(key()), sig);
        const request = userauthRequest(key().type, blob);
        // What is signed: string(session id) then the request without the signature.
        expect(signed).to.deep.equal(
          Buffer.concat([new SshWriter().string(Buffer.alloc(32, 7)).toBuffer(), request.toBuffer()]),
        );
        expect(packet).to.deep.equal(request.string(sig).toBuffer());
      });
    });
  }

  it('rejects a malformed sk blob (wrong point length)', () => {
    const bad = new SshWriter()
      .string(ecdsa.type)
      .string('nistp256')
      .string(Buffer.alloc(33, 4))
      .string('ssh:')
      .toBuffer();
    const parsed = utils.parseKey(`${ecdsa.type} ${bad.toString('base64')}`);
    expect(parsed).to.be.instanceOf(Error);
  });

  it('still re-wraps a plain key signature as string(algo) string(sig)', () => {
    const publicKey = utils.generateKeyPairSync('ed25519').public;
    const rawSig = Buffer.alloc(64, 9);
    const parsed = utils.parseKey(publicKey);
    if (parsed instanceof Error) throw parsed;
    const { packet } = userauthBytes(publicKey, rawSig);
    const expected = userauthRequest('ssh-ed25519', parsed.getPublicSSH()).string(
      new SshWriter().string('ssh-ed25519').string(rawSig).toBuffer(),
    );
    expect(packet).to.deep.equal(expected.toBuffer());
  });

  it("ssh2's OpenSSH agent client returns the whole sk signature from a real agent", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvn-sk-patch-'));
    const agent = new SshAgent({ keys: () => [ecdsa], securityKey: async () => vkey.sk, log: () => {} });
    try {
      await agent.listen(join(dir, 'agent.sock'));
      const client = new OpenSSHAgent(agent.path);
      const keys = await new Promise<unknown[]>((resolve, reject) =>
        client.getIdentities((err, k) => (err ? reject(err) : resolve(k ?? []))),
      );
      expect(keys).to.have.length(1);
      const data = Buffer.from('to be signed');
      const sig = await new Promise<Buffer>((resolve, reject) =>
        client.sign(keys[0] as never, data, {}, (err, s) => (err ? reject(err) : resolve(s!))),
      );
      expect(verifySkSignature(ecdsa, data, sig)).to.not.equal(null);
    } finally {
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
