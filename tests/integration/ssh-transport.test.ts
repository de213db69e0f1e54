// The SSH transport against real OpenSSH: the three-namespace topology (laptop → bastion sshd →
// intranet HTTP/echo, plus an inner sshd for jumps), the SshDialer in this process connecting from
// laptop, its logins signed by sk keys on the virtual authenticator through an in-process
// AgentBridge (the "client app" of this test). Root + netns; must run under CI=true.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { authorizedKeysLine, type SkKey } from '../../app/ssh/keys';
import { SshDialer } from '../../systemext/ssh/dialer';
import { sha256Fingerprint } from '../../systemext/ssh/host-keys';
import type { BastionSpec, BastionState } from '../../systemext/ssh/types';
import type { DialError } from '../../systemext/vnet/dialer';
import type { AppInfo } from '../../systemext/vnet/resolver';
import { requireNetns } from '../helpers/privileges';
import { ADDR, ECHO_PORT, HTTP_PORT, INNER_SSH_PORT, PAGE, SSH_PORT, Topology } from '../helpers/topology';
import { TEST_PIN, VirtualBridge, VirtualKey } from '../unit/ssh-transport/virtual-bridge';

function app(via: string, port?: number, host: string = ADDR.intranet): AppInfo {
  return { fqdn: 'hello.corp.test', allowedPorts: [], target: { host, ...(port ? { port } : {}) }, via };
}

/** Sends `data`, half-closes, and collects everything that comes back (hang guard: 30 s). */
function roundTrip(ch: Duplex, data: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error('no end of stream within 30 s')), 30_000);
    ch.on('data', (d: Buffer) => parts.push(d));
    ch.once('error', reject);
    ch.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    ch.end(data);
  });
}

async function httpGet(d: SshDialer, via = 'corp'): Promise<string> {
  const ch = await d.dial(app(via), HTTP_PORT, AbortSignal.timeout(60_000));
  return (await roundTrip(ch, 'GET / HTTP/1.0\r\nHost: hello.corp.test\r\n\r\n')).toString();
}

async function dialError(p: Promise<unknown>): Promise<DialError> {
  try {
    await p;
  } catch (err) {
    return err as DialError;
  }
  throw new Error('the dial succeeded');
}

describe('SSH transport through a real sshd (root, netns)', function () {
  this.timeout(120_000);
  let topo: Topology | undefined;
  let vkey: VirtualKey;
  let ecdsa: SkKey;
  let ed25519: SkKey;
  let pinKey: SkKey;
  let bridge: VirtualBridge;
  let dialer: SshDialer | undefined;
  const states: BastionState[] = [];
  const logs: string[] = [];

  before(async function () {
    requireNetns(this, 'SSH transport integration test');
    topo = await Topology.create({ innerSshd: true });
    vkey = await VirtualKey.open();
    ecdsa = await vkey.enroll({ comment: 'ecdsa-key' });
    ed25519 = await vkey.enroll({ algorithm: 'ed25519', comment: 'ed-key' });
    pinKey = await vkey.enroll({ verifyRequired: true, comment: 'pin-key' });
    const lines = [ecdsa, ed25519, pinKey].map((k) => authorizedKeysLine(k));
    topo.sshd.setAuthorizedKeys(lines);
    topo.innerSshd!.setAuthorizedKeys(lines);
  });

  after(async () => {
    await dialer?.close();
    await vkey?.close();
    await topo?.teardown();
  });

  beforeEach(() => {
    bridge = new VirtualBridge(vkey, ecdsa);
    bridge.specs.set('corp', spec({}));
    vkey.va.setTouchPolicy({ mode: 'auto' });
    vkey.prompter.pins = [];
    states.length = 0;
    logs.length = 0;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      // What a failure looked like from both ends.
      console.log(`      states: ${JSON.stringify(states.slice(-5))}`);
      console.log(`      signs: ${JSON.stringify(bridge.signs)}`);
      console.log(`      dialer log:\n${logs.join('\n')}`);
      console.log(`      sshd log (tail):\n${topo?.sshd.logText.split('\n').slice(-15).join('\n')}`);
    }
    await dialer?.close();
    dialer = undefined;
  });

  function spec(over: Partial<BastionSpec>): BastionSpec {
    return {
      name: 'corp',
      host: ADDR.bastionOuter,
      port: SSH_PORT,
      user: 'root',
      hostKeys: [topo!.sshd.hostKeyLine],
      publicKey: bridge.publicKey,
      policy: 'session',
      keepaliveSec: 15,
      maxSessionAgeSec: 3600,
      jump: null,
      ...over,
    };
  }

  function makeDialer(thread: 'main' | 'worker' = 'main'): SshDialer {
    // In worker mode the outer session's TCP still comes through the laptop relay of this
    // process (bridged into the worker); a jump's inner session runs over the outer's channel.
    dialer = new SshDialer(bridge, {
      connect: topo!.connectFromLaptop,
      thread,
      log: (level, msg) => logs.push(`${new Date().toISOString()} ${level} ${msg}`),
    });
    dialer.on('state', (s: BastionState) => states.push(s));
    return dialer;
  }

  it('logs in with an sk-ecdsa key (touch) and fetches the intranet page', async () => {
    const d = makeDialer();
    const res = await httpGet(d);
    expect(res)
      .to.match(/^HTTP\/1\.1 200 OK/)
      .and.include(PAGE);
    expect(bridge.signs).to.deep.equal([
      { purpose: { bastion: 'corp', host: ADDR.bastionOuter, user: 'root' }, ok: true },
    ]);
    expect(vkey.prompter.touches.at(-1)).to.equal(
      `Touch your security key to connect to corp (${ADDR.bastionOuter})`,
    );
    expect(topo!.sshd.logText).to.match(/Accepted publickey for root .* ECDSA-SK /);
  });

  it('logs in with an sk-ed25519 key', async () => {
    bridge.key = ed25519;
    bridge.specs.set('corp', spec({ publicKey: bridge.publicKey }));
    expect(await httpGet(makeDialer())).to.include(PAGE);
    expect(topo!.sshd.logText).to.match(/Accepted publickey for root .* ED25519-SK /);
  });

  it('verify-required: the PIN is asked once per session', async () => {
    bridge.key = pinKey;
    bridge.specs.set('corp', spec({ publicKey: bridge.publicKey }));
    vkey.prompter.pins = [TEST_PIN, TEST_PIN];
    const d = makeDialer();
    expect(await httpGet(d)).to.include(PAGE);
    expect(await httpGet(d)).to.include(PAGE);
    expect(vkey.prompter.pins).to.have.length(1); // one PIN used
    expect(bridge.signs).to.have.length(1);
  });

  it('policy session: concurrent first connections share one session and one touch', async () => {
    const d = makeDialer();
    const pages = await Promise.all([httpGet(d), httpGet(d), httpGet(d)]);
    for (const p of pages) expect(p).to.include(PAGE);
    expect(await httpGet(d)).to.include(PAGE);
    expect(bridge.signs).to.have.length(1);
    expect(d.states()).to.deep.include({ ...d.states()[0], name: 'corp', state: 'connected', sessions: 1 });
  });

  it('policy connection: every connection opens its own session with its own touch', async () => {
    bridge.specs.set('corp', spec({ policy: 'connection' }));
    const d = makeDialer();
    expect(await httpGet(d)).to.include(PAGE);
    expect(await httpGet(d)).to.include(PAGE);
    expect(bridge.signs).to.have.length(2);
  });

  it('refuses a changed host key, saying which key was offered and which were expected', async () => {
    const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    bridge.specs.set('corp', spec({ hostKeys: [other] }));
    const err = await dialError(makeDialer().dial(app('corp'), HTTP_PORT, AbortSignal.timeout(60_000)));
    expect(err.code).to.equal('HOST_KEY_CHANGED');
    const offered = sha256Fingerprint(Buffer.from(topo!.sshd.hostKeyLine.split(' ')[1], 'base64'));
    const expected = sha256Fingerprint(Buffer.from(other.split(' ')[1], 'base64'));
    expect(err.message)
      .to.include(`offered ED25519 key ${offered}`)
      .and.include(`expected ED25519 ${expected}`);
    expect(bridge.signs).to.have.length(0); // refused before any touch
  });

  it('refuses an unknown host key (never trusted on first use)', async () => {
    bridge.specs.set('corp', spec({ hostKeys: [] }));
    const err = await dialError(makeDialer().dial(app('corp'), HTTP_PORT, AbortSignal.timeout(60_000)));
    expect(err.code, err.message).to.equal('HOST_KEY_UNKNOWN');
    expect(err.message).to.match(/not known: it offered ED25519 key SHA256:/);
  });

  it('after sshd restarts, the next connection reconnects with a new touch', async () => {
    const d = makeDialer();
    expect(await httpGet(d)).to.include(PAGE);
    await topo!.sshd.restart();
    expect(await httpGet(d)).to.include(PAGE);
    expect(bridge.signs).to.have.length(2);
  });

  it('keepalives detect a bastion that stopped answering; the next connection reconnects', async () => {
    bridge.specs.set('corp', spec({ keepaliveSec: 1 }));
    const d = makeDialer();
    expect(await httpGet(d)).to.include(PAGE);
    const dropped = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('session not dropped within 30 s')), 30_000);
      d.on('state', (s: BastionState) => {
        if (s.sessions === 0) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    topo!.sshd.freeze(true);
    try {
      await dropped; // three keepalives unanswered
    } finally {
      topo!.sshd.freeze(false);
    }
    expect(await httpGet(d)).to.include(PAGE);
    expect(bridge.signs).to.have.length(2);
  });

  it('a denied touch fails the connection at once with AUTH_DENIED', async () => {
    vkey.va.setTouchPolicy({ mode: 'deny' });
    const err = await dialError(makeDialer().dial(app('corp'), HTTP_PORT, AbortSignal.timeout(60_000)));
    expect(err.code).to.equal('AUTH_DENIED');
    expect(err.message).to.match(/denied/i);
    expect(states.at(-1)).to.include({ name: 'corp', state: 'error' });
  });

  it('a key sshd does not accept fails with AUTH_DENIED without asking for a touch', async () => {
    topo!.sshd.setAuthorizedKeys([authorizedKeysLine(ed25519)]);
    try {
      const err = await dialError(makeDialer().dial(app('corp'), HTTP_PORT, AbortSignal.timeout(60_000)));
      expect(err.code).to.equal('AUTH_DENIED');
      expect(err.message).to.match(/refused the key sk-ecdsa-sha2-nistp256@openssh\.com \(ecdsa-key\)/);
      expect(bridge.signs).to.have.length(0);
    } finally {
      topo!.sshd.setAuthorizedKeys([ecdsa, ed25519, pinKey].map((k) => authorizedKeysLine(k)));
    }
  });

  it("a refused channel carries sshd's reason", async () => {
    const err = await dialError(makeDialer().dial(app('corp', 9), 9, AbortSignal.timeout(60_000)));
    expect(err.code).to.equal('CHANNEL_REFUSED');
    expect(err.message)
      .to.include(`${ADDR.intranet}:9`)
      .and.match(/Connection refused/);
  });

  it('an unreachable bastion fails with UNREACHABLE', async () => {
    bridge.specs.set('corp', spec({ port: 2 }));
    const err = await dialError(makeDialer().dial(app('corp'), HTTP_PORT, AbortSignal.timeout(60_000)));
    expect(err.code).to.equal('UNREACHABLE');
    expect(err.message).to.include('ECONNREFUSED');
  });

  it('an unknown bastion fails with NO_BASTION', async () => {
    const err = await dialError(makeDialer().dial(app('nope'), HTTP_PORT, AbortSignal.timeout(60_000)));
    expect(err.code).to.equal('NO_BASTION');
  });

  it('jump: an inner bastion reached through the outer one', async () => {
    bridge.specs.set(
      'inner',
      spec({
        name: 'inner',
        host: ADDR.intranet,
        port: INNER_SSH_PORT,
        hostKeys: [topo!.innerSshd!.hostKeyLine],
        jump: 'corp',
      }),
    );
    const d = makeDialer();
    const ch = await d.dial(app('inner', ECHO_PORT, ADDR.intranet), ECHO_PORT, AbortSignal.timeout(60_000));
    const data = randomBytes(100_000);
    expect((await roundTrip(ch, data)).equals(data)).to.equal(true);
    expect(bridge.signs.map((s) => s.purpose.bastion)).to.deep.equal(['corp', 'inner']);
    expect(topo!.innerSshd!.logText).to.match(/Accepted publickey for root from 10\.201\.2\.1 /);
  });

  it('jump loop is refused with NO_BASTION', async () => {
    bridge.specs.set('corp', spec({ jump: 'loop' }));
    bridge.specs.set('loop', spec({ name: 'loop', jump: 'corp' }));
    const err = await dialError(makeDialer().dial(app('corp'), HTTP_PORT, AbortSignal.timeout(60_000)));
    expect(err.code).to.equal('NO_BASTION');
    expect(err.message).to.include('corp → loop → corp');
  });

  it('100 parallel connections through one session, every byte echoed', async () => {
    const d = makeDialer();
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const ch = await d.dial(app('corp', ECHO_PORT), ECHO_PORT, AbortSignal.timeout(60_000));
        const data = randomBytes(64 * 1024);
        return (await roundTrip(ch, data)).equals(data);
      }),
    );
    expect(results.filter(Boolean)).to.have.length(100);
    expect(bridge.signs).to.have.length(1);
    expect(d.states()[0].sessions).to.equal(1);
  });
  describe('with each session in a worker thread', () => {
    it('fetches the page, reuses the session, and reconnects after sshd restarts', async () => {
      const d = makeDialer('worker');
      expect(await httpGet(d)).to.include(PAGE);
      expect(await httpGet(d)).to.include(PAGE);
      expect(bridge.signs).to.have.length(1);
      await topo!.sshd.restart();
      expect(await httpGet(d)).to.include(PAGE);
      expect(bridge.signs).to.have.length(2);
    });

    it('jump through the outer bastion', async () => {
      bridge.specs.set(
        'inner',
        spec({
          name: 'inner',
          host: ADDR.intranet,
          port: INNER_SSH_PORT,
          hostKeys: [topo!.innerSshd!.hostKeyLine],
          jump: 'corp',
        }),
      );
      const ch = await makeDialer('worker').dial(
        app('inner', ECHO_PORT),
        ECHO_PORT,
        AbortSignal.timeout(60_000),
      );
      const data = randomBytes(1_000_000);
      expect((await roundTrip(ch, data)).equals(data)).to.equal(true);
    });

    it('100 parallel connections through one session, every byte echoed', async () => {
      const d = makeDialer('worker');
      const results = await Promise.all(
        Array.from({ length: 100 }, async () => {
          const ch = await d.dial(app('corp', ECHO_PORT), ECHO_PORT, AbortSignal.timeout(60_000));
          const data = randomBytes(64 * 1024);
          return (await roundTrip(ch, data)).equals(data);
        }),
      );
      expect(results.filter(Boolean)).to.have.length(100);
      expect(bridge.signs).to.have.length(1);
    });

    it('a wrong host key is refused with the same clear error', async () => {
      bridge.specs.set('corp', spec({ hostKeys: [] }));
      const err = await dialError(
        makeDialer('worker').dial(app('corp'), HTTP_PORT, AbortSignal.timeout(60_000)),
      );
      expect(err.code, err.message).to.equal('HOST_KEY_UNKNOWN');
      expect(err.message).to.match(/not known: it offered ED25519 key SHA256:/);
    });
  });
});
