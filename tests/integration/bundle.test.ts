// The webpack bundle (what a packaged app ships): both entry points run as programs, and the tun
// reader thread and the fast path it loads are separate files next to the daemon's bundle.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');

describe('webpack bundle', function () {
  this.timeout(180_000);
  let tmp: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvn-bundle-'));
    await run(process.execPath, [join(ROOT, 'node_modules', 'webpack-cli', 'bin', 'cli.js')], { cwd: ROOT });
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('the agent bundle runs headless and knows its version', async () => {
    const { stdout } = await run(process.execPath, [join(DIST, 'app', 'main.js'), '--headless', '--version']);
    expect(stdout.trim()).to.match(/^keyvnet \d+\.\d+\.\d+$/);
  });

  it('the daemon bundle runs as a program: a bad config is refused with the field named', async () => {
    const cfg = join(tmp, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ zones: ['corp.test'], apps: [], mtu: 70000 }));
    const err = await run(process.execPath, [join(DIST, 'systemext', 'main.js'), '--config', cfg]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err, 'the daemon must refuse the config').to.not.equal(null);
    expect(err!.code).to.equal(1);
    expect(err!.stderr).to.match(/mtu/);
  });

  it('ships the reader thread and a loadable fast path next to the daemon bundle', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the built file itself
    const fastPath = require(join(DIST, 'systemext', 'fast-path.js')) as { createFastPath?: unknown };
    expect(fastPath.createFastPath).to.be.a('function');
    expect(() => require.resolve(join(DIST, 'systemext', 'worker.js'))).to.not.throw();
  });
});
