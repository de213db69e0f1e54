import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envLine, shellOf } from '../../../app/cli/commands/ssh-agent';
import { Exit } from '../../../app/cli/exit-codes';
import { run } from './capture';

describe('cli: the command line', () => {
  it('--help lists every command and the exit codes; --version prints the version', async () => {
    const r = await run(['--help']);
    expect(r.code).to.equal(Exit.Ok);
    for (const c of [
      'status',
      'connections',
      'apps',
      'up',
      'down',
      'agent',
      'daemon',
      'key',
      'ssh-agent',
      'config',
    ])
      expect(r.stdout).to.match(new RegExp(`\\n  ${c}\\b`));
    expect(r.stdout).to.contain('3  the daemon is not running');
    expect((await run(['--version'])).stdout).to.equal('0.0.0-test\n');
  });

  it('has --help for each subcommand', async () => {
    for (const argv of [
      ['status'],
      ['key', 'enroll'],
      ['key', 'pin', 'set'],
      ['key', 'resident', 'list'],
      ['daemon', 'install'],
      ['config', 'import-ssh'],
      ['ssh-agent', 'env'],
    ]) {
      const r = await run([...argv, '--help']);
      expect(r.code, argv.join(' ')).to.equal(Exit.Ok);
      expect(r.stdout).to.contain(`Usage: keyvnet ${argv.join(' ')}`);
    }
  });

  it('usage errors exit 2', async () => {
    expect((await run(['bogus'])).code).to.equal(Exit.Usage);
    expect((await run(['status', '--bogus'])).code).to.equal(Exit.Usage);
    expect((await run(['daemon'])).code).to.equal(Exit.Usage);
    expect((await run(['config', 'import-ssh'])).code).to.equal(Exit.Usage);
    expect((await run(['ssh-agent', 'env', '--shell', 'pwsh'])).code).to.equal(Exit.Usage);
    const r = await run(['daemon', 'install', '--print']);
    expect(r.code).to.equal(Exit.Usage);
    expect(r.stderr).to.contain('--allow-uid is required on Linux');
  });

  it('no daemon: exit 3, and status --json still prints JSON', async () => {
    const socket = join(mkdtempSync(join(tmpdir(), 'kvn-cli-')), 'daemon.sock');
    const r = await run(['--socket', socket, 'status']);
    expect(r.code).to.equal(Exit.DaemonNotRunning);
    expect(r.stderr).to.contain(`no socket at ${socket}`);
    const j = await run(['status', '--json'], { KEYVNET_SOCKET: socket });
    expect(j.code).to.equal(Exit.DaemonNotRunning);
    expect(JSON.parse(j.stdout)).to.deep.include({ vnet: null });
    expect(JSON.parse(j.stdout).daemon).to.include({ running: false, socket });
    for (const c of ['connections', 'up', 'down'])
      expect((await run(['--socket', socket, c])).code, c).to.equal(Exit.DaemonNotRunning);
  });

  it('config check: OK, or exit 4 with file:line: field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvn-cli-'));
    const good = join(dir, 'good.toml');
    writeFileSync(
      good,
      '[vnet]\nrange = "100.64.0.0/10"\n[[zone]]\nsuffix = "corp.test"\nvia = "direct"\n[[app]]\nname = "a.corp.test"\ntarget = "127.0.0.1:80"\n',
    );
    const ok = await run(['--config', good, 'config', 'check']);
    expect(ok.code).to.equal(Exit.Ok);
    expect(ok.stdout).to.equal(`${good}: OK (0 bastions, 1 zones, 1 apps)\n`);
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[vnet]\nrange = "100.64.0.0/10"\nbogus = 1\n');
    const r = await run(['config', 'check'], { KEYVNET_CONFIG: bad });
    expect(r.code).to.equal(Exit.ConfigInvalid);
    expect(r.stderr).to.contain(`${bad}:3: vnet.bogus`);
    const j = await run(['--config', bad, 'config', 'check', '--json']);
    expect(j.code).to.equal(Exit.ConfigInvalid);
    const parsed = JSON.parse(j.stdout);
    expect(parsed).to.include({ path: bad, valid: false, summary: null });
    expect(parsed.problems[0]).to.include({ file: bad, line: 3, field: 'vnet.bogus' });
    // apps reads the config too: exit 4 when it is invalid.
    expect((await run(['--config', bad, 'apps'])).code).to.equal(Exit.ConfigInvalid);
    // apps without a daemon still lists the config's apps (no addresses).
    const apps = await run(['--config', good, '--socket', join(dir, 'none.sock'), 'apps', '--json']);
    expect(apps.code).to.equal(Exit.Ok);
    expect(JSON.parse(apps.stdout).apps[0]).to.include({
      name: 'a.corp.test',
      v4: null,
      target: '127.0.0.1:80',
    });
  });

  it('config edit: creates the file from the template, runs $EDITOR, then checks (exit 4 if broken)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvn-cli-'));
    const path = join(dir, 'sub', 'config.toml');
    const ok = await run(['--config', path, 'config', 'edit'], { EDITOR: 'true' });
    expect(ok.code, ok.stderr).to.equal(Exit.Ok);
    expect(ok.stderr).to.contain(`created ${path}`);
    expect(readFileSync(path, 'utf8')).to.contain('[vnet]');
    const broken = await run(['--config', path, 'config', 'edit'], { VISUAL: "sed -i 's|/10|/40|'" });
    expect(broken.code).to.equal(Exit.ConfigInvalid);
    expect(broken.stderr).to.contain(`${path}:3: vnet.range`);
    expect((await run(['--config', path, 'config', 'edit'], { EDITOR: 'false' })).code).to.equal(
      Exit.Failure,
    );
  });

  it('config path honours --config, $KEYVNET_CONFIG and XDG', async () => {
    expect((await run(['--config', '/x/c.toml', 'config', 'path'])).stdout).to.equal('/x/c.toml\n');
    expect((await run(['config', 'path'], { KEYVNET_CONFIG: '/y.toml' })).stdout).to.equal('/y.toml\n');
    expect((await run(['config', 'path'], { XDG_CONFIG_HOME: '/xdg' })).stdout).to.equal(
      '/xdg/keyvnet/config.toml\n',
    );
    const j = JSON.parse((await run(['config', 'path', '--json'], { KEYVNET_CONFIG: '/nope.toml' })).stdout);
    expect(j).to.deep.equal({ path: '/nope.toml', exists: false });
  });

  it('ssh-agent path and env', async () => {
    const env = { XDG_RUNTIME_DIR: '/run/user/1000', SHELL: '/usr/bin/fish' };
    expect((await run(['ssh-agent', 'path'], env)).stdout).to.equal('/run/user/1000/keyvnet/agent.sock\n');
    expect((await run(['ssh-agent', 'env'], env)).stdout).to.equal(
      "set -gx SSH_AUTH_SOCK '/run/user/1000/keyvnet/agent.sock';\n",
    );
    expect(envLine("/t/it's", 'sh')).to.equal("SSH_AUTH_SOCK='/t/it'\\''s'; export SSH_AUTH_SOCK;");
    expect(envLine('/a', 'csh')).to.equal("setenv SSH_AUTH_SOCK '/a';");
    expect(shellOf('/bin/zsh')).to.equal('sh');
    expect(shellOf('/bin/tcsh')).to.equal('csh');
    expect(shellOf(undefined)).to.equal('sh');
  });

  it('key commands: exit 6 without a key', async () => {
    // Only meaningful where no real key is plugged in (CI, this machine); a key would be opened read-only.
    const list = await run(['key', 'list', '--json']);
    expect(list.code).to.equal(Exit.Ok);
    if (JSON.parse(list.stdout).keys.length === 0) {
      expect((await run(['key', 'pin', 'set'])).code).to.equal(Exit.NoSecurityKey);
    }
    if (JSON.parse(list.stdout).keys.length === 0) {
      expect((await run(['key', 'resident', 'import'])).code).to.equal(Exit.NoSecurityKey);
    }
  });

  it('key resident list / import with the virtual key, like ssh-keygen -K; ssh-keygen -y agrees', async function () {
    this.timeout(180_000);
    const dir = mkdtempSync(join(tmpdir(), 'kvn-cli-rk-'));
    const env = {
      ...process.env,
      KEYVNET_VIRTUAL_KEY: join(dir, 'vk.json'),
      KEYVNET_AGENT_SOCKET: '/nonexistent/control.sock',
    };
    const keyvnet = join(__dirname, '..', '..', '..', 'bin', 'keyvnet');
    const cli = (args: string[], input = '') => spawnSync(keyvnet, args, { input, env, encoding: 'utf8' });
    expect(cli(['key', 'pin', 'set'], '123456\n123456\n').status).to.equal(Exit.Ok);
    const file = join(dir, 'id_ecdsa_sk');
    const e = cli(['key', 'enroll', '--resident', '-f', file, '--json'], '123456\n');
    expect(e.status, e.stderr).to.equal(Exit.Ok);
    const enrolled = JSON.parse(e.stdout) as { fingerprint: string; publicKey: string };
    const l = cli(['key', 'resident', 'list', '--json'], '123456\n');
    expect(l.status, l.stderr).to.equal(Exit.Ok);
    const listed = JSON.parse(l.stdout) as { keys: Array<{ fingerprint: string; user: string }> };
    expect(listed.keys.map((k) => k.fingerprint)).to.deep.equal([enrolled.fingerprint]);
    const out = join(dir, 'imported');
    const i = cli(['key', 'resident', 'import', '--dir', out, '--json'], '123456\n');
    expect(i.status, i.stderr).to.equal(Exit.Ok);
    const { files } = JSON.parse(i.stdout) as { files: Array<{ file: string; fingerprint: string }> };
    expect(files).to.deep.equal([{ file: join(out, 'id_ecdsa_sk_rk'), fingerprint: enrolled.fingerprint }]);
    // OpenSSH reads the imported file: the public key it derives is the enrolled one.
    const y = spawnSync('ssh-keygen', ['-y', '-f', files[0].file], { encoding: 'utf8' });
    expect(y.stdout.trim().split(' ').slice(0, 2)).to.deep.equal(enrolled.publicKey.split(' ').slice(0, 2));
    // Never overwritten.
    expect(cli(['key', 'resident', 'import', '--dir', out], '123456\n').status).to.equal(Exit.Failure);
  });

  it('key enroll / import / list / pin set with the virtual key', async function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'kvn-cli-'));
    const env = {
      KEYVNET_VIRTUAL_KEY: join(dir, 'vk.json'),
      KEYVNET_AGENT_SOCKET: '/nonexistent/control.sock',
    };
    const file = join(dir, 'id_ecdsa_sk');
    const e = await run(['key', 'enroll', '-f', file, '-C', 'me@test', '--json'], env);
    expect(e.code, e.stderr).to.equal(Exit.Ok);
    const out = JSON.parse(e.stdout);
    expect(out.publicKey).to.match(/^sk-ecdsa-sha2-nistp256@openssh\.com AAAA\S+ me@test$/);
    expect(readFileSync(`${file}.pub`, 'utf8')).to.equal(`${out.publicKey}\n`);
    expect((await run(['key', 'enroll', '-f', file], env)).code).to.equal(Exit.Failure); // never overwritten
    const i = await run(['key', 'import', file, '--json']);
    expect(JSON.parse(i.stdout)).to.include({
      fingerprint: out.fingerprint,
      type: 'ecdsa-sk',
      application: 'ssh:',
    });
    writeFileSync(join(dir, 'junk'), 'not a key\n');
    expect((await run(['key', 'import', join(dir, 'junk')])).stderr).to.contain(
      'not an OpenSSH private key file',
    );
    const before = JSON.parse((await run(['key', 'list', '--json'], env)).stdout).keys[0].info;
    expect(before).to.include({ kind: 'ctap2', pinSet: false, pinRetries: null, residentKeys: true });
    // pin set reads the new PIN twice (from a pipe here); a mismatch changes nothing.
    const keyvnet = join(__dirname, '..', '..', '..', 'bin', 'keyvnet');
    const pinSet = (input: string) =>
      spawnSync(keyvnet, ['key', 'pin', 'set'], { input, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(pinSet('123456\n654321\n').status).to.equal(Exit.Failure);
    expect(pinSet('').status).to.equal(Exit.Cancelled);
    const ok = pinSet('123456\n123456\n');
    expect(ok.status, ok.stderr).to.equal(Exit.Ok);
    expect(ok.stdout).to.equal('PIN set on KeyVNet virtual key.\n');
    const after = JSON.parse((await run(['key', 'list', '--json'], env)).stdout).keys[0].info;
    expect(after).to.include({ pinSet: true, pinRetries: 8 });
    expect(pinSet('123456\n123456\n').stderr).to.contain('already has a PIN');
    const change = (input: string) =>
      spawnSync(keyvnet, ['key', 'pin', 'change'], {
        input,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    const wrong = change('999999\n111111\n111111\n');
    expect(wrong.status).to.equal(Exit.Failure);
    expect(wrong.stderr).to.contain('Wrong PIN');
    const changed = change('123456\n654321\n654321\n');
    expect(changed.status, changed.stderr).to.equal(Exit.Ok);
    expect(JSON.parse((await run(['key', 'list', '--json'], env)).stdout).keys[0].info.pinRetries).to.equal(
      8,
    );
  });
});
