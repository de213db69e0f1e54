// Tells the UI when security keys are plugged in or pulled out. node-hid has no hot-plug
// notifications, so this polls the device list (about once a second is cheap).

import { EventEmitter } from 'node:events';
import type { HidDeviceInfo } from './report-device';

export type DeviceLister = () => Promise<HidDeviceInfo[]>;

/**
 * Events: 'inserted' (info: HidDeviceInfo), 'removed' (info: HidDeviceInfo),
 * 'error' (err: Error) when listing fails (polling continues).
 * Keys present when polling starts are reported as 'inserted' on the first poll.
 */
export class SecurityKeyWatcher extends EventEmitter {
  private known = new Map<string, HidDeviceInfo>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly list: DeviceLister,
    private readonly intervalMs = 1000,
  ) {
    super();
  }

  /** Currently known keys (as of the last poll). */
  get devices(): HidDeviceInfo[] {
    return [...this.known.values()];
  }

  start(): this {
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.intervalMs);
      this.timer.unref();
      void this.poll();
    }
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One poll; exposed so tests and the UI can refresh on demand. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const now = await this.list();
      const seen = new Set<string>();
      for (const info of now) {
        seen.add(info.path);
        if (!this.known.has(info.path)) {
          this.known.set(info.path, info);
          this.emit('inserted', info);
        }
      }
      for (const [path, info] of this.known) {
        if (!seen.has(path)) {
          this.known.delete(path);
          this.emit('removed', info);
        }
      }
    } catch (err) {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    } finally {
      this.polling = false;
    }
  }
}
