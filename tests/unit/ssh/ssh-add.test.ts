// Key files and ssh-add with OpenSSH's own tools (issue 10 §2, no root needed): `ssh-add` of our sk
// key files (plain and passphrase-protected), -l/-d/-D, -x/-X (lock), -c (confirm each use),
// `ssh-keygen -p` putting a passphrase on our file and our agent reading it back through the
// prompter (once per run), `ssh-keygen -y` reading our own encrypted files.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ConfirmPrompt, PassphrasePrompt, UserPrompter } from '../../../app/fido/api';
import type { Ctap2SecurityKey } from '../../../app/fido/security-key';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { SshAgent } from '../../../app/ssh/agent';
import { AgentClient } from '../../../app/ssh/agent-client';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { SkKeyDirectory } from '../../../app/ssh/key-store';
import { KeyFileUnlocker } from '../../../app/ssh/key-unlock';
import { parsePrivateKeyFile, readPrivateKeyFile, writePrivateKeyFile } from '../../../app/ssh/keyfile';
import { encodePublicKeyBlob, fingerprintLine, publicKeyLine, type SkKey } from '../../../app/ssh/keys';
import { verifySkSignature } from '../../../app/ssh/signature';

const execFileP = promisify(execFile);

class TestPrompter implements UserPrompter {
  passphrases: (string | null)[] = [];
  passphraseAsks: PassphrasePrompt[] = [];
  confirmAnswers: boolean[] = [];
  confirmAsks: ConfirmPrompt[] = [];
  async askPin(): Promise<string | null> {
    return null;
  }
  touchNeeded(): void {}
  touchDone(): void {}
  async askPassphrase(req: PassphrasePrompt): Promise<string | null> {
    this.passphraseAsks.push(req);
    return this.passphrases.shift() ?? null;
  }
  async confirm(req: ConfirmPrompt): Promise<boolean> {
    this.confirmAsks.push(req);
    return this.confirmAnswers.shift() ?? false;
  }
}

describe('ssh key files and ssh-add with OpenSSH tools', () => {
  let dir: string;
  let va: VirtualAuthenticator;
  let sk: Ctap2SecurityKey;
  let key: SkKey;
  let other: SkKey;
  const prompter = new TestPrompter();
  const enroll = { purpose: { what: 'enroll' as const, requester: 'app' as const } };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-sshadd-'));
    va = new VirtualAuthenticator();
    sk = await openVirtualSecurityKey(va, prompter);
    key = (await enrollSkKey(sk, { comment: 'added@test' }, enroll)).key;
    other = (await enrollSkKey(sk, { algorithm: 'ed25519', comment: 'other@test' }, enroll)).key;
  });
  after(async () => {
    await sk.close();
    va.unplug();
    rmSync(dir, { recursive: true, force: true });
  });

  function keyFile(name: string, k: SkKey, passphrase?: string): string {
    const file = join(dir, name);
    writeFileSync(file, writePrivateKeyFile(k, passphrase), { mode: 0o600 });
    writeFileSync(`${file}.pub`, `${publicKeyLine(k, k.comment)}\n`);
    return file;
  }

  async function withAgent(
    opts: Partial<ConstructorParameters<typeof SshAgent>[0]>,
    fn: (agent: SshAgent, env: NodeJS.ProcessEnv) => Promise<void>,
  ): Promise<void> {
    const agent = new SshAgent({
      keys: () => [],
      securityKey: async () => sk,
      log: () => undefined,
      prompter,
      ...opts,
    });
    await agent.listen(join(dir, `agent-${Math.random().toString(36).slice(2)}`, 'sock'));
    try {
      await fn(agent, { ...process.env, SSH_AUTH_SOCK: agent.path });
    } finally {
      await agent.close();
    }
  }

  describe('passphrase-protected key files', () => {
    it('reads back a file that ssh-keygen -p put a passphrase on, asking once per run', async () => {
      const file = keyFile('id_ecdsa_sk', key);
      await execFileP('ssh-keygen', ['-p', '-P', '', '-N', 'correct horse', '-f', file]);
      expect(parsePrivateKeyFile(readFileSync(file, 'utf8')).encrypted).to.equal(true);
      const unlocker = new KeyFileUnlocker(prompter);
      prompter.passphrases = ['wrong', 'correct horse'];
      prompter.passphraseAsks = [];
      const ctx = { purpose: { what: 'ssh-login' as const, requester: 'daemon' as const } };
      const opened = await unlocker.open(file, ctx);
      expect(opened).to.deep.equal(key);
      expect(prompter.passphraseAsks.map((a) => [a.file, a.attempt])).to.deep.equal([
        [file, 0],
        [file, 1],
      ]);
      // Once per agent run: the second use asks nothing.
      expect(await unlocker.open(file, ctx)).to.deep.equal(key);
      expect(prompter.passphraseAsks).to.have.length(2);
      // A cancelled prompt is a clear failure, not a retry loop.
      const fresh = new KeyFileUnlocker(prompter);
      prompter.passphrases = [null];
      let err: Error | undefined;
      await fresh.open(file, ctx).catch((e: Error) => (err = e));
      expect(err?.message).to.match(/No passphrase was given/);
    });

    it('writes files ssh-keygen opens with the passphrase (and refuses without)', async () => {
      const file = keyFile('id_enc', key, 'pass phrase');
      const y = (await execFileP('ssh-keygen', ['-y', '-P', 'pass phrase', '-f', file])).stdout.trim();
      expect(y).to.equal(publicKeyLine(key, key.comment));
      let failed = false;
      await execFileP('ssh-keygen', ['-y', '-P', 'nope', '-f', file]).catch(() => (failed = true));
      expect(failed).to.equal(true);
      expect(() => readPrivateKeyFile(readFileSync(file, 'utf8'), 'nope')).to.throw(/wrong passphrase/);
    });

    it('the agent lists a locked file by its .pub comment and asks the passphrase on first use', async () => {
      const keysDir = join(dir, 'keys');
      const store = new SkKeyDirectory(keysDir, () => undefined, new KeyFileUnlocker(prompter));
      store.save(key, 'dir secret');
      await withAgent({ keys: () => store.keys() }, async (agent, env) => {
        const l = (await execFileP('ssh-add', ['-l'], { env })).stdout;
        expect(l).to.equal(`${fingerprintLine(key, key.comment)}\n`);
        prompter.passphrases = ['dir secret'];
        prompter.passphraseAsks = [];
        const c = await AgentClient.connect(agent.path);
        try {
          for (let i = 0; i < 2; i++) {
            const data = Buffer.from(`data ${i}`);
            const sig = await c.sign(encodePublicKeyBlob(key), data);
            expect(sig && verifySkSignature(key, data, sig)).to.not.equal(null);
          }
        } finally {
          c.close();
        }
        expect(prompter.passphraseAsks).to.have.length(1);
      });
    });
  });

  describe('ssh-add', () => {
    it('adds our key files (plain and with a passphrase), lists, removes one (-d) and all (-D)', async () => {
      const plain = keyFile('id_plain', key);
      const locked = keyFile('id_locked', other, 'add me');
      const askpass = join(dir, 'askpass.sh');
      writeFileSync(askpass, '#!/bin/sh\necho "add me"\n');
      chmodSync(askpass, 0o700);
      await withAgent({}, async (agent, env) => {
        await execFileP('ssh-add', [plain], { env });
        await execFileP('ssh-add', [locked], {
          env: { ...env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':none' },
        });
        const l = (await execFileP('ssh-add', ['-l'], { env })).stdout;
        expect(l).to.equal(
          `${fingerprintLine(key, key.comment)}\n${fingerprintLine(other, other.comment)}\n`,
        );
        // The added key signs.
        const c = await AgentClient.connect(agent.path);
        const data = Buffer.from('after ssh-add');
        const sig = await c.sign(encodePublicKeyBlob(other), data);
        c.close();
        expect(sig && verifySkSignature(other, data, sig)).to.not.equal(null);
        await execFileP('ssh-add', ['-d', plain], { env });
        expect((await execFileP('ssh-add', ['-l'], { env })).stdout).to.equal(
          `${fingerprintLine(other, other.comment)}\n`,
        );
        await execFileP('ssh-add', ['-D'], { env });
        const empty = await execFileP('ssh-add', ['-l'], { env }).catch((e: { stdout: string }) => e);
        expect(empty.stdout).to.match(/The agent has no identities/);
      });
    });

    it('ssh-add -D also hides configured keys for this run', async () => {
      await withAgent({ keys: () => [key] }, async (_agent, env) => {
        await execFileP('ssh-add', ['-D'], { env });
        const empty = await execFileP('ssh-add', ['-l'], { env }).catch((e: { stdout: string }) => e);
        expect(empty.stdout).to.match(/The agent has no identities/);
      });
    });

    it('ssh-add -x locks (nothing listed or signed) and -X unlocks only with the same passphrase', async () => {
      const askpass = (pw: string): NodeJS.ProcessEnv => {
        const f = join(dir, `askpass-${pw}.sh`);
        writeFileSync(f, `#!/bin/sh\necho "${pw}"\n`);
        chmodSync(f, 0o700);
        return { SSH_ASKPASS: f, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':none' };
      };
      await withAgent({ keys: () => [key] }, async (agent, env) => {
        await execFileP('ssh-add', ['-x'], { env: { ...env, ...askpass('lockpw') } });
        expect(agent.locked).to.equal(true);
        const c = await AgentClient.connect(agent.path);
        expect(await c.identities()).to.deep.equal([]);
        expect(await c.sign(encodePublicKeyBlob(key), Buffer.from('x'))).to.equal(null);
        c.close();
        let failed = false;
        await execFileP('ssh-add', ['-X'], { env: { ...env, ...askpass('wrong') } }).catch(
          () => (failed = true),
        );
        expect(failed).to.equal(true);
        expect(agent.locked).to.equal(true);
        await execFileP('ssh-add', ['-X'], { env: { ...env, ...askpass('lockpw') } });
        expect(agent.locked).to.equal(false);
        expect((await execFileP('ssh-add', ['-l'], { env })).stdout).to.equal(
          `${fingerprintLine(key, key.comment)}\n`,
        );
      });
    });

    it('ssh-add -c: every use is confirmed through the prompter; a no refuses it', async () => {
      const file = keyFile('id_confirm', key);
      await withAgent({}, async (agent, env) => {
        await execFileP('ssh-add', ['-c', file], { env });
        prompter.confirmAnswers = [true, false];
        prompter.confirmAsks = [];
        const c = await AgentClient.connect(agent.path);
        try {
          const data = Buffer.from('confirmed');
          const sig = await c.sign(encodePublicKeyBlob(key), data);
          expect(sig && verifySkSignature(key, data, sig)).to.not.equal(null);
          const before = va.signCount;
          expect(await c.sign(encodePublicKeyBlob(key), Buffer.from('refused'))).to.equal(null);
          expect(va.signCount).to.equal(before); // the key was never asked
        } finally {
          c.close();
        }
        expect(prompter.confirmAsks.map((a) => a.keyComment)).to.deep.equal(['added@test', 'added@test']);
      });
    });

    it('refuses ordinary (non-FIDO) keys with a clear log line', async () => {
      const plainKey = join(dir, 'id_ed25519');
      await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plainKey]);
      const logs: string[] = [];
      await withAgent({ log: (_l, m) => logs.push(m) }, async (_agent, env) => {
        let failed = false;
        await execFileP('ssh-add', [plainKey], { env }).catch(() => (failed = true));
        expect(failed).to.equal(true);
      });
      expect(logs.join('\n')).to.match(
        /ssh-add of a ssh-ed25519 key refused: this agent holds security-key \(sk\) keys only/,
      );
    });
  });
});
