// AgentCore without a daemon: a first run (no config directory yet) starts, says what is missing, and
// picks the config up as soon as it is written; the daemon link keeps trying meanwhile.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCore } from '../../../app/agent/agent';
import type { AgentState } from '../../../app/agent/state';

describe('AgentCore (no daemon)', () => {
  let dir: string;
  let agent: AgentCore | null = null;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-core-'));
  });
  afterEach(async () => {
    await agent?.stop();
    agent = null;
    rmSync(dir, { recursive: true, force: true });
  });

  const next = (a: AgentCore, pred: (s: AgentState) => boolean): Promise<AgentState> =>
    new Promise((resolve) => {
      const on = (s: AgentState): void => {
        if (!pred(s)) return;
        a.off('state', on);
        resolve(s);
      };
      a.on('state', on);
    });

  it('starts on a first run without a config directory, and loads the config once it is written', async () => {
    const configPath = join(dir, 'not-yet', 'keyvnet', 'config.toml');
    agent = new AgentCore({
      configPath,
      daemonSocketPath: join(dir, 'no-daemon.sock'),
      version: 'test',
      prompter: { askPin: async () => null, touchNeeded: () => {}, touchDone: () => {} },
      securityKey: async () => {
        throw new Error('no key in this test');
      },
      sshAgentSocket: null,
      link: { retryMs: 50 },
    });
    const daemonTried = next(agent, (s) => s.daemon === 'connecting' && s.daemonError !== null);
    await agent.start();
    const s = agent.snapshot();
    expect(s.config.error).to.match(/cannot read the config: no such file/);
    expect((await daemonTried).daemonError).to.match(/not running/);
    const loaded = next(agent, (st) => st.config.error === null && st.config.zones.length === 1);
    writeFileSync(configPath, '[[zone]]\nsuffix = "corp.test"\nvia = "direct"\n');
    expect((await loaded).config.zones).to.deep.equal(['corp.test']);
  });
});

describe('AgentCore diagnostics (the menu’s Diagnostics…)', () => {
  it('returns the keyvnet diag report as text, here with the daemon missing', async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'kvn-core-diag-'));
    try {
      const configPath = join(dir, 'config.toml');
      writeFileSync(configPath, '[[zone]]\nsuffix = "corp.test"\nvia = "direct"\n');
      const agent = new AgentCore({
        configPath,
        daemonSocketPath: join(dir, 'no-daemon.sock'),
        version: 'test',
        prompter: { askPin: async () => null, touchNeeded: () => {}, touchDone: () => {} },
        securityKey: async () => {
          throw new Error('no key in this test');
        },
        sshAgentSocket: null,
      });
      const report = await agent.diagnostics();
      expect(report).to.match(/^\[ok {2}\] Config file is valid$/m);
      expect(report).to.match(/^\[FAIL\] Daemon/m);
      expect(report).to.match(/\d+ ok, \d+ warnings, \d+ failed, \d+ skipped/);
      // No ssh-agent socket of ours: no agent check (this agent is the one running).
      expect(report).to.not.match(/Agent is running/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
