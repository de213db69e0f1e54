import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hostKeysFor,
  knownHostsName,
  lookupKnownHosts,
  matchHashed,
  matchHostPatterns,
} from '../../../app/config/known-hosts';
import { requireOrSkip } from '../../helpers/privileges';

// Fixed, well-formed host keys (ssh-keygen -t ed25519 / ecdsa output).
const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICcrds02nIliZfPlTLe07uwCqP6MrZ2s82sU41LvL+9d';
const K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICMDxmanZX0E3LxXYsMftR5nTZuSRR61oK6fqks64VtA';
const K3 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINjOA7My2E+K2PaERm8WujW1pehtjYr6HHVtaYSCJcTT';

describe('config: known_hosts', () => {
  it('names a host as ssh does: plain on port 22, [host]:port otherwise', () => {
    expect(knownHostsName('Bastion.Example.com', 22)).to.equal('bastion.example.com');
    expect(knownHostsName('10.0.0.1', 2222)).to.equal('[10.0.0.1]:2222');
  });

  it('matches comma lists, wildcards and negation like match_hostname', () => {
    expect(matchHostPatterns('host1', 'host0,HOST1')).to.equal(true);
    expect(matchHostPatterns('a.corp.example.com', '*.corp.example.com')).to.equal(true);
    expect(matchHostPatterns('corp.example.com', '*.corp.example.com')).to.equal(false);
    expect(matchHostPatterns('web7.corp', 'web?.corp')).to.equal(true);
    expect(matchHostPatterns('web17.corp', 'web?.corp')).to.equal(false);
    expect(matchHostPatterns('secret.corp', '*.corp,!secret.corp')).to.equal(false);
    expect(matchHostPatterns('secret.corp', '!secret.corp')).to.equal(false);
    expect(matchHostPatterns('[h]:2222', '[h]:2222')).to.equal(true);
    expect(matchHostPatterns('[h]:2222', 'h')).to.equal(false);
    expect(matchHostPatterns('ab', 'a.')).to.equal(false); // "." is literal
  });

  it('matches hashed names (HMAC-SHA1 with the salt)', () => {
    // From `ssh-keygen -H` on a file holding "host1".
    const field = '|1|2kwm4APTNjcEPCOftwJ2LPwZaBE=|WsvCjcHhSOiFiuVh7SDaOlrZCmA=';
    expect(matchHashed('host1', field)).to.equal(true);
    expect(matchHashed('host2', field)).to.equal(false);
    expect(matchHashed('host1', '|2|x|y')).to.equal(false);
  });

  it('returns matching keys once, skips comments, @cert-authority and bad lines, reports @revoked', () => {
    const text = [
      '# a comment',
      `host1,host2 ${K1} comment here`,
      `host1 ${K2}`,
      `host1 ${K1}`,
      `@revoked * ${K2}`,
      `@cert-authority *.corp ${K3}`,
      `@bogus host1 ${K3}`,
      'host1 ssh-ed25519',
      `host1 ssh-rsa ${K3.split(' ')[1]}`,
      `other ${K3}`,
      '',
    ].join('\n');
    const r = lookupKnownHosts(text, 'host1', 22);
    expect(r.keys).to.deep.equal([K1]);
    expect(r.revoked).to.deep.equal([K2]);
    expect(r.problems.map((p) => p.line)).to.deep.equal([7, 8, 9]);
    expect(lookupKnownHosts(text, 'x.corp', 22).certAuthorities).to.equal(1);
    const revoked: string[] = [];
    expect(hostKeysFor(text, 'host2', 22, (k) => revoked.push(k))).to.deep.equal([K1]);
    expect(revoked).to.deep.equal([K2]);
    expect(hostKeysFor(text, 'host1', 2222)).to.deep.equal([]);
  });

  describe('against ssh-keygen -F and -H', () => {
    let dir: string;
    before(function () {
      const r = spawnSync('ssh-keygen', ['-?'], { encoding: 'utf8' });
      requireOrSkip(this, 'known_hosts interop', r.error ? 'ssh-keygen is not installed' : null);
    });
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'keyvnet-kh-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const plain = [
      `host1,10.0.0.1 ${K1}`,
      `[host1]:2222 ${K2}`,
      `[*.lab]:2200 ${K2}`,
      `*.corp.example.com,!secret.corp.example.com ${K3}`,
      `Mixed.Case ${K2}`,
      `host1 ${K3}`,
    ].join('\n');
    const queries: [string, number][] = [
      ['host1', 22],
      ['HOST1', 22],
      ['10.0.0.1', 22],
      ['host1', 2222],
      ['x.lab', 2200],
      ['x.lab', 22],
      ['a.corp.example.com', 22],
      ['secret.corp.example.com', 22],
      ['mixed.case', 22],
      ['nowhere', 22],
    ];

    /**
     * The keys `ssh-keygen -F` finds for host:port in a file. The name is lower-cased first, as ssh(1)
     * does before any lookup (ssh-keygen -F does not, for hashed entries).
     */
    const sshKeygenFind = (file: string, host: string, port: number): string[] => {
      const r = spawnSync('ssh-keygen', ['-F', knownHostsName(host, port), '-f', file], {
        encoding: 'utf8',
      });
      return r.stdout
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.trim().split(/\s+/).slice(1, 3).join(' '));
    };
    const sorted = (a: string[]) => [...new Set(a)].sort();

    it('finds the same keys as ssh-keygen -F, plain and after ssh-keygen -H', () => {
      const file = join(dir, 'known_hosts');
      writeFileSync(file, `${plain}\n`);
      const before = queries.map(([h, p]) => sorted(hostKeysFor(plain, h, p)));
      queries.forEach(([h, p], i) =>
        expect(before[i], `${h}:${p}`).to.deep.equal(sorted(sshKeygenFind(file, h, p))),
      );
      expect(before[0]).to.deep.equal(sorted([K1, K3]));
      expect(before[7]).to.deep.equal([]);

      execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
      const hashed = readFileSync(file, 'utf8');
      expect(hashed).to.match(/^\|1\|/m);
      expect(hashed).not.to.match(/^host1/m);
      queries.forEach(([h, p], i) => {
        expect(sorted(hostKeysFor(hashed, h, p)), `${h}:${p} hashed`).to.deep.equal(before[i]);
        expect(sorted(sshKeygenFind(file, h, p)), `${h}:${p} ssh-keygen on hashed`).to.deep.equal(before[i]);
      });
    });
  });
});
