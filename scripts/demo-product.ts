// The product demo (scripts/demo.sh runs it; root): three network namespaces made for the demo and
// deleted after it, nothing touches the host's network.
//   laptop   — the KeyVNet daemon (root) and your agent with a virtual security key: the menu-bar app
//              when a display is present (DISPLAY or WAYLAND_DISPLAY, and the qode stand-in builds),
//              else headless; `--headless` forces headless;
//   bastion  — a real OpenSSH sshd, the only host the laptop can reach;
//   intranet — a web page and an echo server, reachable only from the bastion.
// It enrols an SSH key on the virtual key, authorises it on the bastion, writes your config.toml, and
// then `curl http://hello.corp.test/` on the laptop fetches the intranet page by name: VNet answers
// the name with a virtual IP, carries the connection over SSH through the bastion, and the daemon's
// SSH login is signed by the agent's key after a touch (printed). Then it stays up for you to try
// until Ctrl-C; `--once` stops after the checks (the demo's test uses it). The menu-bar app's
// --ui-probe lines are told as the headless agent's status lines (scripts/demo-gui.ts), so the demo
// shows and checks the same things either way.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../app/fido/testing';
import { enrollSkKey } from '../app/ssh/enroll';
import { writePrivateKeyFile } from '../app/ssh/keyfile';
import { authorizedKeysLine, fingerprint, publicKeyLine } from '../app/ssh/keys';
import { ADDR, ECHO_PORT, HTTP_PORT, Topology } from '../tests/helpers/topology';
import { Lines } from '../tests/helpers/lines';
import { VNetStack } from '../tests/helpers/vnet-stack';
import { guiAvailable, probeToStatusLines } from './demo-gui';

const once = process.argv.includes('--once');
const ROOT = join(__dirname, '..');
const KEYVNET = join(ROOT, 'bin', 'keyvnet');
const TOUCH_AFTER_MS = 1500;
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string): void => void process.stdout.write(`${s}\n`);
const step = (s: string): void => say(`\n${bold(`== ${s}`)}`);

let topo: Topology | null = null;
let stack: VNetStack | null = null;
let cleaning: Promise<void> | null = null;
const cleanup = (): Promise<void> =>
  (cleaning ??= (async () => {
    await stack?.stop();
    await topo?.teardown();
  })());

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the demo makes network namespaces and a tun');
  step('three network namespaces: laptop → bastion (OpenSSH sshd) → intranet (web page)');
  topo = await Topology.create();
  say(
    `  laptop ${ADDR.laptop}  bastion ${ADDR.bastionOuter} / ${ADDR.bastionInner}  intranet ${ADDR.intranet}`,
  );
  say(`  (${topo.laptop.name}, ${topo.bastion.name}, ${topo.intranet.name})`);

  step('your security key (a virtual FIDO2 key here): enrol an SSH key, like `ssh-keygen -t ecdsa-sk`');
  const home = join(topo.dir, 'alice');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  const statePath = join(home, 'virtual-key.json');
  const va = new VirtualAuthenticator({ statePath, touch: { mode: 'auto' } });
  const sk = await openVirtualSecurityKey(va, {
    askPin: async () => null,
    touchNeeded: () => {},
    touchDone: () => {},
  });
  const { key } = await enrollSkKey(
    sk,
    { comment: 'alice@laptop' },
    { purpose: { what: 'enroll', requester: 'app' } },
  );
  await sk.close();
  va.unplug();
  const keyPath = join(home, '.ssh', 'id_ecdsa_sk');
  writeFileSync(keyPath, writePrivateKeyFile(key), { mode: 0o600 });
  writeFileSync(`${keyPath}.pub`, `${publicKeyLine(key, key.comment)}\n`);
  say(`  ${keyPath}: ${key.type} ${fingerprint(key)}`);
  topo.sshd.setAuthorizedKeys([authorizedKeysLine(key)]);
  say('  authorised on the bastion (authorized_keys)');
  const hostKey = readFileSync(`${topo.sshd.hostKeyPath}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');

  step("your config.toml (the agent's; the daemon never reads it)");
  const config = `[[bastion]]
name = "corp"
host = "${ADDR.bastionOuter}"
user = "root"
key = "${keyPath}"
host_keys = ["${hostKey}"]

[[zone]]
suffix = "corp.test"
bastion = "corp"

[[app]]
name = "hello.corp.test"
target = "${ADDR.intranet}:${HTTP_PORT}"
ports = [80]
description = "the intranet's web page"

[[app]]
name = "echo.corp.test"
target = "${ADDR.intranet}:${ECHO_PORT}"
ports = [7]
`;
  say(config.replace(/^/gm, '  ').trimEnd());

  const gui = process.argv.includes('--headless') ? { why: '--headless' } : guiAvailable(ROOT);
  const stackOpts = {
    config,
    tunName: 'kvndemo0',
    agentArgs: [
      ...['--virtual-key', statePath, '--virtual-touch', `auto:${TOUCH_AFTER_MS}`],
      ...['--ssh-agent-socket', join(home, 'agent.sock')],
    ],
  };
  if ('standin' in gui) {
    step('the KeyVNet daemon (root) and your menu-bar app (look at the tray), on the laptop');
    stack = new VNetStack(topo.laptop, stackOpts);
    await stack.startDaemon();
    // --ui-probe: the app tells what it shows on stdout; it ends when the demo closes its stdin.
    const app = stack.startGuiAgent({ ...process.env, KEYVNET_QODE_STANDIN: gui.standin }, [
      `--ui-probe=${7 * 24 * 3600}`,
    ]);
    stack.agentLines = new Lines(app, probeToStatusLines());
    await stack.agentLines.next(/^status: VNet on/, 60_000);
  } else {
    step(`the KeyVNet daemon (root) and your agent (headless: ${gui.why}), on the laptop`);
    stack = await VNetStack.start(topo.laptop, stackOpts);
  }
  const agent = stack.agentLines;
  for (const l of agent.all) say(`  [agent] ${l}`);
  // From here on, echo what the agent prints as it happens.
  let shown = agent.all.length;
  const echo = setInterval(() => {
    while (shown < agent.all.length) say(`  [agent] ${agent.all[shown++]}`);
  }, 50);

  step('getent hosts hello.corp.test   (on the laptop)');
  say((await topo.laptop.run('getent', ['hosts', 'hello.corp.test'])).stdout.trimEnd().replace(/^/gm, '  '));

  step(
    `curl http://hello.corp.test/   (the key "blinks"; the virtual user touches it after ${TOUCH_AFTER_MS / 1000} s)`,
  );
  const first = await topo.laptop.run('curl', ['-4', '-sS', '-m', '30', 'http://hello.corp.test/']);
  await new Promise((r) => setTimeout(r, 100));
  say(first.stdout.trimEnd().replace(/^/gm, '  '));

  step('curl again: the SSH session is reused, no second touch');
  const touchesBefore = agent.all.filter((l) => l.startsWith('prompt: touch')).length;
  const second = await topo.laptop.run('curl', ['-4', '-sS', '-m', '30', 'http://hello.corp.test/']);
  say(second.stdout.trimEnd().replace(/^/gm, '  '));
  await new Promise((r) => setTimeout(r, 100));
  clearInterval(echo);
  while (shown < agent.all.length) say(`  [agent] ${agent.all[shown++]}`);

  const touches = agent.all.filter((l) => l.startsWith('prompt: touch'));
  const problems: string[] = [];
  if (!first.stdout.includes('Hello from the intranet'))
    problems.push('the first curl did not fetch the page');
  if (!second.stdout.includes('Hello from the intranet'))
    problems.push('the second curl did not fetch the page');
  if (touches.length !== 1) problems.push(`expected exactly one touch, saw ${touches.length}`);
  if (touches.length !== touchesBefore) problems.push('the second request asked for a touch');
  if (problems.length) throw new Error(`demo: ${problems.join('; ')}`);
  step('demo: all expected outcomes happened');

  // The keyvnet command, as a user would run it on the laptop.
  const keyvnet = async (args: string[]): Promise<string> => {
    const env = { KEYVNET_SSH_AUTH_SOCK: join(home, 'agent.sock'), KEYVNET_VIRTUAL_KEY: statePath };
    const argv = [
      'env',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      KEYVNET,
      '--socket',
      stack!.socketPath,
    ];
    const r = await topo!.laptop
      .run(argv[0], [...argv.slice(1), '--config', stack!.configPath, ...args], { timeoutMs: 120_000 })
      .catch((e: { stdout?: string; stderr?: string }) => ({ stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` }));
    return r.stdout.trimEnd().replace(/^/gm, '  ');
  };
  step('keyvnet status');
  say(await keyvnet(['status']));
  step('keyvnet diag');
  say(await keyvnet(['diag']));

  if (once) return;
  say(`
KeyVNet is running. Try it from the laptop namespace (another terminal, as root):
  ip netns exec ${topo.laptop.name} curl http://hello.corp.test/
  ip netns exec ${topo.laptop.name} dig +short hello.corp.test
  ip netns exec ${topo.laptop.name} sh -c 'echo hi | nc -q1 echo.corp.test 7'
Press Ctrl-C to stop (everything is removed).`);
  shown = agent.all.length;
  const follow = setInterval(() => {
    while (shown < agent.all.length) say(`  [agent] ${agent.all[shown++]}`);
  }, 200);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(follow);
}

process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
main().then(
  async () => {
    await cleanup();
    say('stopped; namespaces and processes removed');
    process.exit(0);
  },
  async (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    if (stack)
      process.stderr.write(
        `agent said:\n${stack.agentLines.all.join('\n')}\ndaemon log (tail):\n${stack.daemonLines.stderr}\n`,
      );
    await cleanup();
    process.exit(1);
  },
);
