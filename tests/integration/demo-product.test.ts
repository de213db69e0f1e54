// Runs the product demo (scripts/demo-product.ts --once, what scripts/demo.sh runs after set-up) as a
// person would and checks what it shows: a page fetched by name through the bastion after one touch,
// the second request without a touch, and nothing left behind. Root + netns; must run under CI=true.
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { requireNetns } from '../helpers/privileges';

const ROOT = join(__dirname, '..', '..');

describe('product demo: scripts/demo-product.ts --once (root, netns)', function () {
  this.timeout(240_000); // hang guard only
  let child: ChildProcess | undefined;
  let output = '';
  let code: number | null = null;
  let pid = 0;

  before(async function () {
    requireNetns(this, 'product demo test');
    // No display: the headless agent (app-gui-vnet.test.ts runs the demo with the menu-bar app).
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo-product.ts', '--once'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '' },
    });
    pid = child.pid ?? 0;
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    code = await new Promise<number | null>((resolve) => child!.once('exit', (c) => resolve(c)));
  });

  after(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });

  it('exits 0 after all expected outcomes', () => {
    expect(code, output).to.equal(0);
    expect(output).to.include('your agent (headless: no DISPLAY or WAYLAND_DISPLAY)');
    expect(output).to.include('demo: all expected outcomes happened');
  });

  it('fetches the intranet page by name through the bastion, after the touch prompt', () => {
    const curl = output.split('== curl http://hello.corp.test/')[1] ?? '';
    expect(curl).to.include('[agent] prompt: touch Touch your security key to connect to corp (10.201.1.1)');
    expect(curl).to.include('<h1>Hello from the intranet (KeyVNet test page)</h1>');
    expect(curl.indexOf('prompt: touch')).to.be.lessThan(curl.indexOf('<h1>Hello'));
  });

  it('the second request reuses the session: no second touch', () => {
    const again = (output.split('== curl again')[1] ?? '').split('== demo:')[0];
    expect(again).to.include('<h1>Hello from the intranet');
    expect(again).to.not.include('prompt: touch');
  });

  it('leaves no namespace or process of its own behind', () => {
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(namespaces).to.not.match(new RegExp(`kvn-\\w+-${pid}-`));
  });
});
