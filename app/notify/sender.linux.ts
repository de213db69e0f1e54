// Linux: the desktop's notification service (org.freedesktop.Notifications over the session D-Bus)
// through `notify-send` from libnotify-bin, and `gdbus` to take one down again. Where there is no
// service (no session bus, no notify-send), the tray balloon takes over for the rest of the run.
import { execFile } from 'node:child_process';
import type { Notification } from './policy';
import type { NotificationSender } from './sender';

/** Every call has a deadline: a hung bus must not pile up processes. */
const CALL_MS = 5000;

/** Bodies may carry markup on most servers (the spec's body-markup): names and reasons are text. */
export function escapeBodyMarkup(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function notifySendArgs(n: Notification, icon: string): string[] {
  return [
    '--app-name=KeyVNet',
    `--icon=${icon}`,
    `--urgency=${n.urgent ? 'critical' : 'normal'}`,
    `--expire-time=${n.urgent ? 0 : 8000}`,
    '--print-id',
    '--', // a title starting with "-" is not an option
    n.title,
    escapeBodyMarkup(n.body),
  ];
}

export function closeNotificationArgs(id: number): string[] {
  return [
    'call',
    '--session',
    '--dest=org.freedesktop.Notifications',
    '--object-path=/org/freedesktop/Notifications',
    '--method=org.freedesktop.Notifications.CloseNotification',
    String(id),
  ];
}

type Run = (cmd: string, args: string[]) => Promise<string>;

const run: Run = (cmd, args) =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: CALL_MS }, (err, stdout) => (err ? reject(err) : resolve(String(stdout))));
  });

export class NotifySendSender implements NotificationSender {
  private broken = false;
  /** key → the server's id, or 'pending' while notify-send runs, or 'withdrawn' before it answered. */
  private readonly ids = new Map<string, number | 'pending' | 'withdrawn'>();

  constructor(
    private readonly fallback: NotificationSender,
    private readonly icon: string,
    private readonly exec: Run = run,
  ) {}

  show(n: Notification): void {
    if (this.broken) return this.fallback.show(n);
    this.ids.set(n.key, 'pending');
    this.exec('notify-send', notifySendArgs(n, this.icon)).then(
      (out) => {
        const id = Number(out.trim());
        const was = this.ids.get(n.key);
        if (!Number.isInteger(id) || id <= 0) {
          this.ids.delete(n.key);
          return;
        }
        if (was === 'withdrawn') {
          this.ids.delete(n.key);
          this.close(id);
        } else this.ids.set(n.key, id);
        if (this.ids.size > 100) this.ids.delete(this.ids.keys().next().value as string);
      },
      () => {
        // No service or no notify-send: say it once, then use the balloon.
        this.ids.delete(n.key);
        if (!this.broken) console.error('keyvnet: no desktop notification service; using the tray balloon');
        this.broken = true;
        this.fallback.show(n);
      },
    );
  }

  withdraw(key: string): void {
    if (this.broken) return this.fallback.withdraw(key);
    const id = this.ids.get(key);
    if (id === 'pending') this.ids.set(key, 'withdrawn');
    else if (typeof id === 'number') {
      this.ids.delete(key);
      this.close(id);
    }
  }

  private close(id: number): void {
    this.exec('gdbus', closeNotificationArgs(id)).catch(() => undefined); // gone already, or no gdbus
  }
}
