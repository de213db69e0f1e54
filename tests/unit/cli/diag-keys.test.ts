// Which key `keyvnet diag` uses (app/cli/diag-keys.ts): the running agent's, over a real control socket
// (ControlServer with the agent's sign service), when one answers, else the command's own (the
// terminal's) with --no-agent or no agent at the socket. Through the agent the key check is the
// agent's key list, a sign-in's login is signed there after the agent's own checks (a touch, and the
// PIN for a verify-required key, prompted by the agent and reported to the command, which never sees
// the PIN), and a login the agent must not sign is refused before any prompt. The key is the virtual authenticator; it is touched only when a prompt asks for it.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../../app/agent/control-server';
import { AppDirectory } from '../../../app/agent/directory';
import type { KeyAccess } from '../../../app/agent/key-operations';
import { WatchedPrompter } from '../../../app/agent/prompt-watch';
import { SignService } from '../../../app/agent/sign-service';
import type { CliContext, GlobalOptions } from '../../../app/cli/context';
import { diagKeys } from '../../../app/cli/diag-keys';
import type { BastionConfig, UserConfig } from '../../../app/config/types';
import { SignRefusedError } from '../../../app/diag/bastion-paths';
import type { Purpose } from '../../../app/fido/api';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { writePrivateKeyFile } from '../../../app/ssh/keyfile';
import { encodePublicKeyBlob, type SkKey } from '../../../app/ssh/keys';
import { verifySkSignature } from '../../../app/ssh/signature';
import { SshWriter } from '../../../app/ssh/wire';

/** The data of an SSH publickey userauth signature (RFC 4252 §7), as ssh2 builds it. */
function userauth(key: SkKey, user: string, type = 50): Buffer {
  return new SshWriter()
    .string(Buffer.alloc(32, 7))
    .byte(type)
    .string(Buffer.from(user))
    .string(Buffer.from('ssh-connection'))
    .string(Buffer.from('publickey'))
    .byte(1)
    .string(Buffer.from(key.type))
    .string(encodePublicKeyBlob(key))
    .toBuffer();
}

describe('keyvnet diag: the agent’s key or the terminal’s', () => {
  let dir: string;
  let socket: string;
  let va: VirtualAuthenticator;
  let sk: Promise<Ctap2SecurityKey>;
  let server: ControlServer;
  let key: SkKey;
  let bastion: BastionConfig;
  /** A bastion whose key is verify-required: every signature needs the PIN. */
  let vault: BastionConfig;
  let vaultKey: SkKey;
  let stderr: string;
  let ctx: CliContext;
  /** Purposes of the touch prompts shown (each is answered by a touch), and of the PIN prompts. */
  const touches: Purpose[] = [];
  const pins: Purpose[] = [];
  const PIN = '246810';
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-diagkeys-'));
    socket = join(dir, 'run', 'control.sock');
    va = new VirtualAuthenticator({ statePath: join(dir, 'vk.json'), pin: PIN, touch: { mode: 'manual' } });
    const prompts = new WatchedPrompter({
      // The agent's own PIN prompt (its dialog or terminal): answered here, in the agent.
      askPin: async (req) => {
        pins.push(req.purpose);
        return PIN;
      },
      // The key waits for a touch when it asks for one: touched only then, never by a timer.
      touchNeeded: (req) => {
        touches.push(req.purpose);
        setImmediate(() => va.touch());
      },
      touchDone: () => {},
    });
    sk = openVirtualSecurityKey(va, prompts);
    key = (
      await enrollSkKey(await sk, { comment: 'me@test' }, { purpose: { what: 'enroll', requester: 'app' } })
    ).key;
    writeFileSync(join(dir, 'id_ecdsa_sk'), writePrivateKeyFile(key), { mode: 0o600 });
    vaultKey = (
      await enrollSkKey(
        await sk,
        { comment: 'vault@test', verifyRequired: true },
        { purpose: { what: 'enroll', requester: 'app' } },
      )
    ).key;
    writeFileSync(join(dir, 'id_vault_sk'), writePrivateKeyFile(vaultKey), { mode: 0o600 });
    bastion = {
      name: 'corp',
      host: 'bastion.corp.test',
      port: 22,
      user: 'alice',
      keyPath: join(dir, 'id_ecdsa_sk'),
      hostKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'],
      knownHostsPath: join(dir, 'known_hosts'),
      policy: 'session',
      keepaliveSec: 30,
      maxSessionAgeSec: 0,
      jump: null,
    };
    vault = { ...bastion, name: 'vault', host: 'vault.corp.test', keyPath: join(dir, 'id_vault_sk') };
    const config: UserConfig = {
      path: join(dir, 'config.toml'),
      vnet: { range: '100.64.0.0/10', ipv6: true, mtu: null },
      bastions: [bastion, vault],
      zones: [],
      apps: [],
    };
    const directory = new AppDirectory(config);
    const keys: KeyAccess = {
      list: async () => [{ path: 'virtual:agent', product: 'the agent’s key' }],
      use: async (_k, fn) => fn(await sk),
    };
    server = new ControlServer({
      keys,
      prompts,
      logins: new SignService({
        directory: () => directory,
        securityKey: async () => sk,
        log: (m) => logs.push(`info ${m}`),
      }),
      version: 'test',
      log: (l, m) => logs.push(`${l} ${m}`),
    });
    await server.listen(socket);
    touches.length = 0;
    pins.length = 0;
  });

  beforeEach(() => {
    stderr = '';
    logs.length = 0;
    ctx = {
      out: () => undefined,
      err: (t) => (stderr += t),
      env: {},
      platform: 'linux',
      version: 'test',
      root: dir,
    };
  });

  after(async () => {
    await server?.close();
    (await sk)?.close().catch(() => undefined);
    va?.unplug();
    rmSync(dir, { recursive: true, force: true });
  });

  const noTerminal = (): KeyAccess => {
    throw new Error('the terminal’s key must not be opened while an agent answers');
  };

  it('an agent answers: the key check is its key list, and it signs the sign-in after a touch it prompts for', async () => {
    const g: GlobalOptions = { agentSocket: socket };
    const keys = await diagKeys(ctx, g, noTerminal);
    expect(keys.kind).to.equal('agent');
    expect(keys.via).to.match(new RegExp(`^asked through the KeyVNet agent \\(pid ${process.pid}, `));
    const rows = await keys.securityKeys();
    expect(rows.map((r) => [r.path, r.info?.label])).to.deep.equal([
      ['virtual:agent', 'KeyVNet virtual key'],
    ]);

    const data = userauth(key, 'alice');
    touches.length = 0;
    const sig = await keys.signer.sign(bastion, key, data, AbortSignal.timeout(60_000));
    expect(verifySkSignature(key, data, sig)).to.not.equal(null);
    // The touch was the agent's prompt, for this command, and the command was told.
    expect(touches).to.have.length(1);
    expect(touches[0]).to.deep.include({
      what: 'ssh-login',
      bastion: 'corp',
      user: 'alice',
      requester: 'app',
    });
    expect(touches[0].process?.name).to.equal('keyvnet');
    expect(stderr).to.contain(
      'The KeyVNet agent asks: Touch your security key to connect to corp (bastion.corp.test)\n',
    );
    expect(logs.join('\n')).to.match(
      /signed a login to alice@bastion\.corp\.test for bastion corp \(for keyvnet, pid \d+\)/,
    );
    keys.close();
  });

  it('a verify-required key: the agent asks the PIN on its own prompter; the command is only told', async () => {
    const keys = await diagKeys(ctx, { agentSocket: socket }, noTerminal);
    const data = userauth(vaultKey, 'alice');
    pins.length = 0;
    const sig = await keys.signer.sign(vault, vaultKey, data, AbortSignal.timeout(60_000));
    const signed = verifySkSignature(vaultKey, data, sig);
    expect(signed).to.not.equal(null);
    expect(signed!.flags & 0x04, 'user verified').to.equal(0x04);
    expect(pins).to.have.length(1);
    expect(pins[0]).to.deep.include({ what: 'ssh-login', bastion: 'vault', requester: 'app' });
    expect(stderr).to.contain(
      "The KeyVNet agent asks: Enter the PIN of KeyVNet virtual key (at the agent's prompt)\n",
    );
    expect(stderr).not.to.contain(PIN);
    keys.close();
  });

  it('the agent refuses a bastion it does not have, another user, or data that is no login: nothing prompted', async () => {
    const keys = await diagKeys(ctx, { agentSocket: socket }, noTerminal);
    touches.length = 0;
    const refused = async (b: BastionConfig, data: Buffer): Promise<SignRefusedError> => {
      const err = await keys.signer.sign(b, key, data, AbortSignal.timeout(60_000)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(SignRefusedError);
      return err as SignRefusedError;
    };
    expect((await refused({ ...bastion, name: 'elsewhere' }, userauth(key, 'alice'))).message).to.equal(
      'the KeyVNet agent is refusing to sign: no bastion "elsewhere" in the configuration',
    );
    expect((await refused(bastion, userauth(key, 'root'))).message).to.match(
      /^the KeyVNet agent is refusing to sign: the login is for root with another key or service/,
    );
    expect((await refused(bastion, userauth(key, 'alice', 51))).message).to.equal(
      'the KeyVNet agent is refusing to sign: not an SSH login request',
    );
    expect(touches).to.deep.equal([]);
    expect(stderr).not.to.contain('asks');
    expect(logs.filter((l) => l.includes('refused to sign a login: '))).to.have.length(3);
  });

  it('--no-agent: the terminal’s key, without a word to the agent', async () => {
    let opened = 0;
    const keys = await diagKeys(ctx, { agentSocket: socket, agent: false }, () => {
      opened++;
      return {
        list: async () => [{ path: 'virtual:terminal', product: 'mine' }],
        use: async (_k, fn) => fn(await sk),
      };
    });
    expect(keys.kind).to.equal('terminal');
    expect(keys.via).to.equal('opened by this command (--no-agent)');
    expect(opened).to.equal(1);
    expect((await keys.securityKeys()).map((r) => r.path)).to.deep.equal(['virtual:terminal']);
    expect(logs).to.deep.equal([]); // no control request
    keys.close();
  });

  it('a socket that answers but is no agent (closes at once): said, and the terminal’s key is used', async () => {
    const path = join(dir, 'broken.sock');
    const broken = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => broken.listen(path, resolve));
    try {
      const keys = await diagKeys(ctx, { agentSocket: path }, () => ({
        list: async () => [{ path: 'virtual:terminal', product: 'mine' }],
        use: async (_k, fn) => fn(await sk),
      }));
      expect(keys.kind).to.equal('terminal');
      expect(keys.via).to.match(
        new RegExp(`^opened by this command \\(the KeyVNet agent at ${path} refused us: `),
      );
      expect(stderr).to.match(/; using the security key from this terminal\n$/);
      keys.close();
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  it('no agent at the socket: the terminal’s key signs the sign-in itself', async () => {
    const keys = await diagKeys(ctx, { agentSocket: join(dir, 'nothing.sock') }, () => ({
      list: async () => [{ path: 'virtual:terminal', product: 'mine' }],
      use: async (_k, fn) => fn(await sk),
    }));
    expect(keys.kind).to.equal('terminal');
    expect(keys.via).to.equal(`opened by this command (no KeyVNet agent at ${join(dir, 'nothing.sock')})`);
    const data = userauth(key, 'alice');
    touches.length = 0;
    const sig = await keys.signer.sign(bastion, key, data, AbortSignal.timeout(60_000));
    expect(verifySkSignature(key, data, sig)).to.not.equal(null);
    expect(touches.map((p) => p.requester)).to.deep.equal(['app']);
    expect(touches[0].process).to.equal(undefined); // asked here, not through the agent
    expect(stderr).not.to.contain('The KeyVNet agent asks');
    expect(logs).to.deep.equal([]);
    keys.close();
  });
});
