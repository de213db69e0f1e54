// The agent signs for the daemon only what it should: an SSH publickey login, for the bastion named in
// the purpose, as that bastion's user, with that bastion's key. Anything else is refused with a reason.
import { expect } from 'chai';
import { ErrorCodes } from '../../../ipc/messages';
import { RpcError } from '../../../ipc/rpc';
import { AppDirectory } from '../../../app/agent/directory';
import { parseUserauthData, SignService } from '../../../app/agent/sign-service';
import type { UserConfig } from '../../../app/config/types';
import { FidoError } from '../../../app/fido/api';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { writePrivateKeyFile } from '../../../app/ssh/keyfile';
import { encodePublicKeyBlob, publicKeyLine, type SkKey } from '../../../app/ssh/keys';
import { verifySkSignature } from '../../../app/ssh/signature';
import { SshWriter } from '../../../app/ssh/wire';
import { VectorKey } from '../ssh/vector-key';

function userauth(
  key: SkKey,
  user: string,
  opts: { service?: string; method?: string; type?: number } = {},
): Buffer {
  return new SshWriter()
    .string(Buffer.alloc(32, 7))
    .byte(opts.type ?? 50)
    .string(Buffer.from(user))
    .string(Buffer.from(opts.service ?? 'ssh-connection'))
    .string(Buffer.from(opts.method ?? 'publickey'))
    .byte(1)
    .string(Buffer.from(key.type))
    .string(encodePublicKeyBlob(key))
    .toBuffer();
}

describe('agent sign service (the daemon’s key/sign requests)', () => {
  let vk: VectorKey;
  let key: SkKey;
  let other: SkKey;
  let service: SignService;
  let files: Map<string, string>;

  beforeEach(async () => {
    vk = new VectorKey();
    key = (await enrollSkKey(vk, { comment: 'corp key' }, { purpose: { what: 'enroll', requester: 'app' } }))
      .key;
    other = (
      await enrollSkKey(vk, { comment: 'other key' }, { purpose: { what: 'enroll', requester: 'app' } })
    ).key;
    files = new Map([
      ['/home/u/.ssh/id_ecdsa_sk', writePrivateKeyFile(key)],
      ['/home/u/.ssh/id_ecdsa_sk.pub', publicKeyLine(key, 'corp key')],
      [
        '/home/u/.ssh/known_hosts',
        '[bastion.corp.test]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n',
      ],
    ]);
    const config: UserConfig = {
      path: '/home/u/.config/keyvnet/config.toml',
      vnet: { range: '100.64.0.0/10', ipv6: true, mtu: null },
      bastions: [
        {
          name: 'corp',
          host: 'bastion.corp.test',
          port: 2222,
          user: 'alice',
          keyPath: '/home/u/.ssh/id_ecdsa_sk',
          hostKeys: null,
          knownHostsPath: '/home/u/.ssh/known_hosts',
          policy: 'session',
          keepaliveSec: 30,
          maxSessionAgeSec: 0,
          jump: null,
        },
      ],
      zones: [{ suffix: 'corp.test', via: 'corp' }],
      apps: [
        {
          name: 'hello.corp.test',
          target: { host: 'intranet', port: 80 },
          ports: [80],
          via: 'corp',
          description: null,
        },
      ],
    };
    const read = (p: string): string => {
      const t = files.get(p);
      if (t === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return t;
    };
    const dir = new AppDirectory(config, read);
    service = new SignService({ directory: () => dir, securityKey: async () => vk });
  });

  const purpose = { bastion: 'corp', host: 'bastion.corp.test', user: 'alice' };
  const req = (data: Buffer, k: SkKey = key, p = purpose) => ({
    publicKey: publicKeyLine(k, 'whatever'),
    data: data.toString('base64'),
    purpose: p,
  });
  const refusal = async (p: Promise<unknown>): Promise<RpcError> => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, 'must be refused').to.be.instanceOf(RpcError);
    return err as RpcError;
  };

  it('signs an SSH login for the configured bastion, user and key; the signature verifies', async () => {
    const data = userauth(key, 'alice');
    const { signature } = await service.sign(req(data), new AbortController().signal);
    expect(verifySkSignature(key, data, Buffer.from(signature, 'base64'))).to.not.equal(null);
  });

  it('the directory gives the daemon the bastion with its known_hosts keys and the public key', () => {
    const dir = (service as unknown as { opts: { directory: () => AppDirectory } }).opts.directory();
    const b = dir.bastion('corp')!;
    expect(b.hostKeys).to.deep.equal([
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
    ]);
    expect(b.publicKey.split(' ').slice(0, 2)).to.deep.equal(publicKeyLine(key).split(' ').slice(0, 2));
    expect(dir.bastion('nope')).to.equal(null);
  });

  it('refuses another user’s login', async () => {
    const e = await refusal(service.sign(req(userauth(key, 'root')), new AbortController().signal));
    expect(e.reason).to.equal('not-a-login');
  });

  it('refuses a key that is not the bastion’s', async () => {
    const e = await refusal(service.sign(req(userauth(other, 'alice'), other), new AbortController().signal));
    expect(e.reason).to.equal('wrong-key');
  });

  it('refuses data that is not an SSH login (e.g. a file signature), and other services and methods', async () => {
    for (const data of [
      Buffer.concat([Buffer.from('SSHSIG'), Buffer.alloc(40)]),
      userauth(key, 'alice', { service: 'ssh-userauth' }),
      userauth(key, 'alice', { method: 'hostbased' }),
      userauth(key, 'alice', { type: 51 }),
    ]) {
      const e = await refusal(service.sign(req(data), new AbortController().signal));
      expect(e.reason).to.equal('not-a-login');
    }
  });

  it('refuses an unknown bastion', async () => {
    const e = await refusal(
      service.sign(
        req(userauth(key, 'alice'), key, { ...purpose, bastion: 'evil' }),
        new AbortController().signal,
      ),
    );
    expect(e.reason).to.equal('no-bastion');
  });

  it('a cancelled touch is a Cancelled error; a refused touch says why', async () => {
    (vk as unknown as { getAssertion: unknown }).getAssertion = async () => {
      throw new FidoError('cancelled', 'cancelled');
    };
    const e1 = await refusal(service.sign(req(userauth(key, 'alice')), new AbortController().signal));
    expect(e1.code).to.equal(ErrorCodes.Cancelled);
    (vk as unknown as { getAssertion: unknown }).getAssertion = async () => {
      throw new FidoError('user-denied', 'denied');
    };
    const e2 = await refusal(service.sign(req(userauth(key, 'alice')), new AbortController().signal));
    expect(e2.reason).to.equal('user-denied');
    expect(e2.message).to.equal('touch was denied on the security key');
  });

  it('no key: Cancel in "insert your key" is a Cancelled error; the wait running out says so', async () => {
    const dir = (service as unknown as { opts: { directory: () => AppDirectory } }).opts.directory;
    const noKey = (err: FidoError) =>
      new SignService({
        directory: dir,
        securityKey: async () => {
          throw err;
        },
      });
    const data = req(userauth(key, 'alice'));
    const e1 = await refusal(
      noKey(new FidoError('cancelled', 'The request was cancelled.')).sign(
        data,
        new AbortController().signal,
      ),
    );
    expect(e1.code).to.equal(ErrorCodes.Cancelled);
    const e2 = await refusal(
      noKey(
        new FidoError(
          'timeout',
          'No security key was inserted within 60 s: insert your security key and try again.',
        ),
      ).sign(data, new AbortController().signal),
    );
    expect(e2.reason).to.equal('no-key');
    expect(e2.message).to.match(/No security key was inserted within 60 s/);
  });

  it('parseUserauthData reads the fields, and refuses trailing bytes', () => {
    const r = parseUserauthData(userauth(key, 'alice'));
    expect(r.user).to.equal('alice');
    expect(r.keyBlob.equals(encodePublicKeyBlob(key))).to.equal(true);
    expect(() => parseUserauthData(Buffer.concat([userauth(key, 'alice'), Buffer.from([0])]))).to.throw();
  });
});
