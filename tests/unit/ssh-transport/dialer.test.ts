// SshDialer interleavings, forced deterministically: signatures held or failed by the test's
// agent bridge, channel requests held, refused or dropped by an in-process SSH server.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { Connection, ServerChannel } from 'ssh2';
import type { SkKey } from '../../../app/ssh/keys';
import { SshDialer } from '../../../systemext/ssh/dialer';
import type { BastionSpec, BastionState, SshDialerOptions } from '../../../systemext/ssh/types';
import { DialError } from '../../../systemext/vnet/dialer';
import type { AppInfo } from '../../../systemext/vnet/resolver';
import { echo, TestBastion } from './test-bastion';
import { VirtualBridge, VirtualKey } from './virtual-bridge';

const APP: AppInfo = {
  fqdn: 'echo.corp.test',
  allowedPorts: [],
  target: { host: 'echo.internal' },
  via: 'corp',
};

function roundTrip(ch: Duplex, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    ch.on('data', (d: Buffer) => parts.push(d));
    ch.once('error', reject);
    ch.once('end', () => resolve(Buffer.concat(parts)));
    ch.end(data);
  });
}

async function echoes(ch: Duplex): Promise<boolean> {
  const data = randomBytes(10_000);
  return (await roundTrip(ch, data)).equals(data);
}

function errorOf(p: Promise<unknown>): Promise<DialError> {
  return p.then(
    () => {
      throw new Error('the dial succeeded');
    },
    (e: DialError) => e,
  );
}

/** Resolves when the client closes a server-side channel. */
function closedByClient(ch: ServerChannel): Promise<void> {
  ch.resume();
  return new Promise((resolve) => ch.once('close', () => resolve()));
}

function connClosed(conn: Connection): Promise<void> {
  return new Promise((resolve) => (conn as unknown as EventEmitter).once('close', () => resolve()));
}

/** A gate the test opens or fails; `entered` resolves when something waits on it. */
class Gate {
  entered!: Promise<AbortSignal>;
  private onEnter!: (s: AbortSignal) => void;
  private open!: () => void;
  private fail!: (e: Error) => void;
  constructor() {
    this.entered = new Promise((r) => (this.onEnter = r));
  }
  wait = (_p: unknown, signal: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      this.open = resolve;
      this.fail = reject;
      signal.addEventListener('abort', () => reject(new Error('the operation was cancelled')));
      this.onEnter(signal);
    });
  release(): void {
    this.open();
  }
  reject(e: Error): void {
    this.fail(e);
  }
}

for (const thread of ['main', 'worker'] as const)
  describe(`SshDialer, sessions in the ${thread} thread (in-process SSH server)`, function () {
    this.timeout(30_000);
    let vkey: VirtualKey;
    let key: SkKey;
    let bastion: TestBastion;
    let bridge: VirtualBridge;
    let dialer: SshDialer | undefined;
    const states: BastionState[] = [];

    before(async () => {
      vkey = await VirtualKey.open();
      key = await vkey.enroll({ comment: 'unit-key' });
    });
    after(() => vkey.close());

    beforeEach(async () => {
      bastion = await TestBastion.start();
      bridge = new VirtualBridge(vkey, key);
      bridge.specs.set('corp', spec({}));
      states.length = 0;
    });

    afterEach(async () => {
      await dialer?.close();
      dialer = undefined;
      await bastion.close();
    });

    function spec(over: Partial<BastionSpec>): BastionSpec {
      return {
        name: 'corp',
        host: '127.0.0.1',
        port: bastion.port,
        user: 'alice',
        hostKeys: [bastion.hostKeyLine],
        publicKey: bridge.publicKey,
        policy: 'session',
        keepaliveSec: 15,
        maxSessionAgeSec: 3600,
        jump: null,
        ...over,
      };
    }

    function makeDialer(opts: SshDialerOptions = {}): SshDialer {
      dialer = new SshDialer(bridge, { thread, ...opts });
      dialer.on('state', (s: BastionState) => states.push(s));
      return dialer;
    }

    const dial = (d: SshDialer, signal = new AbortController().signal) => d.dial(APP, 7, signal);

    it('two concurrent first dials wait for the same session: one signature', async () => {
      const d = makeDialer();
      const gate = new Gate();
      bridge.beforeSign = gate.wait;
      const a = dial(d);
      await gate.entered; // the first dial is at the touch prompt…
      const b = dial(d); // …when the second arrives
      gate.release();
      const [ca, cb] = await Promise.all([a, b]);
      expect(await echoes(ca)).to.equal(true);
      expect(await echoes(cb)).to.equal(true);
      expect(bridge.signs).to.have.length(1);
      expect(bastion.sessions).to.have.length(1);
    });

    it('a signature that fails while dials wait fails them all at once with AUTH_DENIED', async () => {
      const d = makeDialer();
      const gate = new Gate();
      bridge.beforeSign = gate.wait;
      const a = dial(d);
      await gate.entered;
      const b = dial(d);
      gate.reject(new Error('touch was denied on the security key'));
      const [ea, eb] = await Promise.all([errorOf(a), errorOf(b)]);
      expect(ea.code).to.equal('AUTH_DENIED');
      expect(ea.message).to.equal(
        `signing in to bastion corp (127.0.0.1:${bastion.port}) failed: touch was denied on the security key`,
      );
      expect(eb).to.equal(ea);
      expect(states.at(-1)).to.include({ state: 'error', reason: ea.message, touches: 1 });
    });

    it('a prompt cancelled by the user (a DialError from the bridge) fails every waiter with it', async () => {
      const d = makeDialer();
      const gate = new Gate();
      bridge.beforeSign = gate.wait;
      const a = dial(d);
      await gate.entered;
      const b = dial(d);
      const cancelled = new DialError('the touch prompt was cancelled', 'CANCELLED');
      gate.reject(cancelled);
      // The same error (a copy when it crossed from a session worker).
      expect(await errorOf(a)).to.include({ code: 'CANCELLED', message: cancelled.message });
      expect(await errorOf(b)).to.include({ code: 'CANCELLED', message: cancelled.message });
    });

    it('one of two waiting dials aborted: the other still gets the session, one signature', async () => {
      const d = makeDialer();
      const gate = new Gate();
      bridge.beforeSign = gate.wait;
      const ac = new AbortController();
      const a = dial(d, ac.signal);
      const signSignal = await gate.entered;
      const b = dial(d);
      ac.abort();
      expect((await errorOf(a)).code).to.equal('CANCELLED');
      expect(signSignal.aborted).to.equal(false);
      gate.release();
      expect(await echoes(await b)).to.equal(true);
      expect(bridge.signs).to.have.length(1);
    });

    it('every waiting dial aborted: the signature request (touch prompt) is cancelled', async () => {
      const d = makeDialer();
      const gate = new Gate();
      bridge.beforeSign = gate.wait;
      const ac1 = new AbortController();
      const ac2 = new AbortController();
      const a = dial(d, ac1.signal);
      const signSignal = await gate.entered;
      const b = dial(d, ac2.signal);
      ac1.abort();
      ac2.abort();
      expect(signSignal.aborted).to.equal(true);
      expect((await errorOf(a)).code).to.equal('CANCELLED');
      expect((await errorOf(b)).code).to.equal('CANCELLED');
    });

    it('a set-up longer than its deadline fails every waiter with SETUP_TIMEOUT', async () => {
      const d = makeDialer({ setupTimeoutMs: 50 });
      bridge.beforeSign = new Gate().wait; // never touched
      const errs = await Promise.all([errorOf(dial(d)), errorOf(dial(d))]);
      expect(errs.map((e) => e.code)).to.deep.equal(['SETUP_TIMEOUT', 'SETUP_TIMEOUT']);
      expect(errs[0].message).to.match(/took longer than 50 ms \(touch, PIN or network\)/);
    });

    it('the session dropping while a channel opens: the dial reconnects once', async () => {
      const d = makeDialer();
      expect(await echoes(await dial(d))).to.equal(true); // session 1 is live
      bastion.onTcpip = (_req, conn) => {
        bastion.onTcpip = echo;
        conn.end(); // drop session 1 instead of answering
      };
      expect(await echoes(await dial(d))).to.equal(true);
      expect(bridge.signs).to.have.length(2);
      expect(bastion.sessions).to.have.length(2);
    });

    it('the session dropping again on the retry fails with UNREACHABLE', async () => {
      const d = makeDialer();
      await dial(d).then((ch) => ch.destroy());
      bastion.onTcpip = (_req, conn) => conn.end();
      const err = await errorOf(dial(d));
      expect(err.code).to.equal('UNREACHABLE');
      expect(err.message).to.match(/ended while opening echo\.internal:7/);
    });

    it('a channel open past its deadline fails with CHANNEL_TIMEOUT; the late channel is closed', async () => {
      const d = makeDialer({ channelTimeoutMs: 50 });
      let late: (() => ServerChannel) | null = null;
      bastion.onTcpip = ({ accept }) => (late = accept);
      const err = await errorOf(dial(d));
      expect(err.code).to.equal('CHANNEL_TIMEOUT');
      expect(late).to.not.equal(null);
      await closedByClient(late!()); // the dialer closes the channel that came too late
    });

    it("a refused channel fails with CHANNEL_REFUSED and the server's reason", async () => {
      const d = makeDialer();
      bastion.onTcpip = ({ reject }) => reject();
      const err = await errorOf(dial(d));
      expect(err.code).to.equal('CHANNEL_REFUSED');
      expect(err.message).to.match(/refused echo\.internal:7: connect failed$/);
    });

    it('a dial aborted while its channel opens fails with CANCELLED', async () => {
      const d = makeDialer();
      await dial(d).then((ch) => ch.destroy());
      const ac = new AbortController();
      let late: (() => ServerChannel) | null = null;
      bastion.onTcpip = ({ accept }) => {
        late = accept;
        ac.abort();
      };
      expect((await errorOf(dial(d, ac.signal))).code).to.equal('CANCELLED');
      await closedByClient(late!());
    });

    it('bounds dials in flight and channels per session (BUSY)', async () => {
      const d = makeDialer({ maxDialsInFlight: 1, maxChannelsPerSession: 1 });
      const gate = new Gate();
      bridge.beforeSign = gate.wait;
      const a = dial(d);
      await gate.entered;
      expect((await errorOf(dial(d))).code).to.equal('BUSY'); // one dial in flight already
      gate.release();
      const ch = await a;
      const err = await errorOf(dial(d));
      expect(err.code).to.equal('BUSY'); // one channel on the session already
      expect(err.message).to.match(/too many connections through bastion corp/);
      await echoes(ch);
      await new Promise((r) => setImmediate(r));
      expect(await echoes(await dial(d))).to.equal(true);
    });

    it('bounds SSH sessions, counting those being set up (BUSY)', async () => {
      bridge.specs.set('corp', spec({ policy: 'connection' }));
      const d = makeDialer({ maxSessions: 1 });
      const first = await dial(d); // the policy is known from now on
      const closed = new Promise<void>((resolve) =>
        d.on('state', (st: BastionState) => st.sessions === 0 && resolve()),
      );
      first.destroy();
      await closed;
      const gate = new Gate();
      bridge.beforeSign = gate.wait;
      const a = dial(d);
      await gate.entered;
      const err = await errorOf(dial(d));
      expect(err).to.include({ code: 'BUSY', message: 'too many SSH sessions open (1)' });
      gate.release();
      (await a).destroy();
    });

    it("policy 'connection': concurrent first dials get a session (and signature) each", async () => {
      bridge.specs.set('corp', spec({ policy: 'connection' }));
      const d = makeDialer();
      const [a, b] = await Promise.all([dial(d), dial(d)]);
      expect(bridge.signs).to.have.length(2);
      expect(bastion.sessions).to.have.length(2);
      expect(await echoes(a)).to.equal(true);
      a.destroy();
      await connClosed(bastion.sessions[0]); // closed with its channel
      expect(await echoes(b)).to.equal(true);
    });

    it('a channel destroyed unread (a reset connection) is released: its private session closes', async () => {
      bridge.specs.set('corp', spec({ policy: 'connection' }));
      const d = makeDialer();
      bastion.onTcpip = ({ accept }) => accept().end('banner the client never reads');
      const ch = await dial(d);
      const closed = connClosed(bastion.sessions[0]);
      ch.destroy();
      await closed;
    });

    it('disconnect() closes the session; the next dial signs again', async () => {
      const d = makeDialer();
      expect(await echoes(await dial(d))).to.equal(true);
      const idle = new Promise<void>((resolve) =>
        d.on('state', (st: BastionState) => st.state === 'idle' && st.sessions === 0 && resolve()),
      );
      const closed = connClosed(bastion.sessions[0]);
      d.disconnect('corp');
      await Promise.all([idle, closed]);
      expect(await echoes(await dial(d))).to.equal(true);
      expect(bridge.signs).to.have.length(2);
    });

    it('a session past its maximum age serves no new dial; it ends with its last channel', async () => {
      bridge.specs.set('corp', spec({ maxSessionAgeSec: 60 }));
      let now = 1_000_000;
      const d = makeDialer({ now: () => now });
      const old = await dial(d);
      now += 59_000;
      (await dial(d)).destroy(); // still young: same session
      expect(bridge.signs).to.have.length(1);
      now += 1_000;
      const fresh = await dial(d); // 60 s old: a new session, a new touch
      expect(bridge.signs).to.have.length(2);
      expect(bastion.sessions).to.have.length(2);
      expect(await echoes(old)).to.equal(true); // the old session still carries its connection…
      await connClosed(bastion.sessions[0]); // …and closes once it has none
      expect(await echoes(fresh)).to.equal(true);
    });

    it('NO_BASTION for an unknown bastion or a direct app', async () => {
      const d = makeDialer();
      expect((await errorOf(d.dial({ ...APP, via: 'nope' }, 7, new AbortController().signal))).code).to.equal(
        'NO_BASTION',
      );
      expect(
        (await errorOf(d.dial({ ...APP, via: 'direct' }, 7, new AbortController().signal))).code,
      ).to.equal('NO_BASTION');
    });

    it('a jump through itself is refused', async () => {
      bridge.specs.set('corp', spec({ jump: 'corp' }));
      const err = await errorOf(dial(makeDialer()));
      expect(err).to.include({ code: 'NO_BASTION', message: 'bastion jump loop: corp → corp' });
    });

    it("reports 'error' events with the bastion and code", async () => {
      const d = makeDialer();
      const seen: unknown[] = [];
      d.on('error', (e) => seen.push(e));
      bastion.onTcpip = ({ reject }) => reject();
      await errorOf(dial(d));
      expect(seen).to.have.length(1);
      expect(seen[0]).to.include({ bastion: 'corp', code: 'CHANNEL_REFUSED' });
    });
  });
