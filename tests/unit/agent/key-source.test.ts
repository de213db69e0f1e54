// The agent's key source with several keys plugged in: the one holding the credential is found
// without a touch; keys pulled out are closed and forgotten; none plugged in asks for one and waits
// (a fake clock and sleep: no real waits), or is a clear error.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_INSERT_WAIT, pluggedInKey, type KeyDevices } from '../../../app/agent/key-source';
import { FidoError, type InsertKeyPrompt, type UserPrompter } from '../../../app/fido/api';
import { virtualKey } from '../../../app/headless/virtual-key';
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

/** A sleep the test ends by hand (or the request's abort ends), and a clock it moves. */
class FakeTime {
  now = 1_000_000;
  asked: number[] = [];
  private wake: (() => void) | null = null;
  readonly wait = {
    now: () => this.now,
    sleep: (ms: number, signal: AbortSignal): Promise<void> =>
      new Promise<void>((resolve) => {
        this.asked.push(ms);
        const done = (): void => {
          this.wake = null;
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      }),
    nextId: () => 4242,
  };
  /** Lets the sleeping poll go on, `ms` later. */
  async tick(ms = 500): Promise<void> {
    await settle();
    if (!this.wake) throw new Error('nothing is sleeping');
    this.now += ms;
    this.wake();
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

describe('agent key source: "insert your security key" while none is plugged in', () => {
  let plugged: string[];
  let time: FakeTime;
  let shown: InsertKeyPrompt[];
  const key = new FakeKey('key A', null);
  const devices: KeyDevices = {
    list: async () => plugged.map(info),
    open: async () => key as unknown as AnySecurityKey,
  };
  const purpose = {
    what: 'ssh-login' as const,
    bastion: 'corp',
    host: 'bastion.corp.example.com',
    requester: 'daemon' as const,
  };
  const want = (signal?: AbortSignal) => ({
    rpId: 'ssh:',
    credentialId: Buffer.from('c'),
    ctx: { purpose, ...(signal ? { signal } : {}) },
  });
  const insertPrompter: UserPrompter = { ...prompter, insertKey: (req) => void shown.push(req) };

  beforeEach(() => {
    plugged = [];
    time = new FakeTime();
    shown = [];
  });

  it('asks for a key with what it is for, polls, and goes on when one is plugged in', async () => {
    const source = pluggedInKey(insertPrompter, devices, time.wait);
    const got = source(want());
    await settle();
    expect(shown).to.have.length(1);
    expect(shown[0].purpose).to.deep.equal(purpose);
    expect(shown[0].requestId).to.equal(4242);
    expect(shown[0].timeoutMs).to.equal(60_000);
    expect(shown[0].signal.aborted).to.equal(false);
    await time.tick(); // still none
    expect(shown[0].signal.aborted).to.equal(false);
    plugged = ['a'];
    await time.tick();
    expect((await got).label).to.equal('key A');
    expect(shown[0].signal.aborted, 'the prompt closes').to.equal(true);
    expect(time.asked).to.deep.equal([500, 500]);
  });

  it("the prompt's Cancel fails the request at once (no poll needed)", async () => {
    const got = pluggedInKey(insertPrompter, devices, time.wait)(want()).catch((e: unknown) => e);
    await settle();
    shown[0].cancel();
    const err = (await got) as FidoError;
    expect(err.code).to.equal('cancelled');
    expect(shown[0].signal.aborted).to.equal(true);
    expect(time.asked).to.deep.equal([500]);
  });

  it("the caller's abort (the daemon's request ended) ends the wait too", async () => {
    const ac = new AbortController();
    const got = pluggedInKey(insertPrompter, devices, time.wait)(want(ac.signal)).catch((e: unknown) => e);
    await settle();
    ac.abort();
    expect(((await got) as FidoError).code).to.equal('cancelled');
    expect(shown[0].signal.aborted).to.equal(true);
    // Already aborted: no prompt at all.
    const again = await pluggedInKey(
      insertPrompter,
      devices,
      time.wait,
    )(want(ac.signal)).catch((e: unknown) => e);
    expect((again as FidoError).code).to.equal('cancelled');
    expect(shown).to.have.length(1);
  });

  it('gives up at the deadline with a sentence that says so; the last sleep stops at the deadline', async () => {
    const got = pluggedInKey(insertPrompter, devices, { ...time.wait, timeoutMs: 1200 })(want()).catch(
      (e: unknown) => e,
    );
    await time.tick(500);
    await time.tick(500);
    await time.tick(200);
    const err = (await got) as FidoError;
    expect(err.code).to.equal('timeout');
    expect(err.message).to.equal(
      'No security key was inserted within 1 s: insert your security key and try again.',
    );
    expect(time.asked).to.deep.equal([500, 500, 200]);
    expect(shown[0].signal.aborted).to.equal(true);
  });

  it('a prompter without insertKey, or a call without a request, fails at once as before', async () => {
    const a = await pluggedInKey(prompter, devices, time.wait)(want()).catch((e: unknown) => e);
    expect((a as FidoError).code).to.equal('device-removed');
    const b = await pluggedInKey(insertPrompter, devices, time.wait)().catch((e: unknown) => e);
    expect((b as FidoError).code).to.equal('device-removed');
    expect(shown).to.have.length(0);
    expect(time.asked).to.deep.equal([]);
  });

  it('the default wait: 500 ms polls, 60 s, a sleep that ends early on abort', async () => {
    expect(DEFAULT_INSERT_WAIT.pollMs).to.equal(500);
    expect(DEFAULT_INSERT_WAIT.timeoutMs).to.equal(60_000);
    const ac = new AbortController();
    const slept = DEFAULT_INSERT_WAIT.sleep(3_600_000, ac.signal);
    ac.abort();
    await slept; // resolves (the test would hang otherwise)
  });
});

describe('the virtual key in its port (--virtual-key-unplugged, control "plug"/"unplug")', () => {
  it('unplugged: the request waits with the insert prompt; plug: the key is opened; re-plugged: opened afresh', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvn-port-'));
    const time = new FakeTime();
    const shown: InsertKeyPrompt[] = [];
    try {
      const { securityKey, port } = virtualKey(
        join(dir, 'key.json'),
        { ...prompter, insertKey: (r) => void shown.push(r) },
        { touch: { mode: 'auto' }, unplugged: true, insertWait: time.wait },
      );
      const want = { rpId: 'ssh:', credentialId: Buffer.from('c'), ctx };
      const got = securityKey(want);
      await settle();
      expect(shown).to.have.length(1);
      port.plug();
      await time.tick();
      const first = await got;
      expect(first.label).to.equal('KeyVNet virtual key');
      expect(await securityKey(want)).to.equal(first);
      port.unplug();
      port.plug();
      const second = await securityKey(want);
      expect(second).to.not.equal(first);
      port.unplug();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
