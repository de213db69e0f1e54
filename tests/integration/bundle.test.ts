// The webpack bundle (what a packaged app ships): both entry points run as programs, and the tun
// reader thread and the fast path it loads are separate files next to the daemon's bundle.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Lines } from '../helpers/lines';

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

  it('the daemon bundle runs as a program: a bad flag is refused with a usage line', async () => {
    const err = await run(process.execPath, [
      join(DIST, 'systemext', 'main.js'),
      '--allow-uid',
      'alice',
    ]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err, 'the daemon must refuse the flag').to.not.equal(null);
    expect(err!.code).to.equal(2);
    expect(err!.stderr).to.match(/--allow-uid wants a numeric uid/);
  });

  it('the agent bundle connects to the daemon bundle over the socket (VNet left off)', async () => {
    const cfg = join(tmp, 'config.toml');
    writeFileSync(cfg, '[[zone]]\nsuffix = "corp.test"\nvia = "direct"\n');
    const uid = String(process.getuid?.() ?? 0);
    const daemon = spawn(process.execPath, [
      join(DIST, 'systemext', 'main.js'),
      ...['--allow-uid', uid, '--socket-dir', join(tmp, 'run'), '--state-dir', join(tmp, 'state')],
    ]);
    const agent = { child: null as ChildProcess | null };
    try {
      await new Lines(daemon).next(/^READY /);
      agent.child = spawn(process.execPath, [
        join(DIST, 'app', 'main.js'),
        ...['--headless', '--no-up', '--config', cfg, '--ssh-agent-socket', 'none'],
        ...['--daemon-socket', join(tmp, 'run', 'daemon.sock')],
      ]);
      const lines = new Lines(agent.child);
      await lines.next(/^daemon: connected$/);
      await lines.next(/^vnet: down$/);
    } finally {
      agent.child?.kill('SIGKILL');
      daemon.kill('SIGKILL');
    }
  });

  it('ships the reader thread, the relay worker and a loadable fast path next to the daemon bundle', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the built file itself
    const fastPath = require(join(DIST, 'systemext', 'fast-path.js')) as { createFastPath?: unknown };
    expect(fastPath.createFastPath).to.be.a('function');
    expect(() => require.resolve(join(DIST, 'systemext', 'worker.js'))).to.not.throw();
    expect(() => require.resolve(join(DIST, 'systemext', 'relay-worker.js'))).to.not.throw();
  });
});
