// "Insert your security key", headless and for real: the agent starts with its virtual key pulled
// out (--virtual-key-unplugged), curl by name in the laptop namespace makes the daemon ask for a
// login signature, and the agent prints `prompt: insert …` and waits (polling the devices) instead
// of failing. `plug` on the control socket puts the key in: the prompt ends, the touch prompt
// follows, a touch lets the page through. Needs root (netns; skips with the reason otherwise).
import { expect } from 'chai';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authorizedKeysLine } from '../../app/ssh/keys';
import { requireNetns } from '../helpers/privileges';
import { Lines } from '../helpers/lines';
import { ADDR, ECHO_PORT, HTTP_PORT, PAGE, Topology } from '../helpers/topology';
import { keyvnetIn } from './cli-run';
import { enrollKeyFiles, touchVirtualKey, virtualKeyControl } from '../helpers/virtual-user';
import { VNetStack } from '../helpers/vnet-stack';

describe('headless agent: no security key plugged in → "insert your key", then plug, touch (root)', function () {
  this.timeout(180_000);
  let topo: Topology | null = null;
  let stack: VNetStack | null = null;
  let control = '';

  before(async function () {
    requireNetns(this, 'the insert-your-key test');
    topo = await Topology.create();
    const home = join(topo.dir, 'user');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    const statePath = join(home, 'virtual-key.json');
    const keyPath = join(home, '.ssh', 'id_ecdsa_sk');
    const [key] = await enrollKeyFiles(statePath, [{ file: keyPath, comment: 'insert test key' }]);
    topo.sshd.setAuthorizedKeys([authorizedKeysLine(key)]);
    const hostKey = readFileSync(`${topo.sshd.hostKeyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    control = join(topo.dir, 'virtual-key-control.sock');
    const config =
      `[[bastion]]\nname = "corp"\nhost = "${ADDR.bastionOuter}"\nuser = "root"\nkey = "${keyPath}"\n` +
      `host_keys = ["${hostKey}"]\n\n[[zone]]\nsuffix = "corp.test"\nbastion = "corp"\n\n` +
      `[[app]]\nname = "hello.corp.test"\ntarget = "${ADDR.intranet}:${HTTP_PORT}"\nports = [80]\n\n` +
      `[[app]]\nname = "echo.corp.test"\ntarget = "${ADDR.intranet}:${ECHO_PORT}"\nports = [${ECHO_PORT}]\n`;
    stack = await VNetStack.start(topo.laptop, {
      config,
      tunName: 'kvnins0',
      agentArgs: [
        '--virtual-key',
        statePath,
        '--virtual-touch',
        'manual',
        '--virtual-key-control',
        control,
        '--virtual-key-unplugged',
      ],
    });
  });

  after(async () => {
    await stack?.stop();
    await topo?.teardown();
  });

  it('curl by name waits with `prompt: insert …`; plug → `prompt: done` → touch prompt → the page', async () => {
    const lines = stack!.agentLines;
    lines.skipAll();
    const fetched = stack!.ns.run('curl', ['-4', '-sS', '-m', '90', 'http://hello.corp.test/'], {
      timeoutMs: 120_000,
    });
    const insert = await lines.next(/^prompt: insert /);
    expect(insert.input).to.equal(
      `prompt: insert Insert your security key to connect to corp (${ADDR.bastionOuter})`,
    );
    // Still waiting (nothing else happened): a touch now finds no key waiting for one.
    expect(await virtualKeyControl(control, 'touch')).to.equal('not-waiting');
    expect(await virtualKeyControl(control, 'plug')).to.equal('ok');
    await lines.next(/^prompt: done$/);
    const touch = await lines.next(/^prompt: touch /);
    expect(touch.input).to.equal(
      `prompt: touch Touch your security key to connect to corp (${ADDR.bastionOuter})`,
    );
    await touchVirtualKey(control);
    expect((await fetched).stdout).to.equal(PAGE);
    expect(stack!.agentLines.stderr).to.include('Insert your security key to connect to corp');
  });

  it('keyvnet connections names the client process of an open connection (curl) with its bytes so far', async () => {
    // The key is in and the session up (the test above): a long-lived connection, curl's telnet
    // client to the echo app, kept open by its stdin.
    const client = stack!.ns.spawn('curl', ['-4', '-sS', '-N', `telnet://echo.corp.test:${ECHO_PORT}`]);
    // Should the session have gone meanwhile, a new one asks for a touch: give it.
    stack!.agentLines.skipAll();
    stack!.agentLines
      .next(/^prompt: touch /, 60_000)
      .then(() => touchVirtualKey(control))
      .catch(() => undefined);
    try {
      client.stdin!.write('hello echo\n');
      await new Lines(client).next(/^hello echo/);
      const kv = (...args: string[]) =>
        keyvnetIn(stack!.ns, ['--socket', stack!.socketPath, '--config', stack!.configPath, ...args]);
      const j = JSON.parse((await kv('connections', '--json')).stdout) as {
        connections: {
          fqdn: string;
          bytesUp: number;
          bytesDown: number;
          process?: { pid: number; name?: string };
        }[];
      };
      const c = j.connections.find((x) => x.fqdn === 'echo.corp.test');
      expect(c, JSON.stringify(j)).to.not.equal(undefined);
      expect(c!.process).to.deep.equal({ pid: client.pid, name: 'curl' });
      // Counted while open: at least the line each way (plus telnet's option bytes, if any).
      expect(c!.bytesUp).to.be.at.least('hello echo\n'.length);
      expect(c!.bytesDown).to.be.at.least('hello echo\n'.length);
      const h = (await kv('connections')).stdout;
      expect(h).to.match(new RegExp(`echo\\.corp\\.test:${ECHO_PORT}\\s.*\\scurl \\(${client.pid}\\)\\n`));
    } finally {
      client.kill('SIGTERM');
    }
  });
});
