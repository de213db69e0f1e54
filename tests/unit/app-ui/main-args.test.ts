import { expect } from 'chai';
import { parseMainArgs, UsageError } from '../../../app/main';

describe('app/main arguments', () => {
  it('defaults to the GUI with nothing extra', () => {
    expect(parseMainArgs([])).to.deep.equal({
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
      headless: true,
      demoPrompts: true,
      probeSeconds: 12.5,
      version: true,
      help: true,
    });
  });

  it('rejects unknown options, positionals and bad probe durations with a UsageError', () => {
    for (const argv of [['--bogus'], ['file.ts'], ['--ui-probe=0'], ['--ui-probe=soon'], ['--ui-probe=']]) {
      expect(() => parseMainArgs(argv), argv.join(' ')).to.throw(UsageError);
    }
  });
});
