// Public entry of the VNet packet engine.
//
// API (for the daemon, systemext/main.ts):
//
//   import { loadAddressPlan, StaticResolver, DirectDialer, startVNet } from './vnet';
//   const { plan } = loadAddressPlan('/var/lib/keyvnet/addresses.json', '100.64.0.0/10');
//   //   plan.tun4 / plan.dns4 (100.64.0.1 / .2), plan.tun6 / plan.dns6 (<ula>::1 / ::2),
//   //   plan.ipv4Range, plan.ipv6Range (the /96 to route into the tun).
//   const vnet = await startVNet({
//     plan, resolver, dialer,                       // AppResolver, Dialer (DirectDialer / SSH)
//     openTun: (fastPath) => openTun({ name: 'kvn0', mtu, fastPath }),  // A's device; or pass `tun`
//   });
//   // Configure the OS (addresses tun4/tun6 on the device, routes, resolver) BEFORE startVNet
//   // resolves: start() binds the system-stack listener on tun4:port and [tun6]:port. If you must
//   // open the tun and configure it first, use createVNet() + engine.start(tun) instead.
//   vnet.events.on('connection' | 'closed' | 'refused' | 'error', (e) => ...);  // see VNetEvents
//   await vnet.stop();                              // closes listeners, flows and the tun
//
// Two-step form: `const engine = createVNet(opts)` (gives `engine.fastPathHook` = { module, init }
// for the tun worker), open the tun with that hook, configure the OS, then `await engine.start(tun)`.
// Options: see VNetOptions in engine.ts (natCapacity, ipv6, upstreams, timeouts, clock...).
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
