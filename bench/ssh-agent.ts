// Benchmark (not a test): the KeyVNet ssh-agent against OpenSSH's own ssh-agent, side by side.
//  1. Signature latency through the agent socket, p50/p99: our agent with the virtual security key
//     (touched at once) over CTAPHID, vs ssh-agent holding a plain ecdsa-sha2-nistp256 key.
//     A breakdown line shows the signing core alone (no socket), so the agent's own share is visible.
//  2. A real `ssh … true` login (connect + auth + command) to a real sshd in a private network
//     namespace, with each agent.
// Needs root (creates and deletes its own netns). Run: node --import tsx bench/ssh-agent.ts [signs] [logins]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type UserPrompter } from '../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../app/fido/testing';
import { SshAgent } from '../app/ssh/agent';
import { AgentClient } from '../app/ssh/agent-client';
import { enrollSkKey } from '../app/ssh/enroll';
import { signWithSkKey } from '../app/ssh/signer';
import { authorizedKeysLine } from '../app/ssh/keys';
import { whyNoNetns } from '../tests/helpers/privileges';
import { NetNs } from '../tests/helpers/netns';
import { TestSshd } from '../tests/integration/fixtures/ssh/sshd';

const SIGNS = Number(process.argv[2] ?? 200);
const LOGINS = Number(process.argv[3] ?? 20);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(ms: number[]): { p50: number; p99: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function timeSigns(socket: string, n: number): Promise<number[]> {
  const c = await AgentClient.connect(socket);
  try {
    const [id] = await c.identities();
    if (!id) throw new Error(`agent at ${socket} holds no key`);
    const out: number[] = [];
    for (let i = 0; i < n + 5; i++) {
      const data = Buffer.from(`bench message ${i}`);
      const t0 = performance.now();
      const sig = await c.sign(id.keyBlob, data);
      const dt = performance.now() - t0;
      if (!sig) throw new Error(`agent at ${socket} refused to sign`);
      if (i >= 5) out.push(dt); // the first few warm up JIT and caches
    }
    return out;
  } finally {
    c.close();
  }
}

async function timeLogin(sshd: TestSshd, socket: string): Promise<number> {
  const t0 = performance.now();
  const r = await sshd.login(socket);
  const dt = performance.now() - t0;
  if (!r.ok) throw new Error(`ssh login with agent ${socket} failed: ${r.stderr}`);
  return dt;
}

function row(name: string, ours: number[], theirs: number[]): void {
  const a = summary(ours);
  const b = summary(theirs);
  const f = (x: number): string => x.toFixed(2).padStart(9);
  console.log(`\n${name}`);
  console.log(`                       p50 ms    p99 ms   mean ms`);
  console.log(`  KeyVNet agent    ${f(a.p50)} ${f(a.p99)} ${f(a.mean)}`);
  console.log(`  OpenSSH agent    ${f(b.p50)} ${f(b.p99)} ${f(b.mean)}`);
  console.log(
    `  ratio (ours/OpenSSH): p50 ${(a.p50 / b.p50).toFixed(2)}x, p99 ${(a.p99 / b.p99).toFixed(2)}x, mean ${(a.mean / b.mean).toFixed(2)}x`,
  );
}

async function main(): Promise<void> {
  const why = whyNoNetns();
  if (why) {
    console.error(`bench/ssh-agent: needs root and network namespaces: ${why}`);
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kvn-bench-ssh-'));
  let ns: NetNs | null = null;
  let sshd: TestSshd | null = null;
  let agent: SshAgent | null = null;
  // The virtual key is touched at once (policy auto) and has no PIN: we measure our path, not a user.
  const va = new VirtualAuthenticator({ touch: { mode: 'auto' } });
  const silent: UserPrompter = {
    askPin: async () => null,
    touchNeeded: () => undefined,
    touchDone: () => undefined,
  };
  const sk = await openVirtualSecurityKey(va, silent);
  const opensshAgent = spawn('ssh-agent', ['-D', '-a', join(dir, 'openssh-agent.sock')], { stdio: 'ignore' });
  try {
    // Our agent with an sk key enrolled on the (virtual) security key.
    const { key } = await enrollSkKey(
      sk,
      { comment: 'bench-sk' },
      { purpose: { what: 'enroll', requester: 'app' } },
    );
    agent = new SshAgent({ keys: () => [key], securityKey: async () => sk, log: () => undefined });
    await agent.listen(join(dir, 'keyvnet-agent.sock'));

    // OpenSSH's agent with a plain ECDSA P-256 key, the closest software equivalent.
    const plain = join(dir, 'id_ecdsa');
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ecdsa',
      '-b',
      '256',
      '-N',
      '',
      '-C',
      'bench-plain',
      '-f',
      plain,
    ]);
    const opensshSock = join(dir, 'openssh-agent.sock');
    for (let i = 0; i < 100 && !existsSync(opensshSock); i++) await new Promise((r) => setTimeout(r, 50));
    execFileSync('ssh-add', ['-q', plain], {
      env: { ...process.env, SSH_AUTH_SOCK: opensshSock },
      stdio: 'pipe',
    });

    console.log(
      `ssh-agent benchmark: ${SIGNS} signatures, ${LOGINS} logins per agent (virtual security key over CTAPHID vs plain ecdsa key)`,
    );
    const oursSign = await timeSigns(agent.path, SIGNS);
    const theirsSign = await timeSigns(opensshSock, SIGNS);
    row(`Signature through the agent socket (${SIGNS} each)`, oursSign, theirsSign);
    const core: number[] = [];
    for (let i = 0; i < SIGNS + 5; i++) {
      const t0 = performance.now();
      await signWithSkKey(sk, key, Buffer.from(`core ${i}`), {
        purpose: { what: 'ssh-sign', requester: 'app' },
      });
      if (i >= 5) core.push(performance.now() - t0);
    }
    const c = summary(core);
    const a = summary(oursSign);
    console.log(
      `  breakdown: signing core alone (virtual key over CTAPHID, no socket) p50 ${c.p50.toFixed(2)} ms; ` +
        `agent socket + framing adds ${(a.p50 - c.p50).toFixed(2)} ms at p50`,
    );

    ns = await NetNs.create('sshbench');
    sshd = await TestSshd.start(ns);
    sshd.setAuthorizedKeys([authorizedKeysLine(key), readFileSync(`${plain}.pub`, 'utf8').trim()]);
    await timeLogin(sshd, agent.path); // warm-up (known_hosts, page cache)
    await timeLogin(sshd, opensshSock);
    // Interleaved so drift (CPU frequency, other load) hits both alike.
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < LOGINS; i++) {
      ours.push(await timeLogin(sshd, agent.path));
      theirs.push(await timeLogin(sshd, opensshSock));
    }
    row(`ssh login: connect + auth + true (${LOGINS} each, real sshd in a netns)`, ours, theirs);
  } finally {
    await agent?.close();
    sshd?.cleanup();
    await ns?.delete();
    opensshAgent.kill();
    await sk.close();
    va.unplug();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
