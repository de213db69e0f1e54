// Our agent and keys with OpenSSH's own tools (no root needed): ssh-add lists the agent's keys,
// ssh-keygen -Y sign signs through the agent (as git does for SSH commit signatures) and
// ssh-keygen -Y verify accepts the sk signature.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Ctap2SecurityKey } from '../../../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../../app/fido/testing';
import { SshAgent } from '../../../app/ssh/agent';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { fingerprintLine, publicKeyLine, type SkKey } from '../../../app/ssh/keys';

const execFileP = promisify(execFile);

describe('ssh-agent with OpenSSH tools (ssh-add, ssh-keygen -Y)', () => {
  let dir: string;
  let va: VirtualAuthenticator;
  let sk: Ctap2SecurityKey;
  let agent: SshAgent;
  const keys: SkKey[] = [];
  const touches: string[] = [];
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-sshtools-'));
    va = new VirtualAuthenticator();
    sk = await openVirtualSecurityKey(va, {
      askPin: async () => null,
      touchNeeded: (r) => touches.push(`${r.purpose.what} ${r.purpose.namespace} ${r.purpose.keyComment}`),
      touchDone: () => undefined,
    });
    keys.push(
      (await enrollSkKey(sk, { comment: 'ecdsa@test' }, { purpose: { what: 'enroll', requester: 'app' } }))
        .key,
    );
    keys.push(
      (
        await enrollSkKey(
          sk,
          { algorithm: 'ed25519', comment: 'ed@test' },
          { purpose: { what: 'enroll', requester: 'app' } },
        )
      ).key,
    );
    agent = new SshAgent({ keys: () => keys, securityKey: async () => sk, log: () => undefined });
    await agent.listen(join(dir, 'agent.sock'));
    env = { ...process.env, SSH_AUTH_SOCK: agent.path };
  });

  after(async () => {
    await agent?.close();
    await sk?.close();
    va?.unplug();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ssh-add -L and -l list our keys as we print them', async () => {
    const L = (await execFileP('ssh-add', ['-L'], { env })).stdout;
    expect(L).to.equal(keys.map((k) => `${publicKeyLine(k, k.comment)}\n`).join(''));
    const l = (await execFileP('ssh-add', ['-l'], { env })).stdout;
    expect(l).to.equal(keys.map((k) => `${fingerprintLine(k, k.comment)}\n`).join(''));
  });

  for (const i of [0, 1]) {
    it(`ssh-keygen -Y signs through the agent and verifies (${i === 0 ? 'ecdsa' : 'ed25519'})`, async () => {
      const key = keys[i];
      const pub = join(dir, `key${i}.pub`);
      const msg = join(dir, `msg${i}`);
      writeFileSync(pub, `${publicKeyLine(key, key.comment)}\n`);
      writeFileSync(msg, 'tree 1234\nauthor someone\n\na commit\n');
      touches.length = 0;
      await execFileP('ssh-keygen', ['-Y', 'sign', '-f', pub, '-n', 'git', msg], { env });
      expect(touches).to.deep.equal([`sign-data git ${key.comment}`]);

      const allowed = join(dir, 'allowed_signers');
      writeFileSync(allowed, `${key.comment} ${publicKeyLine(key)}\n`);
      const verify = (content: string) => {
        const p = execFileP('ssh-keygen', [
          '-Y',
          'verify',
          '-f',
          allowed,
          '-I',
          key.comment,
          '-n',
          'git',
          '-s',
          `${msg}.sig`,
        ]);
        p.child.stdin!.end(content);
        return p;
      };
      const ok = await verify('tree 1234\nauthor someone\n\na commit\n');
      expect(ok.stdout).to.match(/^Good "git" signature for \S+ with (ECDSA|ED25519)-SK key SHA256:/);
      let failed = false;
      await verify('tampered\n').catch(() => (failed = true));
      expect(failed).to.equal(true);
    });
  }
});
