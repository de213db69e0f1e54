import { expect } from 'chai';
import { parseMainArgs, UsageError } from '../../../app/main';
import { defaultConfigPath } from '../../../app/config/paths';
import { defaultAgentSocketPath, defaultControlSocketPath } from '../../../app/ssh/socket-path';
import { daemonSocketPath } from '../../../ipc/socket-path';

const DEFAULTS = {
  configPath: defaultConfigPath(),
  daemonSocket: daemonSocketPath(),
  sshAgentSocket: defaultAgentSocketPath(),
  controlSocket: defaultControlSocketPath(),
  up: true,
  virtualKey: null,
};

describe('app/main arguments', () => {
  it('defaults to the GUI with nothing extra', () => {
    expect(parseMainArgs([])).to.deep.equal({
      ...DEFAULTS,
      headless: false,
      demoPrompts: false,
      probeSeconds: null,
      version: false,
      help: false,
    });
  });

  it('parses --headless, --demo-prompts, --ui-probe=N, --version, -h', () => {
    const o = parseMainArgs(['--headless', '--demo-prompts', '--ui-probe=12.5', '--version', '-h']);
    expect(o).to.deep.equal({
      ...DEFAULTS,
      headless: true,
      demoPrompts: true,
      probeSeconds: 12.5,
      version: true,
      help: true,
    });
  });

  it('parses the agent’s paths, --no-up and the test-only virtual key', () => {
    const o = parseMainArgs([
      '--headless',
      '--config',
      '/c.toml',
      '--daemon-socket',
      '/d.sock',
      '--ssh-agent-socket',
      'none',
      '--agent-socket',
      'none',
      '--no-up',
      '--virtual-key',
      '/k.json',
      '--virtual-key-pin',
      '1234',
      '--virtual-touch',
      'auto:100',
    ]);
    expect(o).to.deep.include({
      configPath: '/c.toml',
      daemonSocket: '/d.sock',
      sshAgentSocket: null,
      controlSocket: null,
      up: false,
      virtualKey: { statePath: '/k.json', pin: '1234', touch: 'auto:100' },
    });
    expect(() => parseMainArgs(['--virtual-touch', 'deny'])).to.throw(UsageError, /go with --virtual-key/);
  });

  it('parses the test-only --virtual-key-control socket (only with --virtual-key)', () => {
    const o = parseMainArgs([
      '--virtual-key',
      '/k.json',
      '--virtual-touch',
      'manual',
      '--virtual-key-control',
      '/run/ctl.sock',
    ]);
    expect(o.virtualKey).to.deep.equal({
      statePath: '/k.json',
      pin: undefined,
      touch: 'manual',
      control: '/run/ctl.sock',
    });
    expect(() => parseMainArgs(['--virtual-key-control', '/c.sock'])).to.throw(UsageError, /--virtual-key/);
  });

  it('parses the test-only --virtual-key-unplugged (only with --virtual-key)', () => {
    const o = parseMainArgs(['--virtual-key', '/k.json', '--virtual-key-unplugged']);
    expect(o.virtualKey).to.deep.equal({
      statePath: '/k.json',
      pin: undefined,
      touch: 'auto',
      unplugged: true,
    });
    expect(() => parseMainArgs(['--virtual-key-unplugged'])).to.throw(UsageError, /--virtual-key/);
  });

  it('rejects unknown options, positionals and bad probe durations with a UsageError', () => {
    for (const argv of [['--bogus'], ['file.ts'], ['--ui-probe=0'], ['--ui-probe=soon'], ['--ui-probe=']]) {
      expect(() => parseMainArgs(argv), argv.join(' ')).to.throw(UsageError);
    }
  });
});
