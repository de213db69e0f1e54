import { expect } from 'chai';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FidoError, type Purpose, type SecurityKey } from '../../../app/fido/api';
import { RequestQueue } from '../../../app/fido/request-queue';
import { SshAgent, type SignEvent } from '../../../app/ssh/agent';
import { AgentClient } from '../../../app/ssh/agent-client';
import {
  AgentFrameDecoder,
  encodeSignRequest,
  MAX_AGENT_FRAME,
  parseIdentitiesAnswer,
  parseAgentRequest,
  SSH_AGENT_FAILURE,
  SSH_AGENT_SUCCESS,
} from '../../../app/ssh/agent-protocol';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { encodePublicKeyBlob, type SkKey } from '../../../app/ssh/keys';
import { defaultAgentSocketPath, defaultControlSocketPath } from '../../../app/ssh/socket-path';
import { verifySkSignature } from '../../../app/ssh/signature';
import { SshWriter } from '../../../app/ssh/wire';
import { VectorKey } from './vector-key';

describe('ssh-agent protocol framing', () => {
  it('reassembles frames split anywhere and splits coalesced ones', () => {
    const d = new AgentFrameDecoder();
    const f = (b: number[]): Buffer => Buffer.concat([u32(b.length), Buffer.from(b)]);
    const stream = Buffer.concat([f([11]), f([13, 1, 2]), f([27])]);
    const got: Buffer[] = [];
    for (const byte of stream) got.push(...d.push(Buffer.from([byte])));
    expect(got.map((b) => [...b])).to.deep.equal([[11], [13, 1, 2], [27]]);
    expect(d.pending).to.equal(0);
  });

  it('rejects zero-length and oversized frames', () => {
    expect(() => new AgentFrameDecoder().push(u32(0))).to.throw(/length 0/);
    expect(() => new AgentFrameDecoder().push(u32(MAX_AGENT_FRAME + 1))).to.throw(
      /exceeds the 262144-byte limit/,
    );
  });

  it('parses sign requests and names the truncated field', () => {
    const req = parseAgentRequest(encodeSignRequest(Buffer.from('blob'), Buffer.from('data'), 2));
    expect(req).to.deep.equal({
      kind: 'sign',
      keyBlob: Buffer.from('blob'),
      data: Buffer.from('data'),
      flags: 2,
    });
    expect(() =>
      parseAgentRequest(encodeSignRequest(Buffer.from('blob'), Buffer.from('data')).subarray(0, 15)),
    ).to.throw(/truncated: data to sign/);
    expect(parseAgentRequest(Buffer.from([99]))).to.deep.equal({ kind: 'other', type: 99 });
  });

  it('picks the socket path per platform', () => {
    expect(defaultAgentSocketPath('linux', { XDG_RUNTIME_DIR: '/run/user/501' }, 501)).to.equal(
      '/run/user/501/keyvnet/agent.sock',
    );
    expect(defaultAgentSocketPath('linux', {}, 501)).to.equal('/tmp/keyvnet-501/agent.sock');
    expect(defaultAgentSocketPath('darwin', { TMPDIR: '/var/folders/xy/T/' }, 501)).to.equal(
      '/var/folders/xy/T/keyvnet/agent.sock',
    );
    // The control socket for keyvnet key commands sits beside it.
    expect(defaultControlSocketPath('linux', { XDG_RUNTIME_DIR: '/run/user/501' }, 501)).to.equal(
      '/run/user/501/keyvnet/control.sock',
    );
    expect(defaultControlSocketPath('linux', {}, 501)).to.equal('/tmp/keyvnet-501/control.sock');
    expect(defaultControlSocketPath('darwin', { TMPDIR: '/var/folders/xy/T/' }, 501)).to.equal(
      '/var/folders/xy/T/keyvnet/control.sock',
    );
  });
});

describe('ssh-agent server (Unix socket, vector key)', () => {
  let dir: string;
  let agent: SshAgent;
  let vk: VectorKey;
  let key: SkKey;
  let failNext: FidoError | null = null;
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-sshagent-'));
    vk = new VectorKey();
    key = (await enrollSkKey(vk, { comment: 'test key' }, { purpose: { what: 'enroll', requester: 'app' } }))
      .key;
    const sk: SecurityKey = {
      label: vk.label,
      makeCredential: (r) => vk.makeCredential(r),
      getAssertion: async (r) => {
        const f = failNext;
        failNext = null;
        if (f) throw f;
        return vk.getAssertion(r);
      },
      close: async () => {},
    };
    agent = new SshAgent({
      keys: () => [key],
      securityKey: async () => sk,
      log: (level, m) => logs.push(`${level}: ${m}`),
    });
    await agent.listen(join(dir, 'sub', 'agent.sock'));
  });

  after(async () => {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a private socket in a private directory', () => {
    expect(statSync(agent.path).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o777).to.equal(0o700);
  });

  it('refuses a socket directory others can enter, without touching its mode', async () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(shared, 0o755);
    const other = new SshAgent({ keys: () => [], securityKey: () => Promise.reject(new Error('none')) });
    let err: Error | undefined;
    await other.listen(join(shared, 'agent.sock')).catch((e) => (err = e));
    expect(err?.message).to.match(/must be a private directory .* it is mode 755/);
    expect(statSync(shared).mode & 0o777).to.equal(0o755);
  });

  it('refuses to start over a live agent', async () => {
    const other = new SshAgent({ keys: () => [], securityKey: () => Promise.reject(new Error('none')) });
    let err: Error | undefined;
    await other.listen(agent.path).catch((e) => (err = e));
    expect(err?.message).to.match(/already listening/);
  });

  it('lists identities and signs', async () => {
    const c = await AgentClient.connect(agent.path);
    try {
      const ids = await c.identities();
      expect(ids).to.have.length(1);
      expect(ids[0].comment).to.equal('test key');
      expect(ids[0].keyBlob).to.deep.equal(encodePublicKeyBlob(key));
      const data = Buffer.from('to be signed');
      const sig = await c.sign(ids[0].keyBlob, data);
      expect(sig).to.not.equal(null);
      expect(verifySkSignature(key, data, sig!)).to.not.equal(null);
      expect(await c.sign(Buffer.from('unknown key'), data)).to.equal(null);
    } finally {
      c.close();
    }
  });

  it('answers FAILURE with a clear reason when touch is denied, and reports PIN retries', async () => {
    const c = await AgentClient.connect(agent.path);
    const events: SignEvent[] = [];
    agent.on('sign', (e: SignEvent) => events.push(e));
    try {
      failNext = new FidoError('user-denied', 'denied');
      expect(await c.sign(encodePublicKeyBlob(key), Buffer.from('x'))).to.equal(null);
      failNext = new FidoError('pin-invalid', 'wrong', 5);
      expect(await c.sign(encodePublicKeyBlob(key), Buffer.from('x'))).to.equal(null);
      expect(events.map((e) => e.reason)).to.deep.equal([
        'touch was denied on the security key',
        'wrong PIN (5 retries left)',
      ]);
      expect(logs.some((l) => /^warn: signing with SHA256:\S+ failed: touch was denied/.test(l))).to.equal(
        true,
      );
    } finally {
      agent.removeAllListeners('sign');
      c.close();
    }
  });

  it('answers unknown messages and extensions with FAILURE, session-bind with SUCCESS', async () => {
    const c = await AgentClient.connect(agent.path);
    try {
      expect([...(await c.request(Buffer.from([99])))]).to.deep.equal([SSH_AGENT_FAILURE]);
      const ext = (name: string, body: Buffer): Buffer =>
        new SshWriter().byte(27).string(name).raw(body).toBuffer();
      expect([...(await c.request(ext('query', Buffer.alloc(0))))]).to.deep.equal([SSH_AGENT_FAILURE]);
      // A session-bind whose signature does not verify is refused (the real one: session-bind tests).
      const bind = new SshWriter().string('hostkey').string('sid').string('sig').byte(0).toBuffer();
      expect([...(await c.request(ext('session-bind@openssh.com', bind)))]).to.deep.equal([
        SSH_AGENT_FAILURE,
      ]);
      // Malformed contents inside a well-formed frame: FAILURE, the connection stays usable.
      expect([...(await c.request(Buffer.from([13, 0, 0])))]).to.deep.equal([SSH_AGENT_FAILURE]);
      expect(await c.identities()).to.have.length(1);
    } finally {
      c.close();
    }
  });

  for (const [what, bytes, why] of [
    ['an oversized frame', u32(10 * 1024 * 1024), /exceeds the 262144-byte limit/],
    ['a zero-length frame', u32(0), /length 0/],
  ] as const) {
    it(`closes a client that sends ${what}, and keeps serving others`, async () => {
      logs.length = 0;
      const closed = await new Promise<boolean>((resolve) => {
        const s = createConnection(agent.path, () => s.write(bytes));
        s.on('close', () => resolve(true));
        s.on('error', () => undefined);
      });
      expect(closed).to.equal(true);
      expect(logs.some((l) => l.startsWith('warn: closing client:') && why.test(l))).to.equal(true);
      const c = await AgentClient.connect(agent.path);
      expect(await c.identities()).to.have.length(1);
      c.close();
    });
  }

  it('logs a client that hangs up in the middle of a frame', async () => {
    logs.length = 0;
    await new Promise<void>((resolve) => {
      const s = createConnection(agent.path, () => s.end(Buffer.concat([u32(100), Buffer.from([13, 0])])));
      s.on('close', () => resolve());
      s.resume();
    });
    await waitFor(() => logs.some((l) => /middle of a frame \(6 bytes\)/.test(l)));
  });

  it('answers a client that half-closes after asking', async () => {
    const answer = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = createConnection({ path: agent.path, allowHalfOpen: true }, () =>
        s.end(Buffer.concat([u32(1), Buffer.from([11])])),
      );
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(parseIdentitiesAnswer(answer.subarray(4))).to.have.length(1);
  });

  it('drops a client that floods requests without reading answers', async () => {
    logs.length = 0;
    const flood = Buffer.concat(
      Array.from({ length: 100 }, () => Buffer.concat([u32(1), Buffer.from([11])])),
    );
    await new Promise<void>((resolve) => {
      const s = createConnection(agent.path, () => s.end(flood));
      s.on('close', () => resolve());
      s.on('error', () => undefined);
      s.resume();
    });
    expect(logs).to.include('warn: closing client: more than 64 requests waiting for answers');
  });

  it('serves concurrent clients', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => AgentClient.connect(agent.path)));
    const blob = encodePublicKeyBlob(key);
    const sigs = await Promise.all(clients.map((c, i) => c.sign(blob, Buffer.from(`c${i}`))));
    clients.forEach((c) => c.close());
    expect(sigs.every((s) => s !== null)).to.equal(true);
  });
});

describe('ssh-agent server without a usable security key', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-sshagent-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function oneSign(
    agentOpts: Partial<ConstructorParameters<typeof SshAgent>[0]>,
  ): Promise<SignEvent[]> {
    const vk = new VectorKey();
    const key = (await enrollSkKey(vk, {}, { purpose: { what: 'enroll', requester: 'app' } })).key;
    const events: SignEvent[] = [];
    const agent = new SshAgent({
      keys: () => [key],
      securityKey: async () => vk,
      log: () => undefined,
      ...agentOpts,
    });
    agent.on('sign', (e: SignEvent) => events.push(e));
    await agent.listen(join(dir, `a${Math.random().toString(36).slice(2)}.sock`));
    const c = await AgentClient.connect(agent.path);
    try {
      expect(await c.sign(encodePublicKeyBlob(key), Buffer.from('x'))).to.equal(null);
    } finally {
      c.close();
      await agent.close();
    }
    return events;
  }

  it('answers FAILURE when no security key is plugged in', async () => {
    const events = await oneSign({
      securityKey: () => Promise.reject(new Error('no security key is plugged in')),
    });
    expect(events.map((e) => e.reason)).to.deep.equal(['no security key is plugged in']);
  });

  it('gives up on a request the security key never answers, and cancels it', async () => {
    let aborted = false;
    // Keys honour ctx.timeoutMs through the RequestQueue, as Ctap2SecurityKey does.
    const queue = new RequestQueue();
    const hanging: SecurityKey = {
      label: 'hanging key',
      makeCredential: () => new Promise(() => undefined),
      getAssertion: (_r, ctx) =>
        queue.run(hanging, 'hanging key', ctx, (r) => {
          return new Promise((_resolve, reject) => {
            r.signal.addEventListener('abort', () => {
              aborted = true;
              reject(new FidoError('cancelled', 'cancelled'));
            });
          });
        }),
      close: async () => undefined,
    };
    const events = await oneSign({ securityKey: async () => hanging, requestTimeoutMs: 200 });
    expect(events.map((e) => e.reason)).to.deep.equal(['the request timed out']);
    expect(aborted).to.equal(true);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ssh-agent: session-bind, peers and disconnects', () => {
  let dir: string;
  let vk: VectorKey;
  let key: SkKey;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-sshagent-bind-'));
    vk = new VectorKey();
    key = (await enrollSkKey(vk, { comment: 'bind key' }, { purpose: { what: 'enroll', requester: 'app' } }))
      .key;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** An Ed25519 host key and its session-bind extension message for `sessionId`. */
  function hostBind(sessionId: Buffer, tamper = false): { blob: Buffer; msg: Buffer } {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const blob = new SshWriter().string('ssh-ed25519').string(raw).toBuffer();
    const sig = cryptoSign(null, tamper ? Buffer.from('other session') : sessionId, privateKey);
    const sigBlob = new SshWriter().string('ssh-ed25519').string(sig).toBuffer();
    const body = new SshWriter().string(blob).string(sessionId).string(sigBlob).byte(0).toBuffer();
    return { blob, msg: new SshWriter().byte(27).string('session-bind@openssh.com').raw(body).toBuffer() };
  }

  function userauth(sessionId: Buffer, user: string): Buffer {
    return new SshWriter()
      .string(sessionId)
      .byte(50)
      .string(user)
      .string('ssh-connection')
      .string('publickey')
      .byte(1)
      .string(key.type)
      .string(encodePublicKeyBlob(key))
      .toBuffer();
  }

  it('verifies the host key signature, and names the bound host (known_hosts) in the prompt', async () => {
    const purposes: Purpose[] = [];
    const sk: SecurityKey = {
      label: vk.label,
      makeCredential: (r) => vk.makeCredential(r),
      getAssertion: async (r, ctx) => {
        purposes.push(ctx.purpose);
        return vk.getAssertion(r);
      },
      close: async () => {},
    };
    const sid = Buffer.alloc(32, 7);
    const good = hostBind(sid);
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(
      knownHosts,
      `|1|aGFzaA==|aGFzaA== ssh-rsa AAAA\nbastion.example.com,10.0.0.1 ssh-ed25519 ${good.blob.toString('base64')}\n`,
    );
    const agent = new SshAgent({
      keys: () => [key],
      securityKey: async () => sk,
      log: () => undefined,
      knownHostsFiles: [knownHosts],
    });
    await agent.listen(join(dir, 'a1', 'sock'));
    const c = await AgentClient.connect(agent.path);
    try {
      expect([...(await c.request(hostBind(sid, true).msg))]).to.deep.equal([SSH_AGENT_FAILURE]);
      expect([...(await c.request(good.msg))]).to.deep.equal([SSH_AGENT_SUCCESS]);
      expect([...(await c.request(good.msg))]).to.deep.equal([SSH_AGENT_FAILURE]); // repeated
      expect(await c.sign(encodePublicKeyBlob(key), userauth(sid, 'alice'))).to.not.equal(null);
      // Another session id on this connection is not bound: no host to name.
      expect(await c.sign(encodePublicKeyBlob(key), userauth(Buffer.alloc(32, 9), 'bob'))).to.not.equal(null);
    } finally {
      c.close();
      await agent.close();
    }
    expect(purposes[0]).to.deep.include({ what: 'ssh-login', user: 'alice', host: 'bastion.example.com' });
    expect(purposes[0].process?.pid).to.equal(process.pid);
    expect(purposes[1].host).to.equal(undefined);
  });

  it('refuses peers that are neither our uid nor root, and peers it cannot identify', async () => {
    for (const peer of [{ uid: 4242, pid: 1 }, null]) {
      const logs: string[] = [];
      const agent = new SshAgent({
        keys: () => [key],
        securityKey: async () => vk,
        log: (_l, m) => logs.push(m),
        peerCredentials: () => peer,
      });
      await agent.listen(join(dir, `p${peer?.uid ?? 'none'}`, 'sock'));
      const closed = await new Promise<boolean>((resolve) => {
        const s = createConnection(agent.path, () => s.write(Buffer.from([0, 0, 0, 1, 11])));
        s.on('data', () => resolve(false));
        s.on('close', () => resolve(true));
        s.on('error', () => undefined);
      });
      await agent.close();
      expect(closed).to.equal(true);
      expect(logs.join('\n')).to.match(peer ? /refusing a client running as uid 4242/ : /cannot be read/);
    }
  });

  it('a client that disconnects cancels its pending signature', async () => {
    let aborted: unknown = null;
    let markStarted!: () => void;
    const started = new Promise<void>((r) => (markStarted = r));
    const sk: SecurityKey = {
      label: 'waiting key',
      makeCredential: () => new Promise(() => undefined),
      getAssertion: (_r, ctx) =>
        new Promise((_resolve, reject) => {
          markStarted();
          ctx.signal?.addEventListener('abort', () => {
            aborted = ctx.signal?.reason;
            reject(new FidoError('cancelled', 'cancelled'));
          });
        }),
      close: async () => undefined,
    };
    const agent = new SshAgent({ keys: () => [key], securityKey: async () => sk, log: () => undefined });
    const events: SignEvent[] = [];
    agent.on('sign', (e: SignEvent) => events.push(e));
    await agent.listen(join(dir, 'gone', 'sock'));
    try {
      const s = createConnection(agent.path, () =>
        s.write(frameOf(encodeSignRequest(encodePublicKeyBlob(key), Buffer.from('x')))),
      );
      s.on('error', () => undefined);
      await started;
      s.destroy();
      await waitFor(() => events.length === 1);
    } finally {
      await agent.close();
    }
    expect(events[0].reason).to.equal('the client disconnected');
    expect((aborted as Error).message).to.equal('the client disconnected');
  });
});

function frameOf(body: Buffer): Buffer {
  return Buffer.concat([u32(body.length), body]);
}
