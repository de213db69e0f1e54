import { expect } from 'chai';
import type { Notification } from '../../../app/notify/policy';
import { BalloonSender, type NotificationSender } from '../../../app/notify/sender';
import { closeNotificationArgs, notifySendArgs, NotifySendSender } from '../../../app/notify/sender.linux';

const n: Notification = {
  kind: 'refused',
  key: 'refused:x:22',
  title: '-x <b>title</b>',
  body: 'a <b>bold</b> & "name"',
  urgent: false,
};

function recorder(): NotificationSender & { log: string[] } {
  const log: string[] = [];
  return { log, show: (x) => log.push(`show ${x.key}`), withdraw: (k) => log.push(`withdraw ${k}`) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('notification senders', () => {
  it('notify-send: the body is text (markup escaped), the title cannot pass as an option', () => {
    expect(notifySendArgs(n, '/i.png')).to.deep.equal([
      '--app-name=KeyVNet',
      '--icon=/i.png',
      '--urgency=normal',
      '--expire-time=8000',
      '--print-id',
      '--',
      '-x <b>title</b>',
      'a &lt;b&gt;bold&lt;/b&gt; &amp; "name"',
    ]);
    expect(notifySendArgs({ ...n, urgent: true }, '/i.png').slice(2, 4)).to.deep.equal([
      '--urgency=critical',
      '--expire-time=0',
    ]);
    expect(closeNotificationArgs(7).at(-1)).to.equal('7');
  });

  it('withdraw closes by the id the server gave, even when it arrives later', async () => {
    const calls: string[][] = [];
    let answer: (id: string) => void = () => undefined;
    const exec = (cmd: string, args: string[]) => {
      calls.push([cmd, ...args]);
      return cmd === 'notify-send' ? new Promise<string>((r) => (answer = r)) : Promise.resolve('');
    };
    const s = new NotifySendSender(recorder(), '/i.png', exec);
    s.show(n);
    s.withdraw(n.key); // before notify-send printed the id
    answer('42\n');
    await tick();
    expect(calls.map((c) => c[0])).to.deep.equal(['notify-send', 'gdbus']);
    expect(calls[1].at(-1)).to.equal('42');
  });

  it('no notification service: the balloon takes over for good', async () => {
    const fallback = recorder();
    let runs = 0;
    const s = new NotifySendSender(fallback, '/i.png', () => {
      runs++;
      return Promise.reject(new Error('spawn notify-send ENOENT'));
    });
    const errors: unknown[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => errors.push(a);
    try {
      s.show(n);
      await tick();
      s.show({ ...n, key: 'k2' });
      s.withdraw('k2');
    } finally {
      console.error = orig;
    }
    expect(runs).to.equal(1);
    expect(fallback.log).to.deep.equal(['show refused:x:22', 'show k2', 'withdraw k2']);
    expect(errors).to.have.length(1);
  });

  it('the balloon withdraws only its current message', () => {
    const log: string[] = [];
    const b = new BalloonSender({
      showMessage: (t, _b, ms) => log.push(`${t} ${ms}`),
      clearMessage: () => log.push('clear'),
    });
    b.show({ ...n, title: 'touch', key: 't', urgent: true });
    b.show({ ...n, title: 'other', key: 'o' });
    b.withdraw('t');
    b.withdraw('o');
    expect(log).to.deep.equal(['touch 60000', 'other 8000', 'clear']);
  });
});
