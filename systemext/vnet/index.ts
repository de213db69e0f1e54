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
//   'refused'    { fqdn, port, reason, code }  RST sent; code: not-an-app | port-not-allowed |
//                                          nat-full | dial-limit | app-dial-limit
//   'error'      { fqdn?, port?, message, code }  code: resolve-failed | resolve-timeout |
//                                          dial-failed | dial-timeout | handshake-timeout | flow-error
//                                          (RST sent) or tun-read | tun-closed | tun-write | listener |
//                                          dns | internal; only emitted when a listener is attached
//   'dns-miss'   { fqdn }                  an A/AAAA query for a name in a zone that is no app (for the
//                                          UI's "no such app"); once per name per minute
// Also: engine.appsChanged() (the user's apps changed: forget cached lookups; open flows keep
// running), engine.stats (packet counters), engine.load (flows, dials, DNS queries in flight),
// engine.listenerPorts, engine.sweep() (deadlines and expiry, runs every second by default),
// engine.dns (the DnsResponder), engine.nat (the shared NAT table), engine.openConnections() (open
// connections with their byte counts so far).
// Apps whose dialer offers a relayTarget() (DirectDialer; RoutingDialer for 'direct' apps) are
// dialed and relayed by the relay worker (relay.ts) unless `relay: false`; others on the main thread.
//
// Resolver: AppResolver { zones(); resolve(fqdn) -> AppInfo | null } (resolver.ts); the engine puts
// a 5 s CachingResolver in front, with a deadline per lookup (resolveTimeoutMs, 10 s). Dialer: { dial(app, port, signal) -> Promise<Duplex> } (dialer.ts).
import type { TunDevice } from '../tun/device';
import { VNetEngine, type VNetOptions } from './engine';
import type { NatInit } from './nat-table';

export { AddressPlan, DEFAULT_IPV4_RANGE, type AddressState } from './addresses';
export { loadAddressPlan } from './address-store';
export {
  CachingResolver,
  ResolveTimeoutError,
  StaticResolver,
  portAllowed,
  type AppInfo,
  type AppResolver,
  type PortRange,
} from './resolver';
export { DialError, DirectDialer, type Dialer, type RelayTarget } from './dialer';
export type { OpenFlow } from './flows';
export {
  VNetEngine,
  type FlowErrorCode,
  type RefusalCode,
  type VNetErrorCode,
  type VNetEvents,
  type VNetOptions,
  type VNetStats,
} from './engine';
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
