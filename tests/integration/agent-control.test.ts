// `keyvnet key …` through the running agent's control socket: the real headless agent (app/main.ts
// --headless, the virtual key) and the real bin/keyvnet, as two processes. The prompts appear in the
// agent's output and are answered on the agent's stdin (never on the command's), the command prints
// the progress it is told and exits with the right code; without an agent (or with --no-agent) the
// command uses the key itself. Also: a peer of another uid and broken frames are refused, and the
// agent keeps serving. Root only (the other-uid peer); no network namespace is needed.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Exit } from '../../app/cli/exit-codes';
import { Lines } from '../helpers/lines';
import { requireOrSkip } from '../helpers/privileges';
import { AGENT_MAIN, directHelloConfig } from '../helpers/vnet-stack';
import { KEYVNET } from './cli-run';

interface Run {
  child: ChildProcess;
  lines: Lines;
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

describe('keyvnet key … through the running agent (control socket)', function () {
  this.timeout(180_000);
  let dir: string;
  let control: string;
  let agent: ChildProcess;
  let agentLines: Lines;

  /** bin/keyvnet with the agent's control socket; stdin closed, so a terminal prompt here would cancel. */
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Run => {
    const child = spawn(process.execPath, [KEYVNET, '--agent-socket', control, ...args], {
      env: { ...process.env, KEYVNET_VIRTUAL_KEY: join(dir, 'other-vk.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = new Lines(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
    );
    return { child, lines, done };
  };
  const kv = (...args: string[]) => cli(args).done;
  /** Answers the agent's next PIN prompt (matching `title`) on the agent's own stdin. */
  const answerAgent = async (title: RegExp, pin: string): Promise<void> => {
    await agentLines.next(new RegExp(`^prompt: pin ${title.source}`));
    agent.stdin!.write(`${pin}\n`);
  };

  before(async function () {
    requireOrSkip(this, 'the agent control socket', process.getuid?.() === 0 ? null : 'not running as root');
    dir = mkdtempSync(join(tmpdir(), 'kvn-control-'));
    chmodSync(dir, 0o711); // another uid may traverse to the socket's directory (opened up below)
    control = join(dir, 'run', 'control.sock');
    writeFileSync(join(dir, 'config.toml'), directHelloConfig());
    agent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        AGENT_MAIN,
        '--headless',
        '--config',
        join(dir, 'config.toml'),
        '--daemon-socket',
        join(dir, 'no-daemon.sock'),
        '--ssh-agent-socket',
        'none',
        '--agent-socket',
        control,
        '--virtual-key',
        join(dir, 'vk.json'),
        '--virtual-touch',
        'auto',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    agentLines = new Lines(agent);
    await agentLines.next(/^control: /);
  });

  after(async () => {
    if (agent && agent.exitCode === null) {
      const gone = new Promise((resolve) => agent.once('exit', resolve));
      agent.kill('SIGTERM');
      await gone;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('key list: the agent answers (its key, not this command’s)', async () => {
    const r = await kv('key', 'list', '--json');
    expect(r.code, r.stderr).to.equal(Exit.Ok);
    const { keys } = JSON.parse(r.stdout);
    expect(keys).to.have.length(1);
    expect(keys[0].path).to.equal(`virtual:${join(dir, 'vk.json')}`); // the agent's, not KEYVNET_VIRTUAL_KEY's
    expect(keys[0].info).to.include({ kind: 'ctap2', pinSet: false });
    await agentLines.nextErr(/control: key\/list for keyvnet pid \d+/);
    // A key the agent does not have: exit 6, in the agent's words.
    const none = await kv('key', 'pin', 'set', '--device', '/dev/hidraw99');
    expect(none.code).to.equal(Exit.NoSecurityKey);
    expect(none.stderr).to.contain('keyvnet: no security key at /dev/hidraw99 (see keyvnet key list)');
  });

  it('key pin set: the agent asks for the new PIN twice, on its own terminal', async () => {
    const run = cli(['key', 'pin', 'set']);
    await answerAgent(/Choose a new PIN for KeyVNet virtual key/, '123456');
    await answerAgent(/Enter the new PIN of KeyVNet virtual key again/, '123456');
    const r = await run.done;
    expect(r.code, r.stderr).to.equal(Exit.Ok);
    expect(r.stdout).to.equal('PIN set on KeyVNet virtual key.\n');
    expect(r.stderr).to.contain('The KeyVNet agent asks: Choose a new PIN for KeyVNet virtual key');
    expect(r.stderr).not.to.match(/^PIN: /m); // no prompt of its own
    expect(r.stdout + r.stderr).not.to.contain('123456');
    const list = JSON.parse((await kv('key', 'list', '--json')).stdout);
    expect(list.keys[0].info).to.include({ pinSet: true, pinRetries: 8 });
  });

  it('key enroll --resident: touch and PIN at the agent; the command writes the files', async () => {
    const file = join(dir, 'keys', 'id_ecdsa_sk');
    const run = cli(['key', 'enroll', '--resident', '-f', file, '-C', 'me@test', '--json']);
    await answerAgent(/Enter the PIN of KeyVNet virtual key/, '123456');
    await agentLines.next(/^prompt: touch Touch your security key to create an SSH key$/);
    const r = await run.done;
    expect(r.code, r.stderr).to.equal(Exit.Ok);
    const out = JSON.parse(r.stdout);
    expect(out.flags).to.equal('touch-required,resident');
    expect(readFileSync(`${file}.pub`, 'utf8')).to.equal(`${out.publicKey}\n`);
    expect(r.stderr).to.contain('Creating an ecdsa-sk key on KeyVNet virtual key…');
    expect(r.stderr).to.contain('The KeyVNet agent asks: Touch your security key to create an SSH key');

    const l = cli(['key', 'resident', 'list', '--json']);
    await answerAgent(/Enter the PIN of KeyVNet virtual key/, '123456');
    const listed = await l.done;
    expect(listed.code, listed.stderr).to.equal(Exit.Ok);
    expect(JSON.parse(listed.stdout).keys.map((k: { fingerprint: string }) => k.fingerprint)).to.deep.equal([
      out.fingerprint,
    ]);
  });

  it('key pin change: a wrong current PIN fails (exit 1, attempts left), never retried', async () => {
    const run = cli(['key', 'pin', 'change']);
    await answerAgent(/Enter the PIN of KeyVNet virtual key/, '999999');
    await answerAgent(/Choose a new PIN/, '111111');
    await answerAgent(/Enter the new PIN .* again/, '111111');
    const r = await run.done;
    expect(r.code).to.equal(Exit.Failure);
    expect(r.stderr).to.match(/keyvnet: Wrong PIN.*7/);
  });

  it('Ctrl-C in the command closes the agent’s prompt (exit 8); a second command waits its turn', async () => {
    const first = cli(['key', 'pin', 'change']);
    await agentLines.next(/^prompt: pin Enter the PIN of KeyVNet virtual key/);
    // While the agent waits on the first command's PIN, a second one queues and is told so.
    const second = cli(['key', 'list', '--json']);
    await second.lines.nextErr(/busy with another request; waiting/);
    first.child.kill('SIGINT');
    const r1 = await first.done;
    expect(r1.code, r1.stderr).to.equal(Exit.Cancelled);
    await agentLines.nextErr(/\(the request ended\)/);
    const r2 = await second.done;
    expect(r2.code, r2.stderr).to.equal(Exit.Ok);
    expect(JSON.parse(r2.stdout).keys[0].info.pinRetries).to.equal(7); // nothing was tried
  });

  it('--no-agent, or no agent at the socket: the command uses the key itself, prompts on its terminal', async () => {
    const own = join(dir, 'other-vk.json');
    const noAgent = await kv('--no-agent', 'key', 'list', '--json');
    expect(noAgent.code, noAgent.stderr).to.equal(Exit.Ok);
    expect(JSON.parse(noAgent.stdout).keys[0].path).to.equal(`virtual:${own}`);
    const elsewhere = await cli(['--agent-socket', join(dir, 'nothing.sock'), 'key', 'list', '--json']).done;
    expect(JSON.parse(elsewhere.stdout).keys[0].path).to.equal(`virtual:${own}`);
    // Its own PIN prompt, on its own stdin: closed here, so cancelled (exit 8) and nothing changed.
    const pinSet = await kv('--no-agent', 'key', 'pin', 'set');
    expect(pinSet.code).to.equal(Exit.Cancelled);
    expect(pinSet.stderr).to.match(/^PIN: /m);
  });

  it('refuses a peer of another uid (kernel credentials), before reading a byte', async () => {
    // The directory is private (0700): open it up so that only the uid check stands in the way.
    chmodSync(join(dir, 'run'), 0o711);
    chmodSync(control, 0o666);
    try {
      const script = `const s=require('net').connect(process.argv[1]);s.on('error',()=>{});s.on('connect',()=>s.write('Content-Length: 2\\r\\n\\r\\n{}'));s.on('close',()=>console.log('CLOSED'));`;
      const child = spawn(process.execPath, ['-e', script, control], { uid: 65534, gid: 65534 });
      const lines = new Lines(child);
      await lines.next(/^CLOSED/);
      await agentLines.nextErr(/control socket: refused pid \d+ of uid 65534 \(serving uid 0 only\)/);
    } finally {
      chmodSync(join(dir, 'run'), 0o700);
      chmodSync(control, 0o600);
    }
  });

  it('closes a peer with an oversized or malformed frame, and keeps serving', async () => {
    const closedAfter = (bytes: string) =>
      new Promise<void>((resolve, reject) => {
        const s = connect(control);
        s.on('error', () => undefined);
        s.on('connect', () => s.write(bytes));
        s.on('close', () => resolve());
        setTimeout(() => reject(new Error('not closed')), 20_000).unref();
      });
    await closedAfter(`Content-Length: ${64 * 1024 * 1024}\r\n\r\n{"jsonrpc":"2.0"`);
    await agentLines.nextErr(
      /closed before hello: protocol error: frame of 67108864 bytes is over the limit/,
    );
    await closedAfter('Content-Length: 7\r\n\r\n{{{{{{{');
    await agentLines.nextErr(/closed before hello: protocol error/);
    const r = await kv('key', 'list', '--json');
    expect(r.code, r.stderr).to.equal(Exit.Ok);
    expect(agent.exitCode).to.equal(null);
  });

  it('the socket is 0600 in a 0700 directory, and removed when the agent stops', async () => {
    expect(statSync(control).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, 'run')).mode & 0o777).to.equal(0o700);
    const gone = new Promise((resolve) => agent.once('exit', resolve));
    agent.kill('SIGTERM');
    await gone;
    expect(existsSync(control)).to.equal(false);
    // No agent now: the command falls back to its own key (the other state file).
    const r = await kv('key', 'list', '--json');
    expect(JSON.parse(r.stdout).keys[0].path).to.equal(`virtual:${join(dir, 'other-vk.json')}`);
  });
});
