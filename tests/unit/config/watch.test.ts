import { expect } from 'chai';
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, watchConfig, type UserConfig } from '../../../app/config';
import { tempHome, type TempHome } from './fixture';

type Event =
  | { kind: 'change'; config: UserConfig }
  | { kind: 'error'; err: Error }
  | { kind: 'settled'; outcome: string };

/** Collects watcher callbacks; `next()` awaits the next one (no sleeping: each step waits for its event). */
class Events {
  private readonly queue: Event[] = [];
  private waiter: ((e: Event) => void) | null = null;
  push = (e: Event): void => {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(e);
    } else this.queue.push(e);
  };
  next(): Promise<Event> {
    const e = this.queue.shift();
    return e ? Promise.resolve(e) : new Promise((resolve) => (this.waiter = resolve));
  }
  /** The callbacks of one reload: onChange/onError (if any), then onSettled. */
  async reload(): Promise<Event[]> {
    const out: Event[] = [];
    for (;;) {
      const e = await this.next();
      out.push(e);
      if (e.kind === 'settled') return out;
    }
  }
}

const app = (name: string) => `[[app]]\nname = "${name}.a.test"\ntarget = "127.0.0.1:80"\n`;
const ZONE = '[[zone]]\nsuffix = "a.test"\nvia = "direct"\n';

describe('config: watchConfig', () => {
  let t: TempHome;
  let path: string;
  let events: Events;
  let close: (() => void) | undefined;
  beforeEach(() => {
    t = tempHome();
    path = t.write(`${ZONE}${app('one')}`);
    events = new Events();
  });
  afterEach(() => {
    close?.();
    close = undefined;
    t.remove();
  });

  const start = (current?: UserConfig) => {
    close = watchConfig(
      path,
      (config) => events.push({ kind: 'change', config }),
      (err) => events.push({ kind: 'error', err }),
      {
        home: t.home,
        debounceMs: 20,
        current,
        onSettled: (outcome) => events.push({ kind: 'settled', outcome }),
      },
    );
  };
  /** Saves like an editor: a new file renamed over the old one. */
  const save = (text: string) => {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  };
  const names = (e: Event) => (e.kind === 'change' ? e.config.apps.map((a) => a.name) : e.kind);

  it('without a current config, delivers the first load through onChange', async () => {
    start();
    const [first, settled] = await events.reload();
    expect(names(first)).to.deep.equal(['one.a.test']);
    expect(settled).to.deep.equal({ kind: 'settled', outcome: 'changed' });
  });

  it('reloads on a save by rename, and only calls onChange when the config differs', async () => {
    start(loadConfig(path, { home: t.home }));
    expect(await events.reload()).to.deep.equal([{ kind: 'settled', outcome: 'unchanged' }]);

    save(`${ZONE}${app('one')}${app('two')}`);
    const [changed, settled] = await events.reload();
    expect(names(changed)).to.deep.equal(['one.a.test', 'two.a.test']);
    expect(settled).to.deep.include({ outcome: 'changed' });

    // Same meaning, different text (a comment, other spacing): nothing to push.
    save(`# edited\n${ZONE}\n${app('ONE')}${app('two')}`);
    expect(await events.reload()).to.deep.equal([{ kind: 'settled', outcome: 'unchanged' }]);

    // An in-place write (no rename) is seen too.
    writeFileSync(path, `${ZONE}${app('three')}`);
    const [third] = await events.reload();
    expect(names(third)).to.deep.equal(['three.a.test']);
  });

  it('an invalid file calls onError with line and field, and the old config stays until a valid one', async () => {
    const current = loadConfig(path, { home: t.home });
    start(current);
    await events.reload();

    save(`${ZONE}${app('one')}ports = ["90-80"]\n`);
    const [error, settled] = await events.reload();
    expect(settled).to.deep.include({ outcome: 'error' });
    expect(error.kind).to.equal('error');
    const err = (error as { err: Error }).err as ConfigError;
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.problems.map((p) => [p.line, p.field])).to.deep.equal([[7, 'app[0].ports[0]']]);

    // Back to what runs: still no change to push.
    save(`${ZONE}${app('one')}`);
    expect(await events.reload()).to.deep.equal([{ kind: 'settled', outcome: 'unchanged' }]);

    // A deleted file is an error too, not an empty config.
    unlinkSync(path);
    const deleted = await events.reload();
    expect(deleted.map((e) => e.kind)).to.deep.equal(['error', 'settled']);
    save(`${ZONE}${app('four')}`);
    expect(names((await events.reload())[0])).to.deep.equal(['four.a.test']);
  });

  it('ignores other files in the directory and stops when closed', async () => {
    start(loadConfig(path, { home: t.home }));
    await events.reload();
    writeFileSync(join(t.home, 'other.toml'), 'x = 1');
    close?.();
    close = undefined;
    // A second watcher on the same directory sees the next save; the closed one must stay silent.
    const second = new Events();
    const stop = watchConfig(
      path,
      (c) => second.push({ kind: 'change', config: c }),
      () => undefined,
      {
        home: t.home,
        debounceMs: 20,
        current: loadConfig(path, { home: t.home }),
        onSettled: (outcome) => second.push({ kind: 'settled', outcome }),
      },
    );
    try {
      await second.reload();
      save(`${ZONE}${app('five')}`);
      expect(names((await second.reload())[0])).to.deep.equal(['five.a.test']);
      await new Promise((resolve) => setImmediate(resolve));
      const late: Event[] = [];
      const probe = events.next().then((e) => late.push(e));
      await new Promise((resolve) => setImmediate(resolve));
      expect(late).to.deep.equal([]);
      void probe;
    } finally {
      stop();
    }
  });
});
