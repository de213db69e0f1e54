import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { parseConfig } from '../../../app/config/load';
import {
  bastionName,
  bastionToml,
  expandTokens,
  importSshHost,
  ImportError,
  parseJumpSpec,
} from '../../../app/cli/import-ssh';
import { Exit } from '../../../app/cli/exit-codes';
import { run } from './capture';

const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const EC =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=';

const SSH_CONFIG = `
Host corp
  HostName bastion.corp.example.com
  User alice
  Port 2222
  IdentityFile ~/.ssh/id_rsa
  IdentityFile ~/.ssh/id_ecdsa_sk
  ProxyJump edge

Host edge
  HostName edge.example.com
  User jump

Host lab
  HostName %h.lab.example.com
  ProxyJump bob@hop1.example.com:2200,hop2
  ProxyCommand none

Host hop2
  HostName 10.0.0.2

Host legacy
  HostName legacy.example.com
  ProxyCommand nc -X 5 -x proxy:1080 %h %p
  IdentityFile ~/.ssh/id_rsa

Host loop1
  ProxyJump loop2
Host loop2
  ProxyJump loop1

Host *
  User defaultuser
`;

const KNOWN_HOSTS = `[bastion.corp.example.com]:2222 ${ED}
edge.example.com,1.2.3.4 ${EC}
@revoked legacy.example.com ${ED}
`;

const input = (host: string, knownHosts: string | null = KNOWN_HOSTS) => ({
  sshConfig: SSH_CONFIG,
  host,
  localUser: 'me',
  knownHosts: (p: string) => (p === '~/.ssh/known_hosts' ? knownHosts : null),
});

describe('cli: config import-ssh (pure)', () => {
  it('HostName, User, Port, the sk IdentityFile, known_hosts keys and a ProxyJump bastion', () => {
    const r = importSshHost(input('corp'));
    expect(r.bastions.map((b) => b.name)).to.deep.equal(['edge', 'corp']);
    const [edge, corp] = r.bastions;
    expect(corp).to.deep.include({
      host: 'bastion.corp.example.com',
      port: 2222,
      user: 'alice',
      key: '~/.ssh/id_ecdsa_sk',
      hostKeys: [ED],
      jump: 'edge',
    });
    expect(corp.notes).to.deep.equal(['several IdentityFile lines: ~/.ssh/id_ecdsa_sk chosen']);
    expect(edge).to.deep.include({
      host: 'edge.example.com',
      port: 22,
      user: 'jump',
      hostKeys: [EC],
      jump: null,
    });
    expect(edge.notes[0]).to.contain('no IdentityFile');
  });

  it('the TOML is what config.toml accepts, with notes as comments', () => {
    const r = importSshHost(input('corp'));
    const toml = bastionToml(r.bastions, '~/.ssh/config');
    expect(toml).to.contain(
      '[[bastion]]\nname = "corp"\nhost = "bastion.corp.example.com"\nport = 2222\nuser = "alice"\n',
    );
    expect(toml).to.contain(`host_keys = ["${ED}"]\njump = "edge"\n`);
    expect(toml).to.contain('# NOTE: no IdentityFile');
    const doc = parse(toml) as { bastion: unknown[] };
    expect(doc.bastion).to.have.length(2);
    const cfg = parseConfig(toml, '/tmp/c.toml', { checkFiles: false, home: '/home/me', username: 'me' });
    expect(cfg.bastions.find((b) => b.name === 'corp')).to.deep.include({
      jump: 'edge',
      hostKeys: [ED],
      port: 2222,
    });
  });

  it('a ProxyJump list chains hops in order, with user@host:port; %h in HostName', () => {
    const r = importSshHost(input('lab'));
    expect(r.bastions.map((b) => [b.name, b.host, b.port, b.user, b.jump])).to.deep.equal([
      ['hop1.example.com', 'hop1.example.com', 2200, 'bob', null],
      ['hop2', '10.0.0.2', 22, 'defaultuser', 'hop1.example.com'],
      ['lab', 'lab.lab.example.com', 22, 'defaultuser', 'hop2'],
    ]);
    expect(r.bastions[2].notes.join()).not.to.contain('ProxyCommand');
  });

  it('says what it cannot carry over: ProxyCommand, a non-sk key, revoked or missing host keys', () => {
    const r = importSshHost(input('legacy'));
    const notes = r.bastions[0].notes.join('\n');
    expect(notes).to.contain('ProxyCommand "nc -X 5 -x proxy:1080 %h %p" is not carried over');
    expect(notes).to.contain('does not look like a FIDO (sk) key');
    expect(notes).to.contain('@revoked');
    expect(notes).to.contain('no known_hosts entry for legacy.example.com');
    expect(r.warnings.length).to.equal(r.bastions[0].notes.length);
    expect(importSshHost(input('corp', null)).bastions[1].notes.join()).to.contain(
      'no known_hosts entry for [bastion.corp.example.com]:2222',
    );
  });

  it('refuses unknown hosts, wildcards and jump loops with a clear error', () => {
    expect(() => importSshHost(input('nothere'))).to.throw(ImportError, 'no "Host nothere" entry');
    expect(() => importSshHost(input('*'))).to.throw(ImportError);
    expect(() => importSshHost(input('loop1'))).to.throw(ImportError, /loop/);
    expect(() => importSshHost({ ...input('x'), sshConfig: 'Host x\n  ProxyJump a@b:99999\n' })).to.throw(
      /bad port/,
    );
  });

  it('helpers', () => {
    expect(bastionName('my host!')).to.equal('my-host-');
    expect(bastionName('--')).to.equal('bastion');
    expect(parseJumpSpec('ssh://u@[fd00::1]:2022')).to.deep.equal({ user: 'u', host: 'fd00::1', port: 2022 });
    expect(parseJumpSpec('h')).to.deep.equal({ user: null, host: 'h', port: null });
    expect(
      expandTokens('%d/.ssh/%r@%h:%p %u %%', { host: 'h', port: 22, user: 'r', localUser: 'l' }),
    ).to.equal('~/.ssh/r@h:22 l %');
  });
});

describe('cli: config import-ssh (command)', () => {
  it('prints the tables; --write appends them after checking; a name clash is refused (exit 4)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvn-imp-'));
    const sshConfig = join(dir, 'ssh_config');
    writeFileSync(sshConfig, SSH_CONFIG);
    const printed = await run(['config', 'import-ssh', 'corp', '--ssh-config', sshConfig]);
    expect(printed.code, printed.stderr).to.equal(Exit.Ok);
    expect(printed.stdout).to.contain('name = "corp"');
    expect(printed.stderr).to.contain('note: edge: no IdentityFile');
    const json = JSON.parse(
      (await run(['config', 'import-ssh', 'corp', '--ssh-config', sshConfig, '--json'])).stdout,
    );
    expect(json.bastions.map((b: { name: string }) => b.name)).to.deep.equal(['edge', 'corp']);

    const config = join(dir, 'config.toml');
    writeFileSync(config, '[vnet]\nrange = "100.64.0.0/10"\n');
    const w = await run([
      '--config',
      config,
      'config',
      'import-ssh',
      'corp',
      '--ssh-config',
      sshConfig,
      '--write',
    ]);
    expect(w.code, w.stderr).to.equal(Exit.Ok);
    const text = readFileSync(config, 'utf8');
    expect(text.startsWith('[vnet]\nrange = "100.64.0.0/10"\n\n# imported from')).to.equal(true);
    const again = await run([
      '--config',
      config,
      'config',
      'import-ssh',
      'corp',
      '--ssh-config',
      sshConfig,
      '--write',
    ]);
    expect(again.code).to.equal(Exit.ConfigInvalid);
    expect(again.stderr).to.contain('not written');
    expect(readFileSync(config, 'utf8')).to.equal(text); // nothing lost, nothing added
    expect((await run(['config', 'import-ssh', 'nothere', '--ssh-config', sshConfig])).code).to.equal(
      Exit.Failure,
    );
  });
});
