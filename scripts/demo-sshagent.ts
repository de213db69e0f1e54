// Security-key demo (run as root, unattended): a virtual FIDO2 key, our ssh-agent, and a real OpenSSH
// sshd + ssh inside a network namespace made for the demo.
//
//   1. a namespace `kvn-demossh-<pid>-0` with a real sshd on 127.0.0.1:2222 (tests' TestSshd fixture);
//   2. a virtual security key with PIN 1234 that "touches itself" 1 s after it starts blinking;
//      two keys enrolled on it: sk-ecdsa (touch) and sk-ed25519 with verify-required (PIN);
//   3. our SshAgent on a socket in a temp dir; PINs come from a script (no TTY needed);
//   4. the real ssh client logs in: touch key (works), PIN key with a wrong PIN (refused, the agent
//      says how many retries are left, nothing is retried by itself), PIN key with the right PIN
//      (works); `ssh-add -l` lists the keys through our agent.
// Exits 0 only when every expected outcome happened, so the demo is also a check
// (tests/integration/demo-sshagent.test.ts runs it). Everything is removed on exit, Ctrl-C included,
// and leftovers of a killed earlier run are swept first.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Ctap2SecurityKey, type UserPrompter } from '../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../app/fido/testing';
import { TerminalPrompter } from '../app/headless/prompts';
import { pinPromptText } from '../app/ui/prompt-text';
import {
  authorizedKeysLine,
  enrollSkKey,
  fingerprint,
  fingerprintLine,
  publicKeyLine,
  SshAgent,
  type SignEvent,
  type SkKey,
} from '../app/ssh';
import { NetNs } from '../tests/helpers/netns';
import { TestSshd } from '../tests/integration/fixtures/ssh/sshd';

const PIN = '1234';
const WRONG_PIN = '0000';
const AUTO_TOUCH_MS = 1000;
const ROLE = 'demossh'; // namespace kvn-demossh-<pid>-<n> (NetNs naming)
const WORK_PREFIX = 'kvn-demo-ssh-'; // temp dir kvn-demo-ssh-<pid>
const SSHD_DIR_MARKER = 'sshd-dir'; // lets a later run remove the sshd temp dir of a killed run
const REMOTE_COMMAND = 'echo hello from $(hostname) via a FIDO key';
const HANG_GUARD_MS = 120_000;

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string): void => void process.stdout.write(`${s}\n`);
const step = (s: string): void => say(`\n${bold(`== ${s}`)}`);

/** Prefixes every line written through it (TerminalPrompter's output → "  [prompt] …"). */
function prefixed(prefix: string): Writable {
  let atLineStart = true;
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      let out = '';
      for (const ch of chunk.toString('utf8')) {
        if (atLineStart) out += prefix;
        out += ch;
        atLineStart = ch === '\n';
      }
      process.stdout.write(out, () => done());
    },
  });
}

/**
 * The terminal prompter for touches; PINs from a script instead of a TTY. Each askPin takes the next
 * scripted PIN, so a wrong PIN is never followed by another try unless the demo starts a new login.
 */
class ScriptedPinPrompter implements UserPrompter {
  readonly pins: string[] = [];
  asked = 0;
  private readonly terminal = new TerminalPrompter({ output: prefixed('  [prompt] ') });

  async askPin(req: Parameters<UserPrompter['askPin']>[0]): Promise<string | null> {
    this.asked++;
    const pin = this.pins.shift() ?? null;
    const left = req.retriesLeft === null ? 'unknown attempts' : `${req.retriesLeft} attempts`;
    const what = pinPromptText(req).detail.split('\n')[0];
    say(`  [prompt] PIN requested: "${what}" (${left} left) → entering ${pin ?? '(cancel)'}`);
    return pin;
  }

  touchNeeded(req: Parameters<UserPrompter['touchNeeded']>[0]): void {
    this.terminal.touchNeeded(req);
  }

  touchDone(req: Parameters<UserPrompter['touchDone']>[0]): void {
    this.terminal.touchDone(req);
  }
}

interface Resources {
  work?: string;
  ns?: NetNs;
  sshd?: TestSshd;
  va?: VirtualAuthenticator;
  sk?: Ctap2SecurityKey;
  agent?: SshAgent;
}
const res: Resources = {};

let cleaned: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    await res.agent?.close().catch(() => undefined);
    await res.sk?.close().catch(() => undefined);
    res.va?.unplug();
    await res.ns?.delete(); // kills sshd and anything else inside, deletes the namespace
    res.sshd?.cleanup();
    if (res.work) rmSync(res.work, { recursive: true, force: true });
  })();
  return cleaned;
}

/** Removes what a killed earlier run left: its namespace (and processes in it) and temp dirs. */
function sweepKilledRuns(): void {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`kvn-${ROLE}-`));
  for (const name of namespaces) {
    const pid = Number(name.split('-')[2]);
    if (pid === process.pid || alive(pid)) continue;
    // `ip netns delete` alone would leave sshd running in a detached namespace.
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split(/\s+/);
    for (const p of pids.filter(Boolean)) process.kill(Number(p), 'SIGKILL');
    execFileSync('ip', ['netns', 'delete', name]);
    say(`(removed namespace ${name} left by an interrupted run)`);
  }
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(WORK_PREFIX)) continue;
    const pid = Number(entry.slice(WORK_PREFIX.length));
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    const dir = join(tmpdir(), entry);
    const marker = join(dir, SSHD_DIR_MARKER);
    if (existsSync(marker)) rmSync(readFileSync(marker, 'utf8').trim(), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

interface SshRun {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** The real ssh client, inside the namespace, using only our agent and only the key in `pubFile`. */
async function ssh(sshd: TestSshd, agentSocket: string, pubFile: string): Promise<SshRun> {
  const args = [
    '-F',
    'none',
    '-o',
    `IdentityAgent=${agentSocket}`,
    // With a .pub file and IdentitiesOnly, ssh asks the agent to sign with exactly that key.
    '-o',
    'IdentitiesOnly=yes',
    '-i',
    pubFile,
    '-o',
    `UserKnownHostsFile=${join(res.work!, 'known_hosts')}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=20',
    '-p',
    String(sshd.port),
    'root@127.0.0.1',
    REMOTE_COMMAND,
  ];
  say(
    `$ ssh -o IdentityAgent=${agentSocket} -i ${pubFile} -p ${sshd.port} root@127.0.0.1 '${REMOTE_COMMAND}'`,
  );
  try {
    const r = await res.ns!.run('ssh', args, { timeoutMs: 60_000 });
    return { ok: true, ...r };
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

function show(r: SshRun): void {
  for (const l of r.stdout.split('\n').filter(Boolean)) say(`  ${l}`);
  for (const l of r.stderr.split('\n').filter(Boolean)) say(`  ssh: ${l}`);
  say(`  → ssh exit: ${r.ok ? 'success' : 'failed'}`);
}

async function main(): Promise<boolean> {
  const checks: { what: string; ok: boolean }[] = [];
  const check = (what: string, ok: boolean): void => void checks.push({ what, ok });

  sweepKilledRuns();
  res.work = join(tmpdir(), `${WORK_PREFIX}${process.pid}`);
  mkdirSync(res.work, { mode: 0o700 });

  step('network namespace with a real OpenSSH sshd');
  res.ns = await NetNs.create(ROLE);
  const sshd = (res.sshd = await TestSshd.start(res.ns));
  writeFileSync(join(res.work, SSHD_DIR_MARKER), sshd.dir);
  // Pin sshd's host key so the client verifies it (StrictHostKeyChecking=yes), nothing is learned.
  const hostKey = readFileSync(join(sshd.dir, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ');
  writeFileSync(join(res.work, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${hostKey[0]} ${hostKey[1]}\n`);
  say(`namespace ${res.ns.name}: sshd listening on 127.0.0.1:${sshd.port} (config in ${sshd.dir})`);

  step(`virtual security key (PIN ${PIN}, touched automatically ${AUTO_TOUCH_MS / 1000} s after it blinks)`);
  const va = (res.va = new VirtualAuthenticator({
    pin: PIN,
    touch: { mode: 'auto', afterMs: AUTO_TOUCH_MS },
  }));
  va.on('touch-done', (outcome: string) => say(`  [virtual key] blinking… ${outcome}`));
  const prompter = new ScriptedPinPrompter();
  const sk = (res.sk = await openVirtualSecurityKey(va, prompter));
  say(`plugged in: ${sk.label}, PIN set, ${va.pinRetries} PIN retries`);

  step('enroll an sk-ecdsa key (touch) and an sk-ed25519 key with verify-required (PIN)');
  say('like `ssh-keygen -t ecdsa-sk -C demo-touch-key`:');
  const touchKey = (
    await enrollSkKey(sk, { comment: 'demo-touch-key' }, { purpose: { what: 'enroll', requester: 'app' } })
  ).key;
  say('like `ssh-keygen -t ed25519-sk -O verify-required -C demo-pin-key`:');
  prompter.pins.push(PIN);
  const pinKey = (
    await enrollSkKey(
      sk,
      { algorithm: 'ed25519', verifyRequired: true, comment: 'demo-pin-key' },
      { purpose: { what: 'enroll', requester: 'app' } },
    )
  ).key;
  const pubFile = (k: SkKey): string => join(res.work!, `${k.comment}.pub`);
  for (const k of [touchKey, pinKey]) {
    writeFileSync(pubFile(k), `${publicKeyLine(k, k.comment)}\n`);
    say(`  authorized_keys: ${authorizedKeysLine(k)}`);
    say(`  fingerprint:     ${fingerprintLine(k, k.comment)}`);
  }
  sshd.setAuthorizedKeys([authorizedKeysLine(touchKey), authorizedKeysLine(pinKey)]);
  check(
    'the PIN key carries verify-required in authorized_keys',
    /^verify-required /.test(authorizedKeysLine(pinKey)),
  );
  say("both lines written to sshd's authorized_keys");

  step('our ssh-agent');
  const events: SignEvent[] = [];
  const agent = (res.agent = new SshAgent({
    keys: () => [touchKey, pinKey],
    securityKey: async () => sk,
    log: (level, m) => {
      if (level !== 'debug') say(`  [agent] ${level}: ${m}`);
    },
    // The prompt names the host ssh is bound to (session-bind), as this known_hosts calls it.
    knownHostsFiles: [join(res.work!, 'known_hosts')],
  }));
  agent.on('sign', (e: SignEvent) => events.push(e));
  const socket = join(res.work, 'agent.sock');
  await agent.listen(socket);
  say(`$ SSH_AUTH_SOCK=${socket} ssh-add -l`);
  const listed = (await res.ns.run('env', [`SSH_AUTH_SOCK=${socket}`, 'ssh-add', '-l'])).stdout;
  for (const l of listed.split('\n').filter(Boolean)) say(`  ${l}`);
  check(
    'ssh-add -l lists both keys through our agent',
    listed.includes(fingerprint(touchKey)) && listed.includes(fingerprint(pinKey)),
  );

  const login = async (key: SkKey) => {
    events.length = 0;
    prompter.asked = 0;
    const mark = sshd.logMark();
    const r = await ssh(sshd, socket, pubFile(key));
    show(r);
    // sshd logs "Accepted" before it runs the command; waiting only covers the pipe's delivery.
    const accepted = r.ok
      ? await sshd.waitForLog(/Accepted publickey for root .*/, mark).catch(() => null)
      : /Accepted publickey for root .*/.exec(sshd.logSince(mark))?.[0];
    if (accepted) say(`  [sshd] ${accepted}`);
    return { r, accepted: Boolean(accepted) };
  };
  const hello = (r: SshRun): boolean => /^hello from \S+ via a FIDO key$/m.test(r.stdout);

  step('login 1: the touch key (sk-ecdsa)');
  const l1 = await login(touchKey);
  check('touch key: logged in, remote command ran', l1.r.ok && hello(l1.r) && l1.accepted);

  step(`login 2: the PIN key with a wrong PIN (${WRONG_PIN})`);
  prompter.pins.push(WRONG_PIN, PIN); // the 2nd is for login 3: this login must not retry with it
  const l2 = await login(pinKey);
  const left = VirtualAuthenticator.maxPinRetries - 1;
  check('wrong PIN: login refused', !l2.r.ok && !l2.accepted);
  check(`wrong PIN: the key counted it (${left} retries left on the key)`, va.pinRetries === left);
  check(
    `wrong PIN: the agent reported "wrong PIN (${left} retries left)"`,
    events.length === 1 && events[0].reason === `wrong PIN (${left} retries left)`,
  );
  check(
    'wrong PIN: asked once, never retried automatically',
    prompter.asked === 1 && prompter.pins.length === 1,
  );

  step('login 3: the PIN key with the right PIN (a new login: the user tries again)');
  const l3 = await login(pinKey);
  check('right PIN: logged in, remote command ran', l3.r.ok && hello(l3.r) && l3.accepted);
  check('right PIN: the key reset its retry counter', va.pinRetries === VirtualAuthenticator.maxPinRetries);

  step('result');
  for (const c of checks) say(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`);
  return checks.every((c) => c.ok);
}

async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('demo-sshagent: must run as root (it creates a network namespace and starts sshd)');
    process.exit(1);
  }
  const onSignal = (sig: NodeJS.Signals): void => {
    say(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const guard = setTimeout(() => {
    console.error(`demo-sshagent: no result after ${HANG_GUARD_MS / 1000} s, giving up`);
    void cleanup().finally(() => process.exit(1));
  }, HANG_GUARD_MS);
  let ok = false;
  try {
    ok = await main();
  } catch (err) {
    console.error(`demo-sshagent: ${(err as Error).stack ?? err}`);
  } finally {
    clearTimeout(guard);
    await cleanup();
  }
  say(ok ? '\nsecurity-key demo: all expected outcomes happened' : '\nsecurity-key demo: FAILED');
  process.exit(ok ? 0 : 1);
}

void run();
