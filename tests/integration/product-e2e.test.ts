// The product, end to end, in three namespaces this test makes (tests/helpers/topology.ts):
//   laptop  — the root daemon and the user's headless agent with a virtual security key; it reaches
//             only the bastion;
//   bastion — a real OpenSSH sshd that reaches the intranet;
//   intranet — an HTTP page, a TCP echo server, and a second sshd (an inner bastion for jumps).
// curl and getent run in laptop and reach intranet apps by name, through VNet and the bastion, with
// the daemon's SSH login signed by the agent's key after a touch (and a PIN for verify-required).
// Needs root (skips on a laptop, must run under CI=true).
import { expect } from 'chai';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctap2SecurityKey } from '../../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../../app/fido/testing';
import { enrollSkKey } from '../../app/ssh/enroll';
import { writePrivateKeyFile } from '../../app/ssh/keyfile';
import { authorizedKeysLine, publicKeyLine, type SkKey } from '../../app/ssh/keys';
import { requireNetns } from '../helpers/privileges';
import { ADDR, ECHO_PORT, HTTP_PORT, INNER_SSH_PORT, PAGE, Topology } from '../helpers/topology';
import { VNetStack } from '../helpers/vnet-stack';

const PIN = '4711';
const ECHO_CLIENT = join(__dirname, 'fixtures', 'e2e', 'echo-clients.ts');

/** Enrols the test's keys on a virtual key kept in `statePath`; the agent opens the same key later. */
async function enrollKeys(statePath: string): Promise<{ touch: SkKey; pin: SkKey }> {
  const va = new VirtualAuthenticator({ statePath, pin: PIN, touch: { mode: 'auto' } });
  const prompter = {
    askPin: async () => PIN,
    touchNeeded: () => undefined,
    touchDone: () => undefined,
  };
  const sk: Ctap2SecurityKey = await openVirtualSecurityKey(va, prompter);
  try {
    const ctx = { purpose: { what: 'enroll' as const, requester: 'app' as const } };
    const touch = (await enrollSkKey(sk, { comment: 'e2e touch key' }, ctx)).key;
    const pin = (await enrollSkKey(sk, { comment: 'e2e pin key', verifyRequired: true }, ctx)).key;
    return { touch, pin };
  } finally {
    await sk.close();
    va.unplug();
  }
}

function bastion(
  name: string,
  opts: { host: string; port?: number; key: string; hostKey: string; extra?: string },
): string {
  return `
[[bastion]]
name = "${name}"
host = "${opts.host}"
port = ${opts.port ?? 22}
user = "root"
key = "${opts.key}"
host_keys = ["${opts.hostKey}"]
${opts.extra ?? ''}`;
}

describe('KeyVNet end to end: laptop → bastion (real sshd) → intranet (root)', function () {
  this.timeout(300_000);
  let topo: Topology;
  let stack: VNetStack;
  let work: string;
  let keys: { touch: SkKey; pin: SkKey };

  // IPv4 only: curl's happy eyeballs would otherwise dial the app twice (v6 and v4) and, with policy
  // "connection", ask for two touches for one request.
  const curl = async (url: string): Promise<{ ok: boolean; out: string }> =>
    stack.ns.run('curl', ['-4', '-sS', '-m', '20', url]).then(
      (r) => ({ ok: true, out: r.stdout }),
      (e: { stderr?: string }) => ({ ok: false, out: e.stderr ?? String(e) }),
    );
  /** Counts the agent's touch prompts among its stdout lines so far. */
  const touches = (): number => stack.agentLines.all.filter((l) => l.startsWith('prompt: touch ')).length;
  const pins = (): number => stack.agentLines.all.filter((l) => l.startsWith('prompt: pin ')).length;

  before(async function () {
    requireNetns(this, 'the three-namespace end-to-end test');
    topo = await Topology.create({ innerSshd: true });
    work = join(topo.dir, 'user');
    mkdirSync(join(work, '.ssh'), { recursive: true, mode: 0o700 });
    const statePath = join(work, 'virtual-key.json');
    keys = await enrollKeys(statePath);
    const files: Array<[string, SkKey]> = [
      ['id_ecdsa_sk', keys.touch],
      ['id_pin_sk', keys.pin],
    ];
    for (const [name, key] of files) {
      writeFileSync(join(work, '.ssh', name), writePrivateKeyFile(key), { mode: 0o600 });
      writeFileSync(join(work, '.ssh', `${name}.pub`), `${publicKeyLine(key, key.comment)}\n`);
    }
    const authorized = [authorizedKeysLine(keys.touch), authorizedKeysLine(keys.pin)];
    topo.sshd.setAuthorizedKeys(authorized);
    topo.innerSshd!.setAuthorizedKeys(authorized);
    const hostKey = readFileSync(`${topo.sshd.hostKeyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const innerHostKey = readFileSync(`${topo.innerSshd!.hostKeyPath}.pub`, 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
    const otherHostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    const key = join(work, '.ssh', 'id_ecdsa_sk');
    const pinKey = join(work, '.ssh', 'id_pin_sk');
    const config = `
${bastion('corp', { host: ADDR.bastionOuter, key, hostKey })}
${bastion('each', { host: ADDR.bastionOuter, key, hostKey, extra: 'policy = "connection"' })}
${bastion('pin', { host: ADDR.bastionOuter, key: pinKey, hostKey })}
${bastion('spoofed', { host: ADDR.bastionOuter, key, hostKey: otherHostKey })}
${bastion('inner', { host: ADDR.intranet, port: INNER_SSH_PORT, key, hostKey: innerHostKey, extra: 'jump = "corp"' })}

[[zone]]
suffix = "corp.test"
bastion = "corp"

[[zone]]
suffix = "each.test"
bastion = "each"

[[zone]]
suffix = "pin.test"
bastion = "pin"

[[zone]]
suffix = "spoofed.test"
bastion = "spoofed"

[[zone]]
suffix = "inner.test"
bastion = "inner"

[[app]]
name = "hello.corp.test"
target = "${ADDR.intranet}:${HTTP_PORT}"
ports = [80]

[[app]]
name = "echo.corp.test"
target = "${ADDR.intranet}:${ECHO_PORT}"
ports = [7]

[[app]]
name = "hello.each.test"
target = "${ADDR.intranet}:${HTTP_PORT}"
ports = [80]

[[app]]
name = "hello.pin.test"
target = "${ADDR.intranet}:${HTTP_PORT}"
ports = [80]

[[app]]
name = "hello.spoofed.test"
target = "${ADDR.intranet}:${HTTP_PORT}"
ports = [80]

[[app]]
name = "hello.inner.test"
target = "${ADDR.intranet}:${HTTP_PORT}"
ports = [80]
`;
    stack = await VNetStack.start(topo.laptop, {
      config,
      tunName: 'kvne0',
      agentArgs: ['--virtual-key', statePath, '--virtual-touch', 'auto:20'],
    });
  });

  after(async () => {
    await stack?.stop();
    await topo?.teardown();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('resolves an intranet app by name to its virtual address', async () => {
    const v4 = await stack.appAddress('hello.corp.test');
    const r = await stack.ns.run('getent', ['ahostsv4', 'hello.corp.test']);
    expect(r.stdout.split(/\s+/)[0]).to.equal(v4);
  });

  it('curl by name fetches the intranet page through the bastion, after one touch', async () => {
    const before = touches();
    const r = await curl('http://hello.corp.test/');
    expect(r.out).to.equal(PAGE);
    expect(touches() - before).to.equal(1);
    const prompt = stack.agentLines.all.filter((l) => l.startsWith('prompt: touch ')).pop();
    expect(prompt).to.equal(
      `prompt: touch Touch your security key to connect to corp (${ADDR.bastionOuter})`,
    );
  });

  it('a second request reuses the session: no second touch', async () => {
    const before = touches();
    expect((await curl('http://hello.corp.test/')).out).to.equal(PAGE);
    expect(touches()).to.equal(before);
  });

  it('100 parallel connections through one session all succeed, every byte echoed', async () => {
    const before = touches();
    const r = await stack.ns
      .run(
        process.execPath,
        ['--import', 'tsx', ECHO_CLIENT, 'echo.corp.test', String(ECHO_PORT), '100', '65536'],
        {
          timeoutMs: 240_000, // hang guard; the client's own per-connection guard (60 s) reports first
        },
      )
      .catch((e: { stderr?: string; killed?: boolean; message: string }) => ({
        stdout: `FAILED${e.killed ? ' (killed by the hang guard)' : ''}: ${e.stderr || e.message}`,
      }));
    expect(r.stdout.trim()).to.equal('OK 100 connections, 6553600 bytes echoed');
    expect(touches()).to.equal(before);
  });

  it('policy "connection": each request needs its own touch', async () => {
    const before = touches();
    expect((await curl('http://hello.each.test/')).out).to.equal(PAGE);
    expect((await curl('http://hello.each.test/')).out).to.equal(PAGE);
    expect(touches() - before).to.equal(2);
  });

  it('verify-required: the PIN is asked once per session', async () => {
    const before = pins();
    const agentIn = stack.agent!.stdin!;
    const answered = stack.agentLines.next(/^prompt: pin /).then(() => agentIn.write(`${PIN}\n`));
    expect((await curl('http://hello.pin.test/')).out).to.equal(PAGE);
    await answered;
    expect((await curl('http://hello.pin.test/')).out).to.equal(PAGE);
    expect(pins() - before).to.equal(1);
  });

  it('a wrong host key is refused and reported; nothing is signed', async () => {
    const before = touches();
    stack.agentLines.skipAll();
    const r = await curl('http://hello.spoofed.test/');
    expect(r.ok).to.equal(false);
    // Dial before accept: the SYN itself is answered with a reset, so curl cannot connect at all.
    expect(r.out).to.match(/Failed to connect|Couldn't connect|Connection reset/);
    const ev = await stack.agentLines.next(
      /^event: (error|bastion spoofed error).*HOST_KEY_(UNKNOWN|CHANGED)|host key/i,
    );
    expect(ev[0]).to.match(/spoofed|host key/i);
    expect(touches()).to.equal(before);
  });

  it('a jump bastion chain works (inner reached through corp)', async () => {
    expect((await curl('http://hello.inner.test/')).out).to.equal(PAGE);
  });

  it('sshd restarted between requests: the next request reconnects (with a new touch) and succeeds', async () => {
    expect((await curl('http://hello.corp.test/')).out).to.equal(PAGE);
    const before = touches();
    await topo.sshd.restart();
    // The dropped session may be noticed by the first request after the restart (which then opens a
    // new session) or before it; either way the request succeeds and costs one touch.
    expect((await curl('http://hello.corp.test/')).out).to.equal(PAGE);
    expect(touches() - before).to.equal(1);
  });

  it('a denied touch resets the connection at once and says why', async () => {
    // Restart the agent with a key whose user refuses every touch.
    stack.agent!.kill('SIGTERM');
    await stack.agentLines.next(/^KeyVNet agent stopped/);
    await stack.startAgent(['--virtual-touch', 'deny']);
    await stack.agentLines.next(/^vnet: up /);
    const r = await curl('http://hello.each.test/');
    expect(r.ok).to.equal(false);
    expect(r.out).to.match(/Failed to connect|Couldn't connect|Connection reset/);
    await stack.agentLines.next(/touch was denied/);
  });
});
