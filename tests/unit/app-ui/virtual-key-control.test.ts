import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlCommand, virtualKey } from '../../../app/headless/virtual-key';
import { waitingText } from '../../../app/ui/prompts';
import { probeToStatusLines } from '../../../scripts/demo-gui';

function ask(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => s.write(`${line}\n`));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\n')) {
        s.end();
        resolve(got.trim());
      }
    });
    s.on('error', reject);
  });
}

describe('virtual key control (--virtual-key-control, tests only)', () => {
  it('touch and deny answer ok only while the key waits; unplug, plug; unknown lines are errors', () => {
    const calls: string[] = [];
    let waiting = true;
    const va = {
      touch: () => (calls.push('touch'), waiting),
      deny: () => (calls.push('deny'), waiting),
      unplug: () => void calls.push('unplug'),
      plug: () => void calls.push('plug'),
    };
    expect(controlCommand(va, 'touch')).to.equal('ok');
    expect(controlCommand(va, ' deny ')).to.equal('ok');
    waiting = false;
    expect(controlCommand(va, 'touch')).to.equal('not-waiting');
    expect(controlCommand(va, 'unplug')).to.equal('ok');
    expect(controlCommand(va, 'plug')).to.equal('ok');
    expect(controlCommand(va, 'reboot')).to.match(/^error unknown command "reboot"/);
    expect(calls).to.deep.equal(['touch', 'deny', 'touch', 'unplug', 'plug']);
  });

  it('serves the lines on a unix socket: a touch with nothing waiting is "not-waiting"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvn-vk-'));
    try {
      const control = join(dir, 'ctl.sock');
      const prompter = { askPin: async () => null, touchNeeded: () => undefined, touchDone: () => undefined };
      const { authenticator } = virtualKey(join(dir, 'key.json'), prompter, {
        touch: { mode: 'manual' },
        control,
      });
      let answer = '';
      for (let i = 0; i < 100 && answer === ''; i++) {
        answer = await ask(control, 'touch').catch(() => '');
        if (answer === '') await new Promise((r) => setTimeout(r, 20)); // until it listens
      }
      expect(answer).to.equal('not-waiting');
      expect(await ask(control, 'dance')).to.match(/^error/);
      authenticator.unplug();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('prompt windows: "N more waiting"', () => {
  it('says nothing for none, the count otherwise', () => {
    expect(waitingText(0)).to.equal('');
    expect(waitingText(1)).to.equal('1 more waiting');
    expect(waitingText(3)).to.equal('3 more waiting');
  });
});

describe("demo: the menu-bar app's probe lines as status lines", () => {
  const probe = (e: Record<string, unknown>): string => `KEYVNET-UI ${JSON.stringify(e)}`;

  it('tells the tray, status changes, a touch prompt and its end, a PIN dialog, notifications', () => {
    const map = probeToStatusLines();
    const menu = (text: string, icon: string) =>
      probe({ event: 'menu', icon, items: [{ id: 'status', text }], navigable: [] });
    const out = [
      'some other stdout line',
      probe({ event: 'tray-visible' }),
      menu('VNet on · 2 apps', 'on'),
      menu('VNet on · 2 apps', 'on'), // unchanged: nothing
      probe({ event: 'prompt-windows', touch: true, touchTitle: 'Touch your security key', dialog: null }),
      probe({ event: 'prompt-windows', touch: true, touchTitle: 'Touch your security key', dialog: null }),
      probe({ event: 'notification', kind: 'touch', title: 'Touch your security key' }),
      probe({ event: 'prompt-windows', touch: false, dialog: null }),
      probe({ event: 'prompt-windows', touch: false, dialog: { kind: 'pin', title: 'Enter the PIN of K' } }),
      probe({
        event: 'prompt-windows',
        touch: true,
        insert: true,
        touchTitle: 'Insert your security key',
        dialog: null,
      }),
      probe({ event: 'prompt-windows', touch: true, touchTitle: 'Touch your security key', dialog: null }),
      probe({ event: 'prompt-windows', touch: false, dialog: null }),
      'KEYVNET-UI {broken',
    ].flatMap(map);
    expect(out).to.deep.equal([
      'tray: icon shown',
      'status: VNet on · 2 apps (icon on)',
      'prompt: touch Touch your security key',
      'notification: Touch your security key',
      'prompt: done',
      'prompt: pin Enter the PIN of K',
      'prompt: insert Insert your security key',
      'prompt: done',
      'prompt: touch Touch your security key',
      'prompt: done',
    ]);
  });
});
