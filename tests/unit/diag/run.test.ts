// runDiagnostics end to end with the platform tools' outputs recorded (macOS here is only reachable
// this way), a config file, and no daemon or agent running.
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, runDiagnostics } from '../../../app/diag';
import type { Exec } from '../../../app/diag/exec';
import { writePrivateKeyFile } from '../../../app/ssh/keyfile';
import {
  SK_ECDSA_TYPE,
  SSH_SK_USER_PRESENCE_REQD,
  SSH_SK_USER_VERIFICATION_REQD,
} from '../../../app/ssh/keys';
import * as S from './samples';

function fakeExec(outputs: Record<string, string | null>): { exec: Exec; calls: string[] } {
  const calls: string[] = [];
  const exec: Exec = async (cmd, args) => {
    const line = [cmd, ...args].join(' ');
    calls.push(line);
    const out = outputs[line];
    if (out === undefined) return { code: null, stdout: '', stderr: `${cmd}: not installed` };
    if (out === null) return { code: 1, stdout: '', stderr: 'permission denied' };
    return { code: 0, stdout: out, stderr: '' };
  };
  return { exec, calls };
}

describe('diag: runDiagnostics with recorded tool output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvn-diag-'));
  const configPath = join(dir, 'config.toml');
  writeFileSync(
    configPath,
    '[vnet]\nrange = "100.64.0.0/10"\n[[zone]]\nsuffix = "corp.test"\nvia = "direct"\n[[app]]\nname = "a.corp.test"\ntarget = "127.0.0.1:80"\n',
  );
  const base = {
    configPath,
    daemonSocketPath: join(dir, 'daemon.sock'),
    agentSocketPath: join(dir, 'agent.sock'),
    version: 'test',
  };

  it('macOS: Tailscale on utun4 and a pf that blocks everything inbound', async () => {
    const { exec, calls } = fakeExec({
      'netstat -rn -f inet': S.NETSTAT_TAILSCALE,
      'pfctl -s info': S.PF_INFO_ENABLED,
      'pfctl -s rules': S.PF_BLOCK_ALL,
    });
    const progress: string[] = [];
    const r = await runDiagnostics({
      ...base,
      platform: 'darwin',
      exec,
      onProgress: (w) => progress.push(w),
    });
    const by = (id: string) => r.checks.find((c) => c.id === id)!;
    expect(by('config').status).to.equal('ok');
    expect(by('daemon').status).to.equal('fail');
    expect(by('daemon').evidence[0]).to.contain('not running');
    expect(by('agent').status).to.equal('fail');
    expect(by('routes').status).to.equal('fail');
    expect(by('routes').evidence[0]).to.equal('100.64.0.0/10 → utun4 (a VPN)');
    expect(by('resolver.config').status).to.equal('skip');
    expect(by('firewall').status).to.equal('fail');
    expect(by('firewall').evidence[0]).to.equal('pf: block drop in all');
    expect(by('key').status).to.equal('skip');
    expect(r.summary).to.deep.equal({ ok: 1, warn: 0, fail: 4, skip: 2 });
    expect(calls).to.deep.equal(['netstat -rn -f inet', 'pfctl -s info', 'pfctl -s rules']);
    expect(progress).to.deep.equal([
      'config',
      'daemon',
      'agent',
      'routes',
      'resolver',
      'firewall',
      'security key',
    ]);
    const text = formatReport(r);
    expect(text).to.contain(
      '[FAIL] Firewall: new connections on the VNet interface are let in\n       pf: block drop in all\n       → pf blocks',
    );
    expect(text.endsWith('1 ok, 0 warnings, 4 failed, 2 skipped\n')).to.equal(true);
  });

  it('macOS: pf unreadable without root is a skip, disabled pf is ok', async () => {
    const r1 = await runDiagnostics({
      ...base,
      platform: 'darwin',
      exec: fakeExec({ 'pfctl -s info': null }).exec,
    });
    expect(r1.checks.find((c) => c.id === 'firewall')!.status).to.equal('skip');
    const r2 = await runDiagnostics({
      ...base,
      platform: 'darwin',
      exec: fakeExec({ 'pfctl -s info': S.PF_INFO_DISABLED }).exec,
    });
    expect(r2.checks.find((c) => c.id === 'firewall')!.evidence).to.deep.equal(['pf is disabled']);
  });

  it('Linux with nft: the nft verdict is used; Tailscale’s table 52 is found', async () => {
    const { exec, calls } = fakeExec({
      'ip -j -4 route show table all': S.IP_ROUTES_TAILSCALE,
      'nft -j list ruleset': S.NFT_DROP_POLICY,
    });
    const r = await runDiagnostics({
      ...base,
      platform: 'linux',
      exec,
      securityKeys: async () => [
        {
          path: 'hid:1',
          info: {
            label: 'Key',
            kind: 'ctap2',
            versions: ['FIDO_2_1'],
            pinSet: true,
            pinRetries: 0,
            credProtect: true,
            residentKeys: true,
            builtInUv: false,
            aaguid: null,
          },
          error: null,
        },
      ],
    });
    const by = (id: string) => r.checks.find((c) => c.id === id)!;
    expect(by('routes').evidence[0]).to.contain('tailscale0');
    expect(by('firewall').evidence).to.deep.equal(['nft: ip fw in: policy drop']);
    expect(by('key').status).to.equal('fail');
    expect(by('key').fix).to.contain('PIN is blocked');
    expect(calls).to.not.include('iptables-save -t filter');
  });

  it('an invalid config fails with its line and field; a missing one says how to create it', async () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[vnet]\nrange = "100.64.0.0/33"\n');
    const r = await runDiagnostics({ ...base, configPath: bad, platform: 'freebsd' as NodeJS.Platform });
    const c = r.checks.find((x) => x.id === 'config')!;
    expect(c.status).to.equal('fail');
    expect(c.evidence[0]).to.match(new RegExp(`^${bad}:2: vnet\\.range: `));
    expect(r.checks.find((x) => x.id === 'routes')!.evidence).to.deep.equal(['not supported on freebsd']);
    const missing = await runDiagnostics({
      ...base,
      configPath: join(dir, 'none.toml'),
      platform: 'linux',
      exec: fakeExec({}).exec,
    });
    expect(missing.checks[0].fix).to.contain('keyvnet config edit');
  });

  it('a key without a PIN fails when a bastion key is verify-required (a dead bastion on loopback fails too)', async () => {
    const keyFile = join(dir, 'id_ecdsa_sk');
    writeFileSync(
      keyFile,
      writePrivateKeyFile({
        type: SK_ECDSA_TYPE,
        publicKey: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]),
        application: 'ssh:',
        flags: SSH_SK_USER_PRESENCE_REQD | SSH_SK_USER_VERIFICATION_REQD,
        keyHandle: Buffer.alloc(32, 2),
        comment: 'me',
      }),
      { mode: 0o600 },
    );
    const cfg = join(dir, 'vr.toml');
    writeFileSync(
      cfg,
      `[[bastion]]\nname = "corp"\nhost = "127.0.0.1"\nport = 1\nuser = "me"\nkey = "${keyFile}"\nhost_keys = ["${S.ED25519_HOST_KEY}"]\n`,
    );
    const noPin = {
      label: 'Key',
      kind: 'ctap2' as const,
      versions: ['FIDO_2_1'],
      pinSet: false,
      pinRetries: null,
      credProtect: true,
      residentKeys: true,
      builtInUv: false,
      aaguid: null,
    };
    const r = await runDiagnostics({
      ...base,
      configPath: cfg,
      platform: 'linux',
      exec: fakeExec({}).exec,
      securityKeys: async () => [{ path: 'hid:1', info: noPin, error: null }],
    });
    const by = (id: string) => r.checks.find((c) => c.id === id)!;
    expect(by('config').status, JSON.stringify(by('config'))).to.equal('ok');
    expect(by('key').status).to.equal('fail');
    expect(by('key').fix).to.contain(`${keyFile} is verify-required`);
    expect(by('bastion.corp.reachable').status).to.equal('fail');
    expect(by('bastion.corp.reachable').evidence[0]).to.contain('ECONNREFUSED');
    expect(by('bastion.corp.hostkey').status).to.equal('skip');
    expect(by('bastion.corp.session').status).to.equal('skip');
  });
});
