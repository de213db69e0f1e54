// The agent's control socket rules without root: hello first and for keyvnet commands only, the uid
// check (through the credentials seam), and operations one at a time with their prompts followed. The
// key is the virtual authenticator behind the real CTAPHID/CTAP2 code; the prompter is scripted.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../../app/agent/control-server';
import type { KeyAccess } from '../../../app/agent/key-operations';
import { WatchedPrompter } from '../../../app/agent/prompt-watch';
import type { PinPrompt } from '../../../app/fido/api';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { ErrorCodes, PROTOCOL_VERSION } from '../../../ipc/messages';
import { RpcError, RpcPeer } from '../../../ipc/rpc';

describe('agent control socket (ControlServer)', () => {
  let dir: string;
  let server: ControlServer;
  let uid: number;
  const logs: string[] = [];
  /** PIN prompts waiting for the test's answer, in order. */
  const asked: Array<{ req: PinPrompt; answer: (pin: string | null) => void }> = [];
  let waitAsk: (() => void) | null = null;
  const nextAsk = () =>
    asked.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => (waitAsk = resolve));

  beforeEach(async function () {
    // Only the idle test waits for the idle timeout; the others must never meet it.
    const idleTimeoutMs = this.currentTest?.title.startsWith('closes a command that says hello')
      ? 50
      : 60_000;
    dir = mkdtempSync(join(tmpdir(), 'kvn-ctl-'));
    logs.length = 0;
    asked.length = 0;
    uid = process.getuid?.() ?? 0;
    const prompts = new WatchedPrompter({
      askPin: (req) =>
        new Promise((resolve) => {
          asked.push({ req, answer: resolve });
          waitAsk?.();
          waitAsk = null;
        }),
      touchNeeded: () => {},
      touchDone: () => {},
    });
    const va = new VirtualAuthenticator({ statePath: join(dir, 'vk.json'), touch: { mode: 'auto' } });
    const key = openVirtualSecurityKey(va, prompts);
    const keys: KeyAccess = {
      list: async () => [{ path: 'virtual:test', product: va.label }],
      use: async (_k, fn) => fn(await key),
    };
    server = new ControlServer({
      keys,
      prompts,
      version: 'test',
      log: (l, m) => logs.push(`${l} ${m}`),
      peerOf: () => ({ uid, pid: 4242 }),
      idleTimeoutMs,
    });
    await server.listen(join(dir, 'run', 'control.sock'));
  });

  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (hello = true): Promise<RpcPeer> => {
    const s = connect(join(dir, 'run', 'control.sock'));
    await new Promise((resolve) => s.once('connect', resolve));
    const peer = new RpcPeer(s, { peerName: 'agent' });
    if (hello)
      await peer.request('hello', { protocol: PROTOCOL_VERSION, version: 'test', role: 'cli', pid: 1 });
    return peer;
  };

  it('refuses a request before hello, and a hello that is not from a keyvnet command', async () => {
    const p = await open(false);
    const err = await p.request('key/list', {}).catch((e: RpcError) => e);
    expect(err).to.be.instanceOf(RpcError);
    expect((err as RpcError).code).to.equal(ErrorCodes.NotAllowed);
    const role = await p
      .request('hello', { protocol: PROTOCOL_VERSION, version: 'x', role: 'agent', pid: 1 })
      .catch((e: RpcError) => e);
    expect((role as RpcError).reason).to.equal('role');
    p.close('done');
  });

  it('closes a command that says hello and then asks nothing', async () => {
    const p = await open();
    const reason = await new Promise<string>((resolve) => p.once('close', resolve));
    expect(reason).to.equal('connection closed');
  });

  it('closes a peer of another uid at once, and says so', async () => {
    uid = 12345;
    const s = connect(join(dir, 'run', 'control.sock'));
    await new Promise((resolve) => s.once('close', resolve));
    expect(logs.join('\n')).to.match(/refused pid 4242 of uid 12345/);
  });

  it('one operation at a time: the second is told it waits, and runs after the first', async () => {
    const a = await open();
    const b = await open();
    const notesB: string[] = [];
    let noted = (): void => {};
    const firstNoteB = new Promise<void>((resolve) => (noted = resolve));
    b.onNotification('progress', (n) => {
      notesB.push(n.message);
      noted();
    });
    const notesA: string[] = [];
    a.onNotification('progress', (n) => notesA.push(n.message));
    const setPin = a.request('key/set-pin', {}, { timeoutMs: 30_000 });
    await nextAsk();
    expect(asked[0].req.entry).to.equal('new');
    const list = b.request('key/list', {});
    // b's request is queued behind a's PIN prompt: it cannot have an answer while the prompt is open.
    await firstNoteB;
    expect(notesB[0]).to.match(/busy with another request/);
    asked.shift()!.answer('123456');
    await nextAsk();
    expect(asked[0].req.entry).to.equal('repeat');
    asked.shift()!.answer('123456');
    expect(await setPin).to.deep.equal({ keyLabel: 'KeyVNet virtual key' });
    expect(notesA.some((n) => /asks: Choose a new PIN/.test(n))).to.equal(true);
    expect((await list).keys[0].info).to.include({ pinSet: true });
    a.close('done');
    b.close('done');
  });

  it('key/sign-userauth: an agent without a sign service refuses it, and says so', async () => {
    const a = await open();
    const err = await a
      .request('key/sign-userauth', { bastion: 'corp', publicKey: 'x', data: '' })
      .catch((e: RpcError) => e);
    expect(err).to.be.instanceOf(RpcError);
    expect((err as RpcError).reason).to.equal('unsupported');
    expect((err as RpcError).message).to.equal('this agent signs no logins for keyvnet commands');
    a.close('done');
  });

  it('a command that disconnects ends its operation: the prompt closes', async () => {
    const a = await open();
    const pending = a.request('key/set-pin', {}, { timeoutMs: 30_000 }).catch(() => 'gone');
    await nextAsk();
    const { req } = asked[0];
    a.close('bye');
    await pending;
    await new Promise<void>((resolve) =>
      req.signal.aborted ? resolve() : req.signal.addEventListener('abort', () => resolve()),
    );
    asked.shift()!.answer(null);
  });
});
