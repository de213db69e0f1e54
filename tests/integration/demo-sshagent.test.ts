// Runs the security-key demo (scripts/demo-sshagent.sh) as a person would and checks what it shows,
// so the demo cannot rot: exit code 0 and the lines that matter (enrolled keys, ssh-add -l, touch, the
// wrong PIN with retries left, logins accepted by the real sshd), and that it left nothing behind.
// Root + netns; must run under CI=true.
import { expect } from 'chai';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireNetns } from '../helpers/privileges';

const ROOT = join(__dirname, '..', '..');

describe('security-key demo: scripts/demo-sshagent.sh (root, netns)', function () {
  this.timeout(180_000); // hang guard only; the demo itself takes a few seconds
  let child: ChildProcess | undefined;
  let output = '';
  let code: number | null = null;
  let demoPid = 0;

  before(async function () {
    requireNetns(this, 'security-key demo test');
    child = spawn('bash', ['scripts/demo-sshagent.sh'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    demoPid = child.pid ?? 0;
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    code = await new Promise<number | null>((resolve) => child!.once('exit', (c) => resolve(c)));
  });

  after(() => {
    // Only if the test itself was interrupted: SIGTERM lets the demo clean up after itself.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });

  it('exits 0 after all expected outcomes', () => {
    expect(code, output).to.equal(0);
    expect(output).to.include('security-key demo: all expected outcomes happened');
    expect(output).not.to.match(/^\s*FAIL /m);
  });

  it('shows the two enrolled keys as authorized_keys lines and fingerprints', () => {
    expect(output).to.match(/authorized_keys: sk-ecdsa-sha2-nistp256@openssh\.com AAAA\S+ demo-touch-key$/m);
    expect(output).to.match(
      /authorized_keys: verify-required sk-ssh-ed25519@openssh\.com AAAA\S+ demo-pin-key$/m,
    );
    const fps = [...output.matchAll(/fingerprint: +256 (SHA256:\S+) demo-(touch|pin)-key/g)].map((m) => m[1]);
    expect(fps).to.have.length(2);
    // ssh-add -l through our agent lists exactly these two keys.
    const listed = output.split('ssh-add -l\n')[1]?.split('\n\n')[0] ?? '';
    expect(listed).to.include(`256 ${fps[0]} demo-touch-key (ECDSA-SK)`);
    expect(listed).to.include(`256 ${fps[1]} demo-pin-key (ED25519-SK)`);
  });

  it('shows the virtual key blinking and being touched', () => {
    expect(output).to.include('[virtual key] blinking… touched');
    expect(output).to.include('[prompt] Touch your security key to connect to 127.0.0.1…');
    expect(output).to.include('[prompt]   As user root');
    expect(output).to.include('[prompt]   SSH key demo-touch-key');
  });

  it('logs in with the touch key and runs the command on the real sshd', () => {
    const part = section('login 1');
    expect(part).to.include(`hello from ${hostname()} via a FIDO key`);
    expect(part).to.match(/\[sshd\] Accepted publickey for root from 127\.0\.0\.1 .* ECDSA-SK SHA256:/);
  });

  it('refuses a wrong PIN with the retries left, without retrying it', () => {
    const part = section('login 2');
    expect(part).to.include('(8 attempts left) → entering 0000');
    expect(part).to.match(/\[agent\] warn: signing with SHA256:\S+ failed: wrong PIN \(7 retries left\)/);
    expect(part).to.include('Permission denied (publickey)');
    expect(part).not.to.include('Accepted publickey');
    expect(part.match(/PIN requested/g)).to.have.length(1);
  });

  it('logs in with the right PIN on the next attempt', () => {
    const part = section('login 3');
    expect(part).to.include('(7 attempts left) → entering 1234');
    expect(part).to.include(`hello from ${hostname()} via a FIDO key`);
    expect(part).to.match(/\[sshd\] Accepted publickey for root from 127\.0\.0\.1 .* ED25519-SK SHA256:/);
  });

  it('leaves no namespace (with its sshd) or temp dir behind', () => {
    // The wrapper execs node, so the demo's pid (in its namespace and temp dir names) is the child's.
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(namespaces).not.to.include(`kvn-demossh-${demoPid}-`);
    expect(existsSync(join(tmpdir(), `kvn-demo-ssh-${demoPid}`))).to.equal(false);
    const sshdDir = /config in (\S+)\)/.exec(output)?.[1];
    expect(sshdDir, 'the demo names its sshd config dir').to.be.a('string');
    expect(existsSync(sshdDir!)).to.equal(false);
  });

  /** The output of one "== login N…" step, up to the next step. */
  function section(title: string): string {
    const start = output.indexOf(`== ${title}`);
    expect(start, `no "${title}" step in:\n${output}`).to.be.greaterThan(-1);
    const next = output.indexOf('\n== ', start + 1);
    return output.slice(start, next < 0 ? undefined : next);
  }
});
