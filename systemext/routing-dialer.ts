// Picks how to reach an app from its `via`: 'direct' (plain TCP from the daemon) or a bastion's name
// (the SSH dialer, when the daemon has one).
import type { Duplex } from 'node:stream';
import { DialError, type Dialer, type RelayTarget } from './vnet/dialer';
import type { AppInfo } from './vnet/resolver';

export class RoutingDialer implements Dialer {
  constructor(
    private readonly direct: Dialer,
    private readonly bastion: Dialer | null,
  ) {}

  /** Direct apps are a plain connect: the engine's relay worker may dial them (SSH ones stay here). */
  relayTarget(app: AppInfo, port: number): RelayTarget | null {
    return app.via === 'direct' ? (this.direct.relayTarget?.(app, port) ?? null) : null;
  }

  dial(app: AppInfo, port: number, signal: AbortSignal): Promise<Duplex> {
    if (app.via === 'direct') return this.direct.dial(app, port, signal);
    if (!this.bastion)
      return Promise.reject(
        new DialError(
          `${app.fqdn} is reached through bastion "${app.via}", and this daemon has no SSH transport`,
          'NO_BASTION',
        ),
      );
    return this.bastion.dial(app, port, signal);
  }
}
