// A REAL tun inside a throwaway network namespace: the fixture opens it through native-bindings and
// the worker-backed TunDevice; ping/ping6 (answered by the fast path in the reader thread) and UDP
// (answered by the main thread through read()/write(), or by the fast path) must get replies, and
// close() must release the fd, stop the reader thread and remove the interface.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { NetNs } from '../helpers/netns';
import { requireNetns } from '../helpers/privileges';

const FIXTURES = join(__dirname, 'fixtures', 'tun');

/** The next JSON line the fixture prints, or a rejection after `timeoutMs` (a hang guard only). */
function nextJsonLine(child: ChildProcess, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d)));
    const done = (err: Error | null, value?: Record<string, unknown>) => {
      clearTimeout(timer);
      lines.close();
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => done(new Error(`fixture printed nothing in ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs,
    );
    const onExit = (code: number | null) => done(new Error(`fixture exited with ${code}; stderr: ${stderr}`));
    child.on('exit', onExit);
    lines.on('line', (line) => {
      try {
        done(null, JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not ours (e.g. a warning) */
      }
    });
  });
}

describe('tun: a real tun device in a network namespace', function () {
  let ns: NetNs | undefined;
  let fixture: ChildProcess;
  let ifname: string;

  before(async function () {
    requireNetns(this, 'tun netns integration');
    ns = await NetNs.create('tun');
    fixture = ns.spawnNode(join(FIXTURES, 'echo-tun.ts'), ['kvnt%d', '10.123.0.1/24', 'fd00:123::1/64']);
    const ready = await nextJsonLine(fixture, 30_000);
    ifname = String(ready.ready);
    expect(ready.tunFds).to.equal(1);
    expect(ready.readerTid, 'a reader thread blocked in read() on the tun fd').to.be.a('string');
  });

  after(async () => {
    await ns?.delete();
  });

  it('created the interface from the kvnt%d template with the requested MTU', async () => {
    expect(ifname).to.match(/^kvnt\d+$/);
    const { stdout } = await ns!.run('ip', ['-o', 'link', 'show', ifname]);
    expect(stdout).to.match(/mtu 1400/);
    expect(stdout).to.match(/POINTOPOINT/);
  });

  it('answers IPv4 ping through the fast path in the reader thread', async () => {
    const { stdout } = await ns!.run('ping', ['-c', '3', '-W', '2', '10.123.0.2']);
    expect(stdout).to.match(/3 packets transmitted, 3 received/);
  });

  it('answers IPv6 ping through the fast path', async () => {
    const { stdout } = await ns!.run('ping', ['-6', '-c', '3', '-W', '2', 'fd00:123::2']);
    expect(stdout).to.match(/3 packets transmitted, 3 received/);
  });

  it('answers large pings up to the MTU', async () => {
    const { stdout } = await ns!.run('ping', [
      '-c',
      '2',
      '-W',
      '2',
      '-s',
      String(1400 - 28),
      '-M',
      'do',
      '10.123.0.2',
    ]);
    expect(stdout).to.match(/2 packets transmitted, 2 received/);
  });

  for (const [what, host, port] of [
    ['UDP/IPv4 via read()/write() on the main thread', '10.123.0.2', '7'],
    ['UDP/IPv6 via read()/write() on the main thread', 'fd00:123::2', '7'],
    ['UDP/IPv4 via the fast path', '10.123.0.2', '9'],
  ]) {
    it(`echoes ${what}`, async () => {
      const { stdout } = await ns!.run(process.execPath, [
        '--import',
        'tsx',
        join(FIXTURES, 'udp-ping.ts'),
        host,
        port,
        '50',
        '200',
      ]);
      expect(JSON.parse(stdout)).to.deep.equal({ sent: 50, received: 50 });
    });
  }

  it('close() wakes the reader, ends the thread, closes the fd and removes the interface', async () => {
    const closed = nextJsonLine(fixture, 30_000);
    fixture.stdin!.write('close\n');
    const result = await closed;
    expect(result).to.include({ closed: true, tunFds: 0, linkGone: true, readerAlive: false });
    const stats = result.stats as Record<string, number>;
    expect(stats.fastPathReplies).to.be.greaterThanOrEqual(3 + 3 + 2 + 50);
    expect(stats.passed).to.be.greaterThanOrEqual(100);
    const code = await new Promise((resolve) =>
      fixture.exitCode !== null ? resolve(fixture.exitCode) : fixture.once('exit', resolve),
    );
    expect(code).to.equal(0);
  });
});

describe('tun: opening devices through native-bindings (root, netns)', function () {
  let ns: NetNs | undefined;

  before(async function () {
    requireNetns(this, 'tun open errors');
    ns = await NetNs.create('tunopen');
  });

  after(async () => {
    await ns?.delete();
  });

  const fixture = join(FIXTURES, 'open-tun.ts');

  it('gives the requested name, numbers templates, and names the call and errno when busy', async () => {
    const { stdout } = await ns!.run(process.execPath, [
      '--import',
      'tsx',
      fixture,
      'kvnx0',
      'kvny%d',
      'kvny%d',
      'kvnx0',
    ]);
    expect(JSON.parse(stdout)).to.deep.equal([
      { name: 'kvnx0' },
      { name: 'kvny0' },
      { name: 'kvny1' },
      { error: 'TUNSETIFF kvnx0: Device or resource busy (EBUSY)', code: 'EBUSY' },
    ]);
    const { stdout: links } = await ns!.run('ip', ['-o', 'link']);
    expect(links).to.not.match(/kvn[xy]/); // closing the fds removed them
  });

  it('without CAP_NET_ADMIN: "TUNSETIFF kvn%d: Operation not permitted (EPERM)"', async () => {
    // Still root (so /dev/net/tun opens), but CAP_NET_ADMIN is gone from the bounding set.
    const { stdout } = await ns!.run('setpriv', [
      '--bounding-set=-net_admin',
      '--inh-caps=-net_admin',
      process.execPath,
      '--import',
      'tsx',
      fixture,
      'kvn%d',
    ]);
    expect(JSON.parse(stdout)).to.deep.equal([
      { error: 'TUNSETIFF kvn%d: Operation not permitted (EPERM)', code: 'EPERM' },
    ]);
  });

  it('refuses a name that does not fit IFNAMSIZ before calling the kernel', async () => {
    const { stdout } = await ns!.run(process.execPath, ['--import', 'tsx', fixture, 'kvn-much-too-long0']);
    expect(JSON.parse(stdout)[0].error).to.match(/invalid interface name "kvn-much-too-long0": at most 15/);
  });
});
