// Delivering notifications the policy (policy.ts) decided on. One interface; the tray balloon
// (Qt's QSystemTrayIcon::showMessage: Notification Center on macOS, Qt's own balloon on an X11
// tray) everywhere, and the desktop's notification service over D-Bus on Linux (sender.linux.ts).
import type { Notification } from './policy';

export interface NotificationSender {
  show(n: Notification): void;
  /** Takes down the notification shown with this key, if it is still up. */
  withdraw(key: string): void;
}

/** What the senders need of the tray (app/ui/tray.ts). */
export interface Balloon {
  showMessage(title: string, body: string, timeoutMs: number): void;
  clearMessage(): void;
}

/** An urgent one stays until withdrawn (a touch waits at most the key's own timeout, ~30 s). */
export const BALLOON_MS = 8000;
export const URGENT_BALLOON_MS = 60_000;

export class BalloonSender implements NotificationSender {
  private current: string | null = null;

  constructor(private readonly balloon: Balloon) {}

  show(n: Notification): void {
    this.current = n.key;
    this.balloon.showMessage(n.title, n.body, n.urgent ? URGENT_BALLOON_MS : BALLOON_MS);
  }

  withdraw(key: string): void {
    if (this.current !== key) return;
    this.current = null;
    this.balloon.clearMessage();
  }
}

/** The sender of this platform. */
export function senderForPlatform(
  balloon: Balloon,
  icon: string,
  platform = process.platform,
): NotificationSender {
  if (platform === 'linux') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { NotifySendSender } = require('./sender.linux') as typeof import('./sender.linux');
    return new NotifySendSender(new BalloonSender(balloon), icon);
  }
  // macOS: Qt maps showMessage to the user notification center.
  return new BalloonSender(balloon);
}
