// `keyvnet diag` on a healthy VNet and on broken ones, made for real in a namespace this test owns:
// a conflicting route (a dummy interface), a firewall rule dropping the tun's traffic, the resolver
// configuration removed, a bastion (real sshd) with a changed host key or nobody listening, and a
// key without a PIN; and, in the three-namespace topology, an inner bastion reached only through
// the outer one (`jump`), healthy and with a changed host key. Needs root (skips on a laptop, must
// run under CI=true).
import { expect } from 'chai';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Exit } from '../../app/cli/exit-codes';
import type { CheckResult, DiagReport } from '../../app/diag';
import { VirtualAuthenticator } from '../../app/fido/virtual/authenticator';
import type { UserPrompter } from '../../app/fido/api';
import { Ctap2SecurityKey } from '../../app/fido/security-key';
import { enrollSkKey } from '../../app/ssh/enroll';
import { writePrivateKeyFile } from '../../app/ssh/keyfile';
import { authorizedKeysLine, publicKeyLine, SK_ECDSA_TYPE, type SkKey } from '../../app/ssh/keys';
import { SshWriter } from '../../app/ssh/wire';
import { PROTOCOL_VERSION } from '../../ipc/messages';
import { RpcError, RpcPeer } from '../../ipc/rpc';
import { Lines } from '../helpers/lines';
import { NetNs } from '../helpers/netns';
import { requireNetns } from '../helpers/privileges';
import { ADDR, INNER_SSH_PORT, SSH_PORT, Topology } from '../helpers/topology';
import { enrollKeyFiles } from '../helpers/virtual-user';
import { AGENT_MAIN, DEFAULT_RESOLV, directHelloConfig, VNetStack } from '../helpers/vnet-stack';
import { keyvnetIn } from './cli-run';
import { TestSshd } from './fixtures/ssh/sshd';

const TUN = 'kvnd0';

const config = (bastions: string): string => directHelloConfig(bastions);

const bastion = (name: string, port: number, hostKey: string, keyPath: string): string => `
[[bastion]]
name = "${name}"
host = "127.0.0.1"
port = ${port}
user = "root"
key = "${keyPath}"
host_keys = ["${hostKey}"]
`;

describe('keyvnet diag on healthy and broken set-ups (root, netns)', function () {
  this.timeout(300_000);
  let ns: NetNs;
  let stack: VNetStack;
  let sshd: TestSshd;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let hostKey: string;
  let keyPath: string;

  const diag = async (extraEnv: NodeJS.ProcessEnv = {}, configPath?: string) => {
    const r = await keyvnetIn(
      ns,
      ['--socket', stack.socketPath, '--config', configPath ?? stack.configPath, 'diag', '--json'],
      { ...env, ...extraEnv },
    );
    const report = JSON.parse(r.stdout) as DiagReport;
    const by = (id: string): CheckResult => {
      const c = report.checks.find((x) => x.id === id);
      if (!c) throw new Error(`no check ${id}: ${report.checks.map((x) => x.id).join(', ')}`);
      return c;
    };
    return { code: r.code, report, by, stderr: r.stderr };
  };

  before(async function () {
    requireNetns(this, 'keyvnet diag in a namespace');
    ns = await NetNs.create('diag');
    const server = ns.spawnNode(join(__dirname, 'fixtures', 'vnet', 'http-server.ts'), [
      '127.0.0.1',
      '8080',
      'hi',
    ]);
    await new Lines(server).next(/^LISTENING/);
    sshd = await TestSshd.start(ns);
    hostKey = readFileSync(join(sshd.dir, 'ssh_host_ed25519_key.pub'), 'utf8')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
    stack = new VNetStack(ns, { config: '', tunName: TUN });
    dir = stack.dir;
    // The user's sk key (public part is enough for the config), and a virtual security key with a PIN.
    keyPath = join(dir, 'id_ecdsa_sk.pub');
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]);
    writeFileSync(
      keyPath,
      publicKeyLine({ type: SK_ECDSA_TYPE, publicKey: point, application: 'ssh:' }, 'me@test') + '\n',
    );
    new VirtualAuthenticator({ statePath: join(dir, 'vk-pin.json'), pin: '123456' });
    stack.writeConfig(config(bastion('corp', sshd.port, hostKey, keyPath)));
    const agentSock = join(dir, 'agent', 'agent.sock');
    mkdirSync(join(dir, 'agent'), { mode: 0o700 });
    env = {
      KEYVNET_SSH_AUTH_SOCK: agentSock,
      KEYVNET_VIRTUAL_KEY: join(dir, 'vk-pin.json'),
      // The agent here serves no control socket: the command opens the (virtual) key itself.
      KEYVNET_AGENT_SOCKET: join(dir, 'no-control.sock'),
    };
    await stack.startDaemon();
    await stack.startAgent(['--ssh-agent-socket', agentSock]);
    await stack.agentLines.next(/^vnet: up /);
  });

  after(async () => {
    await stack?.stop();
    sshd?.cleanup();
    await ns?.delete();
  });

  it('healthy: every check passes, exit 0, and the text report says so', async () => {
    const { code, report, by } = await diag();
    const bad = report.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
    expect(bad, JSON.stringify(bad, null, 1)).to.deep.equal([]);
    expect(code).to.equal(Exit.Ok);
    for (const id of [
      'config',
      'daemon',
      'agent',
      'routes',
      'resolver.config',
      'resolver.lookup.corp.test',
      'firewall',
      'udp-filter',
      'bastion.corp.reachable',
      'bastion.corp.hostkey',
      'key',
    ])
      expect(by(id).status, id).to.equal('ok');
    expect(by('routes').evidence).to.deep.equal([`100.64.0.0/10 is routed to ${TUN}`]);
    expect(by('bastion.corp.reachable').evidence[0]).to.match(/^banner: SSH-2\.0-OpenSSH/);
    expect(by('key').evidence).to.include('PIN: set, 8 retries left');
    expect(Object.keys(by('routes'))).to.deep.equal(['id', 'title', 'status', 'evidence', 'fix']);
    const text = await keyvnetIn(
      ns,
      ['--socket', stack.socketPath, '--config', stack.configPath, 'diag'],
      env,
    );
    expect(text.code).to.equal(Exit.Ok);
    expect(text.stdout).to.contain('[ok  ] Routes: nothing else routes the VNet range 100.64.0.0/10\n');
    expect(text.stdout).to.match(/\n\d+ ok, 0 warnings, 0 failed, \d+ skipped\n$/);
    expect(text.stderr).to.contain('checking routes…');
  });

  it('a conflicting route (a dummy interface in the range) fails, names it and suggests a free range', async () => {
    // A veth pair stands in for another VPN's interface (this kernel may lack the dummy driver).
    await ns.run('ip', ['link', 'add', 'kvdummy', 'type', 'veth', 'peer', 'name', 'kvdummy1']);
    try {
      await ns.run('ip', ['addr', 'add', '100.64.200.1/16', 'dev', 'kvdummy']);
      await ns.run('ip', ['link', 'set', 'kvdummy', 'up']);
      await ns.run('ip', ['link', 'set', 'kvdummy1', 'up']);
      const { code, by } = await diag();
      expect(code).to.equal(Exit.DiagFailed);
      const c = by('routes');
      expect(c.status).to.equal('fail');
      expect(c.evidence).to.deep.equal(['100.64.0.0/16 → kvdummy']);
      expect(c.fix).to.contain('range = "100.65.0.0/16"');
    } finally {
      await ns.run('ip', ['link', 'del', 'kvdummy']);
    }
  });

  it('a firewall rule dropping the tun’s traffic fails (and curl really fails)', async () => {
    const rule = ['INPUT', '-i', 'kvn+', '-j', 'DROP'];
    await ns.run('iptables', ['-A', ...rule]);
    await ns.run('ip6tables', ['-A', ...rule]);
    try {
      const curl = await ns.run('curl', ['-sS', '-m', '3', 'http://hello.corp.test/']).catch((e: Error) => e);
      expect(curl).to.be.instanceOf(Error);
      const { code, by } = await diag();
      expect(code).to.equal(Exit.DiagFailed);
      const c = by('firewall');
      expect(c.status).to.equal('fail');
      expect(c.evidence).to.deep.equal([
        'iptables: -A INPUT -i kvn+ -j DROP',
        'ip6tables: -A INPUT -i kvn+ -j DROP',
      ]);
      expect(c.fix).to.contain(`arriving on ${TUN}`);
    } finally {
      await ns.run('iptables', ['-D', ...rule]);
      await ns.run('ip6tables', ['-D', ...rule]);
    }
    expect((await ns.run('curl', ['-sS', '-m', '10', 'http://hello.corp.test/'])).stdout.trim()).to.equal(
      'hi',
    );
  });

  it('the UDP filter flushed by another tool is a warning that says what is missing', async () => {
    await ns.run('iptables', ['-w', '5', '-D', 'OUTPUT', '-j', 'KEYVNET-UDP']);
    try {
      const { by } = await diag();
      const c = by('udp-filter');
      expect(c.status).to.equal('warn');
      expect(c.evidence[0]).to.equal('iptables: no jump from OUTPUT to KEYVNET-UDP');
    } finally {
      await ns.run('iptables', ['-w', '5', '-I', 'OUTPUT', '-j', 'KEYVNET-UDP']);
    }
    expect((await diag()).by('udp-filter').status).to.equal('ok');
  });

  it('a bastion with a changed host key fails; one where nobody listens is unreachable', async () => {
    const otherDir = join(dir, 'otherkey');
    mkdirSync(otherDir);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(otherDir, 'k')]);
    const other = readFileSync(join(otherDir, 'k.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const alt = join(dir, 'alt.toml');
    writeFileSync(
      alt,
      config(bastion('corp', sshd.port, other, keyPath) + bastion('gone', 2299, hostKey, keyPath)),
    );
    const { code, by } = await diag({}, alt);
    expect(code).to.equal(Exit.DiagFailed);
    const hk = by('bastion.corp.hostkey');
    expect(hk.status).to.equal('fail');
    expect(hk.evidence[0]).to.match(/^127\.0\.0\.1:2222 presents ssh-ed25519 SHA256:/);
    expect(hk.evidence[1]).to.match(/^expected ssh-ed25519 SHA256:/);
    expect(hk.fix).to.contain('different host key');
    const gone = by('bastion.gone.reachable');
    expect(gone.status).to.equal('fail');
    expect(gone.evidence[0]).to.contain('ECONNREFUSED');
    expect(by('bastion.gone.hostkey').status).to.equal('skip');
  });

  it('--auth signs in to the real sshd with the security key; a key sshd does not know fails', async () => {
    // An sk key made on a virtual security key, authorized in sshd.
    const statePath = join(dir, 'vk-auth.json');
    const va = new VirtualAuthenticator({ statePath });
    const silent: UserPrompter = {
      askPin: async () => null,
      touchNeeded: () => undefined,
      touchDone: () => undefined,
    };
    const sk = await Ctap2SecurityKey.open(va.connect(), silent, { label: va.label });
    const { key } = await enrollSkKey(
      sk,
      { comment: 'diag@test' },
      { purpose: { what: 'enroll', requester: 'app' } },
    );
    await sk.close();
    va.unplug();
    const priv = join(dir, 'id_auth_sk');
    writeFileSync(priv, writePrivateKeyFile(key), { mode: 0o600 });
    const auth = join(dir, 'auth.toml');
    writeFileSync(auth, config(bastion('corp', sshd.port, hostKey, priv)));
    sshd.setAuthorizedKeys([authorizedKeysLine(key)]);
    const mark = sshd.logMark();
    const run = (): Promise<{ code: number; by: (id: string) => CheckResult }> =>
      keyvnetIn(ns, ['--socket', stack.socketPath, '--config', auth, 'diag', '--auth', '--json'], {
        ...env,
        KEYVNET_VIRTUAL_KEY: statePath,
      }).then((r) => {
        const report = JSON.parse(r.stdout) as DiagReport;
        return { code: r.code, by: (id: string) => report.checks.find((c) => c.id === id)! };
      });
    const ok = await run();
    const c = ok.by('bastion.corp.auth');
    expect(c.status, JSON.stringify(c)).to.equal('ok');
    expect(c.evidence[0]).to.match(/^accepted SHA256:\S+ for root@127\.0\.0\.1:2222 \(1 signature\)$/);
    await sshd.waitForLog(/Accepted publickey for root .* ECDSA-SK /, mark);
    sshd.setAuthorizedKeys([]);
    const refused = await run();
    expect(refused.code).to.equal(Exit.DiagFailed);
    expect(refused.by('bastion.corp.auth').status).to.equal('fail');
    expect(refused.by('bastion.corp.auth').fix).to.contain('authorized_keys');
  });

  it('a key with no PIN is a warning (exit 0)', async () => {
    const { code, by } = await diag({ KEYVNET_VIRTUAL_KEY: join(dir, 'vk-nopin.json') });
    expect(code).to.equal(Exit.Ok);
    const k = by('key');
    expect(k.status).to.equal('warn');
    expect(k.evidence).to.include('PIN: not set');
    expect(k.fix).to.contain('keyvnet key pin set');
  });

  it('the resolver configuration removed: resolver and the DNS round trip fail', async () => {
    const file = `/etc/netns/${ns.name}/resolv.conf`;
    const ours = readFileSync(file, 'utf8');
    writeFileSync(file, DEFAULT_RESOLV);
    try {
      const { code, by } = await diag();
      expect(code).to.equal(Exit.DiagFailed);
      const c = by('resolver.config');
      expect(c.status).to.equal('fail');
      expect(c.evidence[0]).to.equal('/etc/resolv.conf nameservers: 127.0.0.1');
      expect(by('resolver.lookup.corp.test').status).to.equal('fail');
    } finally {
      writeFileSync(file, ours);
    }
  });
});

describe('keyvnet diag of a bastion behind a jump (root, three namespaces)', function () {
  this.timeout(300_000);
  let topo: Topology;
  let statePath: string;
  let keyFile: string;
  let userKey: SkKey;

  /** corp (the bastion) and inner (the intranet's sshd, reachable only through corp). */
  const jumpConfig = (innerHostKey: string): string => `
[[bastion]]
name = "inner"
host = "${ADDR.intranet}"
port = ${INNER_SSH_PORT}
user = "root"
key = "${keyFile}"
host_keys = ["${innerHostKey}"]
jump = "corp"

[[bastion]]
name = "corp"
host = "${ADDR.bastionOuter}"
port = ${SSH_PORT}
user = "root"
key = "${keyFile}"
host_keys = ["${topo.sshd.hostKeyLine}"]
`;

  /**
   * diag --json in the laptop namespace (no daemon there: only the bastion and key checks matter
   * here). No agent answers at `control` unless a test starts one; the command's own key is `ownKey`.
   */
  const diagIn = async (
    configText: string,
    auth: boolean,
    { control = join(topo.dir, 'no-control.sock'), ownKey = statePath, globals = [] as string[] } = {},
  ) => {
    const path = join(topo.dir, `config-${Math.random().toString(36).slice(2)}.toml`);
    writeFileSync(path, configText);
    const args = [
      ...globals,
      '--agent-socket',
      control,
      '--socket',
      join(topo.dir, 'no-daemon.sock'),
      '--config',
      path,
      'diag',
      '--json',
    ];
    const r = await keyvnetIn(topo.laptop, auth ? [...args, '--auth'] : args, {
      KEYVNET_VIRTUAL_KEY: ownKey,
      KEYVNET_SSH_AUTH_SOCK: join(topo.dir, 'no-agent.sock'),
    });
    const report = JSON.parse(r.stdout) as DiagReport;
    const by = (id: string): CheckResult | undefined => report.checks.find((c) => c.id === id);
    return { by, stderr: r.stderr, code: r.code };
  };

  before(async function () {
    requireNetns(this, 'keyvnet diag through a jump');
    topo = await Topology.create({ innerSshd: true });
    statePath = join(topo.dir, 'vk.json');
    keyFile = join(topo.dir, 'keys', 'id_ecdsa_sk');
    const [key] = await enrollKeyFiles(statePath, [{ file: keyFile, comment: 'jump@test' }]);
    userKey = key;
    topo.sshd.setAuthorizedKeys([authorizedKeysLine(key)]);
    topo.innerSshd!.setAuthorizedKeys([authorizedKeysLine(key)]);
  });

  after(async () => {
    await topo?.teardown();
  });

  it('without --auth: the inner bastion is not checked, and the report says why', async () => {
    const { by } = await diagIn(jumpConfig(topo.innerSshd!.hostKeyLine), false);
    expect(by('bastion.corp.reachable')?.status).to.equal('ok');
    expect(by('bastion.corp.hostkey')?.status).to.equal('ok');
    for (const id of ['bastion.inner.reachable', 'bastion.inner.hostkey']) {
      const c = by(id)!;
      expect(c.status, id).to.equal('skip');
      expect(c.evidence[0]).to.equal(
        'reached through bastion corp: checking it needs a sign-in to corp (a touch), which keyvnet diag makes only with --auth',
      );
      expect(c.fix).to.equal('Run keyvnet diag --auth to check it through corp.');
    }
    expect(by('bastion.inner.auth')).to.equal(undefined);
  });

  it('--auth, healthy: reachable, host key and sign-in of the inner bastion, through the outer one', async () => {
    const innerMark = topo.innerSshd!.logText.length;
    const { by } = await diagIn(jumpConfig(topo.innerSshd!.hostKeyLine), true);
    for (const id of [
      'bastion.corp.reachable',
      'bastion.corp.hostkey',
      'bastion.corp.auth',
      'bastion.inner.reachable',
      'bastion.inner.hostkey',
      'bastion.inner.auth',
    ])
      expect(by(id)?.status, `${id}: ${JSON.stringify(by(id))}`).to.equal('ok');
    expect(by('bastion.inner.reachable')!.title).to.equal(
      `Bastion inner: ${ADDR.intranet}:${INNER_SSH_PORT} reachable through corp`,
    );
    expect(by('bastion.inner.reachable')!.evidence[0]).to.match(/^banner: SSH-2\.0-OpenSSH/);
    expect(by('bastion.inner.auth')!.evidence[0]).to.match(
      new RegExp(
        `^accepted SHA256:\\S+ for root@${ADDR.intranet.replace(/\./g, '\\.')}:${INNER_SSH_PORT} through corp \\(1 signature\\)$`,
      ),
    );
    // The outer session was signed in once and served both: its own check and the jump.
    expect(by('bastion.corp.auth')!.evidence[0]).to.contain('(1 signature)');
    // The inner sshd saw the connection come from the bastion, never from the laptop.
    expect(topo.innerSshd!.logText.slice(innerMark)).to.match(
      new RegExp(`Accepted publickey for root from ${ADDR.bastionInner.replace(/\./g, '\\.')} `),
    );
  });

  it('--auth, a changed inner host key: fails with both fingerprints, and no sign-in is attempted there', async () => {
    const innerMark = topo.innerSshd!.logText.length;
    const { by } = await diagIn(jumpConfig(topo.sshd.hostKeyLine), true); // the outer key, not the inner's
    expect(by('bastion.inner.reachable')?.status).to.equal('ok');
    const hk = by('bastion.inner.hostkey')!;
    expect(hk.status).to.equal('fail');
    expect(hk.evidence[0]).to.match(
      new RegExp(`^${ADDR.intranet.replace(/\./g, '\\.')}:${INNER_SSH_PORT} presents ssh-ed25519 SHA256:`),
    );
    expect(hk.evidence[1]).to.match(/^expected ssh-ed25519 SHA256:/);
    expect(hk.fix).to.contain('different host key');
    expect(by('bastion.inner.auth')).to.equal(undefined);
    expect(by('bastion.corp.auth')?.status).to.equal('ok');
    expect(topo.innerSshd!.logText.slice(innerMark)).not.to.contain('Accepted publickey');
  });

  describe('through the running agent (headless, in the laptop namespace)', () => {
    let agent: ChildProcess;
    let agentLines: Lines;
    let control: string;
    /** The command's own virtual key: it holds no credential, so only the agent's key can sign in. */
    let commandKey: string;
    const esc = (t: string): string => t.replace(/[.()]/g, (c) => `\\${c}`);

    before(async () => {
      control = join(topo.dir, 'run', 'control.sock');
      commandKey = join(topo.dir, 'command-vk.json');
      const agentConfig = join(topo.dir, 'agent-config.toml');
      writeFileSync(agentConfig, jumpConfig(topo.innerSshd!.hostKeyLine));
      agent = topo.laptop.spawnNode(AGENT_MAIN, [
        '--headless',
        '--config',
        agentConfig,
        '--daemon-socket',
        join(topo.dir, 'no-daemon.sock'),
        '--ssh-agent-socket',
        'none',
        '--agent-socket',
        control,
        '--virtual-key',
        statePath,
        '--virtual-touch',
        'auto',
      ]);
      agentLines = new Lines(agent);
      await agentLines.next(/^control: /);
    });

    after(async () => {
      if (agent && agent.exitCode === null && agent.signalCode === null) {
        const gone = new Promise((resolve) => agent.once('exit', resolve));
        agent.kill('SIGTERM');
        await gone;
      }
    });

    it('--auth: the agent signs every sign-in after its own touch prompts; the command prints what it asks', async () => {
      agentLines.skipAll();
      const { by, stderr } = await diagIn(jumpConfig(topo.innerSshd!.hostKeyLine), true, {
        control,
        ownKey: commandKey,
      });
      for (const id of [
        'bastion.corp.auth',
        'bastion.inner.reachable',
        'bastion.inner.hostkey',
        'bastion.inner.auth',
      ])
        expect(by(id)?.status, `${id}: ${JSON.stringify(by(id))}`).to.equal('ok');
      expect(by('bastion.inner.auth')!.evidence[0]).to.contain(' through corp (1 signature)');
      // The touches were asked by the agent, on its own output, for this command.
      const corp = `Touch your security key to connect to corp (${ADDR.bastionOuter})`;
      const inner = `Touch your security key to connect to inner (${ADDR.intranet})`;
      await agentLines.next(new RegExp(`^prompt: touch ${esc(corp)}$`));
      await agentLines.next(new RegExp(`^prompt: touch ${esc(inner)}$`));
      await agentLines.nextErr(
        new RegExp(
          `signed a login to root@${esc(ADDR.bastionOuter)} for bastion corp \\(for keyvnet, pid \\d+\\)`,
        ),
      );
      // The command printed what the agent asked, and asked nothing itself.
      expect(stderr).to.contain(`The KeyVNet agent asks: ${corp}\n`);
      expect(stderr).to.contain(`The KeyVNet agent asks: ${inner}\n`);
      expect(stderr).not.to.match(/^Touch your security key/m);
      // The key check is the agent's key, and says so.
      const key = by('key')!;
      expect(key.evidence[0]).to.match(/^KeyVNet virtual key \(ctap2/);
      expect(key.evidence).to.include(`asked through the KeyVNet agent (pid ${agent.pid}, ${control})`);

      // In text: the progress lines and the agent's words, in order, on the command's stderr.
      const configPath = join(topo.dir, 'agent-config.toml');
      const text = await keyvnetIn(
        topo.laptop,
        [
          '--agent-socket',
          control,
          '--socket',
          join(topo.dir, 'none.sock'),
          '--config',
          configPath,
          'diag',
          '--auth',
        ],
        { KEYVNET_VIRTUAL_KEY: commandKey, KEYVNET_SSH_AUTH_SOCK: join(topo.dir, 'no-agent.sock') },
      );
      expect(text.stderr).to.contain(
        `checking bastion inner…\nThe KeyVNet agent asks: ${corp}\nThe KeyVNet agent asks: ${inner}\nchecking bastion corp…\n`,
      );
      expect(text.stdout).to.match(/\[ok {2}\] Bastion inner: sign-in as root with the security key\n/);
    });

    it('a bastion the agent does not have is refused with a clear error, before any prompt', async () => {
      agentLines.skipAll();
      const mark = agentLines.all.length;
      const stranger = `
[[bastion]]
name = "stranger"
host = "${ADDR.bastionOuter}"
port = ${SSH_PORT}
user = "root"
key = "${keyFile}"
host_keys = ["${topo.sshd.hostKeyLine}"]
`;
      const { by, stderr } = await diagIn(stranger, true, { control, ownKey: commandKey });
      expect(by('bastion.stranger.hostkey')?.status).to.equal('ok');
      const c = by('bastion.stranger.auth')!;
      expect(c.status).to.equal('fail');
      expect(c.evidence).to.deep.equal([
        'the KeyVNet agent is refusing to sign: no bastion "stranger" in the configuration',
      ]);
      expect(c.fix).to.contain('--no-agent');
      await agentLines.nextErr(/refused to sign a login: no bastion "stranger" in the configuration/);
      expect(agentLines.all.slice(mark).filter((l) => l.startsWith('prompt: '))).to.deep.equal([]);
      expect(stderr).not.to.contain('asks');
    });

    it('data that is not an SSH login (a file signature) is refused at the control socket', async () => {
      const s = connect(control);
      await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
      const peer = new RpcPeer(s, { peerName: 'the agent' });
      try {
        await peer.request('hello', {
          protocol: PROTOCOL_VERSION,
          version: 'test',
          role: 'cli',
          pid: process.pid,
        });
        // What `ssh-keygen -Y sign` has signed: the SSHSIG preamble, namespace "file", a hash.
        const sshsig = Buffer.concat([
          Buffer.from('SSHSIG'),
          new SshWriter()
            .string(Buffer.from('file'))
            .string(Buffer.alloc(0))
            .string(Buffer.from('sha512'))
            .string(Buffer.alloc(64, 1))
            .toBuffer(),
        ]);
        const err = await peer
          .request('key/sign-userauth', {
            bastion: 'corp',
            publicKey: publicKeyLine(userKey),
            data: sshsig.toString('base64'),
          })
          .catch((e: unknown) => e);
        expect(err).to.be.instanceOf(RpcError);
        expect((err as RpcError).reason).to.equal('not-a-login');
        expect((err as RpcError).message).to.match(/^refusing to sign: /);
      } finally {
        peer.close('done');
      }
      expect(agent.exitCode).to.equal(null);
    });

    it('--no-agent: the command asks its own key even while the agent runs', async () => {
      const mark = agentLines.errLines.length;
      const { by } = await diagIn(jumpConfig(topo.innerSshd!.hostKeyLine), false, {
        control,
        ownKey: commandKey,
        globals: ['--no-agent'],
      });
      expect(by('key')!.evidence).to.include('opened by this command (--no-agent)');
      expect(agentLines.errLines.slice(mark).filter((l) => l.includes('control: key/'))).to.deep.equal([]);
    });
  });
});
