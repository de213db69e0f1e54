// Public entry of the VNet packet engine.
//
// API (for the daemon, systemext/main.ts / daemon.ts):
//
//   import { loadAddressPlan, StaticResolver, DirectDialer, createVNet, startVNet } from './vnet';
//   const { plan, warning } = loadAddressPlan('<stateDir>/addresses.json', '100.64.0.0/10');
//   //   plan.tun4 / plan.dns4 = 100.64.0.1 / .2; plan.tun6 / plan.dns6 = <ula>::1 / ::2;
//   //   plan.ipv4Range, plan.ipv6Range (the /96 to route into the tun); plan.assign(fqdn) -> {v4, v6}.
//
//   Two-step form (the daemon's: the OS must configure the tun before the listener binds):
//   const engine = createVNet({ plan, resolver, dialer, ...options });   // options: VNetOptions
//   const tun = await openTun({ name, mtu, fastPath: engine.fastPathHook }); // worker runs createFastPath
//   ...configure addresses/routes/resolver...
//   await engine.start(tun);     // binds tun4:port and [tun6]:port, starts reading
//   ...
//   await engine.stop();         // ends flows, closes listeners and the tun
//
//   One-step form: `const vnet = await startVNet({ ...options, tun })` or `{ ...options, openTun }`
//   -> { engine, events, stop() }.
//
// Events on the engine (an EventEmitter; payloads are plain objects, see VNetEvents):
//   'connection' { fqdn, port }            a TCP flow was dialed and handed to the kernel
//   'closed'     { fqdn, port, bytesFromClient, bytesToClient }
//   'refused'    { fqdn, port, reason }    disallowed port, not an app, NAT table full (RST sent)
//   'error'      { fqdn?, port?, message } dial failures (RST sent) and internal trouble; only
//                                          emitted when a listener is attached (never throws)
// Also: engine.stats (packet counters), engine.listenerPorts, engine.sweep() (expiry, runs every
// second by default), engine.dns (the DnsResponder), engine.nat (the shared NAT table).
//
// Resolver: AppResolver { zones(); resolve(fqdn) -> AppInfo | null } (resolver.ts); the engine puts
// a 5 s CachingResolver in front. Dialer: { dial(app, port, signal) -> Promise<Duplex> } (dialer.ts).
import type { TunDevice } from '../tun/device';
import { VNetEngine, type VNetOptions } from './engine';
import type { NatInit } from './nat-table';

export { AddressPlan, DEFAULT_IPV4_RANGE, type AddressState } from './addresses';
export { loadAddressPlan } from './address-store';
export {
  CachingResolver,
  StaticResolver,
  portAllowed,
  type AppInfo,
  type AppResolver,
  type PortRange,
} from './resolver';
export { DialError, DirectDialer, type Dialer } from './dialer';
export { VNetEngine, type VNetEvents, type VNetOptions, type VNetStats } from './engine';
export type { NatInit } from './nat-table';

export interface FastPathHook {
  /** Absolute path of the module exporting createFastPath(init). */
  module: string;
  init: NatInit;
}

export type StartVNetOptions = VNetOptions &
  (
    | { tun: TunDevice; openTun?: never }
    | { openTun: (fastPath: FastPathHook) => Promise<TunDevice>; tun?: never }
  );

export interface VNet {
  engine: VNetEngine;
  events: VNetEngine;
  stop(): Promise<void>;
}

export function createVNet(opts: VNetOptions): VNetEngine {
  return new VNetEngine(opts);
}

export async function startVNet(opts: StartVNetOptions): Promise<VNet> {
  const engine = new VNetEngine(opts);
  const tun = opts.tun ?? (await opts.openTun(engine.fastPathHook));
  try {
    await engine.start(tun);
  } catch (err) {
    await engine.stop();
    throw err;
  }
  return { engine, events: engine, stop: () => engine.stop() };
}
