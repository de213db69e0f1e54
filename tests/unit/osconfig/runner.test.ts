// The runner executes steps for real, but these steps need no root: sh, and files in a temp dir.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSteps } from '../../../systemext/osconfig/runner';
import {
  readState,
  removeState,
  statePath,
  writeState,
  type OsState,
} from '../../../systemext/osconfig/state';
import type { Step } from '../../../systemext/osconfig/types';

describe('osconfig/runner and state file', () => {
  let dir: string;
  const logs: string[] = [];
  const log = (level: string, msg: string) => logs.push(`${level} ${msg}`);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-osconfig-'));
    logs.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a failed command with its command line and stderr, and stops when asked', async () => {
    const steps: Step[] = [
      { kind: 'run', argv: ['sh', '-c', 'echo "no such device" >&2; exit 3'], why: 'fails' },
      { kind: 'write', path: join(dir, 'after'), content: 'x', why: 'never reached' },
    ];
    const failures = await runSteps(steps, { log, stopOnError: true });
    expect(failures).to.have.length(1);
    expect(failures[0].message).to.contain('sh -c').and.contain('no such device');
    expect(existsSync(join(dir, 'after'))).to.equal(false);
    expect(logs.some((l) => l.startsWith('error') && l.includes('no such device'))).to.equal(true);
  });

  it('runs everything in clean-up mode; mayFail steps are logged, not failures', async () => {
    const steps: Step[] = [
      { kind: 'run', argv: ['sh', '-c', 'exit 1'], why: 'gone already', mayFail: true },
      { kind: 'run', argv: ['sh', '-c', 'exit 2'], why: 'real failure' },
      { kind: 'write', path: join(dir, 'after'), content: 'x', why: 'still done' },
    ];
    const failures = await runSteps(steps, { log, stopOnError: false });
    expect(failures.map((f) => f.step.why)).to.deep.equal(['real failure']);
    expect(readFileSync(join(dir, 'after'), 'utf8')).to.equal('x');
  });

  it('writes in place (same inode, as a bind-mounted resolv.conf needs) and removes files', async () => {
    const f = join(dir, 'resolv.conf');
    writeFileSync(f, 'nameserver 10.0.0.1\nmuch longer original content\n');
    const ino = statSync(f).ino;
    await runSteps([{ kind: 'write', path: f, content: 'short\n', why: 'rewrite' }], {
      log,
      stopOnError: true,
    });
    expect(statSync(f).ino).to.equal(ino);
    expect(readFileSync(f, 'utf8')).to.equal('short\n');
    await runSteps([{ kind: 'remove', path: f, why: 'remove' }], { log, stopOnError: true });
    expect(existsSync(f)).to.equal(false);
  });

  it('round-trips the state file; a damaged one is reported and ignored', () => {
    const p = statePath(join(dir, 'state'));
    const s: OsState = {
      version: 1,
      platform: 'linux',
      pid: 42,
      tunName: 'kvn0',
      addresses: ['100.64.0.1/10'],
      routes: ['100.64.0.0/10'],
      resolver: 'netns-resolv-conf',
      resolverPath: '/etc/resolv.conf',
    };
    expect(readState(p, (m) => log('warn', m))).to.equal(null);
    writeState(p, s);
    expect(readState(p, (m) => log('warn', m))).to.deep.equal(s);
    writeFileSync(p, '{"version": 1, "tunName"');
    const bad: string[] = [];
    expect(readState(p, (m) => bad.push(m))).to.equal(null);
    expect(bad[0]).to.match(/damaged state file/);
    removeState(p);
    expect(existsSync(p)).to.equal(false);
  });
});
