// The agent's key source with several keys plugged in: the one holding the credential is found
// without a touch; keys pulled out are closed and forgotten; none plugged in is a clear error.
import { expect } from 'chai';
import { pluggedInKey, type KeyDevices } from '../../../app/agent/key-source';
import { FidoError, type UserPrompter } from '../../../app/fido/api';
import type { AnySecurityKey, HidDeviceInfo } from '../../../app/fido';

class FakeKey {
  readonly kind = 'ctap2';
  probes = 0;
  closed = 0;
  constructor(
    readonly label: string,
    private readonly holds: Buffer | null,
  ) {}
  async holdsCredential(rpId: string, credentialId: Buffer): Promise<boolean> {
    this.probes++;
    return rpId === 'ssh:' && this.holds !== null && this.holds.equals(credentialId);
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

const prompter: UserPrompter = { askPin: async () => null, touchNeeded: () => {}, touchDone: () => {} };
const ctx = { purpose: { what: 'ssh-login' as const, requester: 'daemon' as const } };
const info = (path: string): HidDeviceInfo => ({
  path,
  vendorId: 1,
  productId: 2,
  product: path,
  manufacturer: 'test',
});

describe('agent key source (several security keys)', () => {
  let plugged: string[];
  let keys: Map<string, FakeKey>;
  let opens: string[];
  const devices: KeyDevices = {
    list: async () => plugged.map(info),
    open: async (path) => {
      opens.push(path);
      return keys.get(path)! as unknown as AnySecurityKey;
    },
  };
  const cred = Buffer.from('credential-2');

  beforeEach(() => {
    plugged = ['a', 'b'];
    keys = new Map([
      ['a', new FakeKey('key A', Buffer.from('credential-1'))],
      ['b', new FakeKey('key B', cred)],
    ]);
    opens = [];
  });

  it('picks the key that holds the credential, by probing (no touch)', async () => {
    const source = pluggedInKey(prompter, devices);
    const k = await source({ rpId: 'ssh:', credentialId: cred, ctx });
    expect(k.label).to.equal('key B');
    expect(keys.get('a')!.probes).to.equal(1);
  });

  it('one key: used as it is, without a probe', async () => {
    plugged = ['a'];
    const k = await pluggedInKey(prompter, devices)({ rpId: 'ssh:', credentialId: cred, ctx });
    expect(k.label).to.equal('key A');
    expect(keys.get('a')!.probes).to.equal(0);
  });

  it('none holds it: a sentence that says so; none plugged in: another', async () => {
    const source = pluggedInKey(prompter, devices);
    const err = await source({ rpId: 'ssh:', credentialId: Buffer.from('nope'), ctx }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(FidoError);
    expect((err as FidoError).code).to.equal('no-credentials');
    plugged = [];
    const none = await source().catch((e: unknown) => e);
    expect((none as FidoError).code).to.equal('device-removed');
    expect((none as Error).message).to.match(/insert your security key/);
  });

  it('keeps keys open while plugged in; a key pulled out is closed, and opened afresh when it is back', async () => {
    const source = pluggedInKey(prompter, devices);
    await source({ rpId: 'ssh:', credentialId: cred, ctx });
    await source({ rpId: 'ssh:', credentialId: cred, ctx });
    expect(opens).to.deep.equal(['a', 'b']);
    plugged = ['a'];
    await source();
    expect(keys.get('b')!.closed).to.equal(1);
    plugged = ['a', 'b'];
    await source({ rpId: 'ssh:', credentialId: cred, ctx });
    expect(opens).to.deep.equal(['a', 'b', 'b']);
  });
});
