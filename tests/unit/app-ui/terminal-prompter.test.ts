import { PassThrough } from 'node:stream';
import type { Purpose } from '../../../app/fido/api';
import { expect } from 'chai';
import { TerminalPrompter } from '../../../app/headless/prompts';
import { ReportingPrompter } from '../../../app/headless/reporting-prompter';

/** A fake terminal: a stream with isTTY and setRawMode, recording the raw-mode switches. */
function fakeTty(): PassThrough & { isTTY: boolean; rawModes: boolean[]; setRawMode(raw: boolean): void } {
  const s = new PassThrough() as PassThrough & {
    isTTY: boolean;
    rawModes: boolean[];
    setRawMode(raw: boolean): void;
  };
  s.isTTY = true;
  s.rawModes = [];
  s.setRawMode = (raw: boolean) => void s.rawModes.push(raw);
  return s;
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  return { stream, text: () => out };
}

const purpose: Purpose = { what: 'ssh-login', host: 'bastion', requester: 'daemon' };
const req = {
  requestId: 1,
  keyLabel: 'Test key',
  purpose,
  signal: new AbortController().signal,
  retriesLeft: 3,
};

describe('headless terminal prompter', () => {
  it('reads a PIN from a TTY in raw mode without echo, with Backspace', async () => {
    const input = fakeTty();
    const out = collect();
    const p = new TerminalPrompter({ input, output: out.stream });
    const pin = p.askPin(req);
    input.write('12x\x7f3');
    input.write('4\r');
    expect(await pin).to.equal('1234');
    expect(input.rawModes).to.deep.equal([true, false]);
    expect(out.text()).to.include('Enter the PIN of Test key');
    expect(out.text()).to.include('3 attempts left.');
    expect(out.text()).not.to.match(/[1234x]{2,}/); // nothing typed is echoed
  });

  it('Ctrl-C, Ctrl-D and Escape on a TTY cancel (null) and restore the terminal', async () => {
    for (const chunks of [['12\x0334\r'], ['12\x0434\r'], ['12', '\x1b', '34\r']]) {
      const input = fakeTty();
      const p = new TerminalPrompter({ input, output: collect().stream });
      const pin = p.askPin(req);
      for (const c of chunks) input.write(c);
      expect(await pin).to.equal(null);
      expect(input.rawModes).to.deep.equal([true, false]);
    }
  });

  it('skips arrow keys and other escape sequences instead of cancelling', async () => {
    const input = fakeTty();
    const p = new TerminalPrompter({ input, output: collect().stream });
    const pin = p.askPin(req);
    input.write('12');
    input.write('\x1b[D'); // left arrow
    input.write('\x1b[3~34'); // Delete key, then more digits
    input.write('\r');
    expect(await pin).to.equal('1234');
  });

  it('reads one line per request from a pipe, keeping the rest for the next one', async () => {
    const input = new PassThrough();
    const p = new TerminalPrompter({ input, output: collect().stream });
    input.write('first\nsecond\r\n');
    expect(await p.askPin(req)).to.equal('first');
    expect(await p.askPin(req)).to.equal('second');
    const third = p.askPin(req);
    input.end();
    expect(await third).to.equal(null);
    expect(await p.askPin(req)).to.equal(null); // input stays ended
  });

  it('serializes concurrent requests: one prompt at a time', async () => {
    const input = new PassThrough();
    const out = collect();
    const p = new TerminalPrompter({ input, output: out.stream });
    const a = p.askPin({ ...req, purpose: { ...purpose, host: 'first.example' } });
    const b = p.askPin({ ...req, purpose: { ...purpose, host: 'second.example' } });
    await new Promise((r) => setImmediate(r));
    expect(out.text()).to.include('first.example');
    expect(out.text()).not.to.include('second.example');
    input.write('aaaa\nbbbb\n');
    expect(await a).to.equal('aaaa');
    expect(await b).to.equal('bbbb');
  });

  it('announces the touch and its end once', () => {
    const out = collect();
    const p = new TerminalPrompter({ input: new PassThrough(), output: out.stream });
    const touch = { ...req, fingerprint: false };
    p.touchNeeded(touch);
    p.touchDone(touch);
    p.touchDone(touch);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(out.text()).to.include(
          'Touch your security key to connect to bastion…\n  Security key: Test key',
        );
        expect(out.text().match(/touched/g)).to.have.length(1);
        resolve();
      }),
    );
  });

  it('"insert your security key": said on the terminal, a `prompt: insert` line, `prompt: done` when it ends', () => {
    const out = collect();
    const lines: string[] = [];
    const p = new ReportingPrompter(
      new TerminalPrompter({ input: new PassThrough(), output: out.stream }),
      (l) => lines.push(l),
    );
    const ended = new AbortController();
    p.insertKey({ requestId: 9, purpose, signal: ended.signal, cancel: () => undefined, timeoutMs: 60_000 });
    expect(lines).to.deep.equal(['prompt: insert Insert your security key to connect to bastion']);
    ended.abort();
    expect(lines).to.deep.equal([
      'prompt: insert Insert your security key to connect to bastion',
      'prompt: done',
    ]);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(out.text()).to.equal(
          'Insert your security key to connect to bastion…\n' +
            '  Asked by KeyVNet for the virtual network\n  Waiting 60 s for a security key.\n',
        );
        resolve();
      }),
    );
  });

  it('an aborted request closes its PIN question at once and the next one is asked', async () => {
    const input = fakeTty();
    const out = collect();
    const p = new TerminalPrompter({ input, output: out.stream });
    const first = new AbortController();
    const a = p.askPin({ ...req, signal: first.signal, purpose: { ...purpose, host: 'first.example' } });
    const b = p.askPin({ ...req, purpose: { ...purpose, host: 'second.example' } });
    await new Promise((r) => setImmediate(r)); // the first question is on screen
    input.write('12');
    first.abort();
    expect(await a).to.equal(null);
    expect(input.rawModes).to.deep.equal([true, false]); // the terminal is restored
    await new Promise((r) => setImmediate(r));
    expect(out.text()).to.include('(the request ended)');
    expect(out.text()).to.include('second.example');
    input.write('5678\r');
    expect(await b).to.equal('5678'); // typed before the abort ("12") is not carried over
  });

  it('a request aborted while queued is never asked', async () => {
    const input = new PassThrough();
    const out = collect();
    const p = new TerminalPrompter({ input, output: out.stream });
    const gone = new AbortController();
    const a = p.askPin(req);
    const b = p.askPin({ ...req, signal: gone.signal, purpose: { ...purpose, host: 'never.example' } });
    gone.abort();
    input.write('1111\n');
    expect(await a).to.equal('1111');
    expect(await b).to.equal(null);
    expect(out.text()).not.to.include('never.example');
  });

  it('confirm: only an explicit yes allows', async () => {
    const input = new PassThrough();
    const p = new TerminalPrompter({ input, output: collect().stream });
    const c = { requestId: 3, keyComment: 'k', keyFingerprint: 'SHA256:x', purpose, signal: req.signal };
    input.write('y\nno\n\n');
    expect(await p.confirm(c)).to.equal(true);
    expect(await p.confirm(c)).to.equal(false);
    expect(await p.confirm(c)).to.equal(false);
  });
});
