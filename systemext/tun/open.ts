// openTun: the real TunDevice for this platform (Linux tun, macOS utun), read by a worker thread.
import { closeSync } from 'node:fs';
import { interruptTunReader, openTunFd, setInterfaceMtu } from '../../native-bindings';
import type { TunDevice } from './device';
import type { FastPathSpec } from './fast-path';
import { WorkerTun } from './worker-tun';

export interface OpenTunOptions {
  /** Linux: a name or template (default `kvn%d`). macOS: `utunN`, default the next free utun. */
  name?: string;
  /** Largest packet accepted or delivered; longer ones are dropped. */
  mtu: number;
  /** Also set the interface MTU (SIOCSIFMTU). Otherwise configuring the interface is the caller's job. */
  setInterfaceMtu?: boolean;
  /** Per-packet hook run in the reader thread (see ./fast-path). */
  fastPath?: FastPathSpec;
  /** Ring between reader thread and main thread, bytes (power of two); default 4 MiB. */
  ringBytes?: number;
}

export async function openTun(opts: OpenTunOptions): Promise<TunDevice & Pick<WorkerTun, 'stats'>> {
  if (!Number.isInteger(opts.mtu) || opts.mtu < 576 || opts.mtu > 65535) {
    throw new RangeError(`tun MTU must be an integer in 576..65535, got ${opts.mtu}`);
  }
  const tun = openTunFd({ name: opts.name });
  try {
    if (opts.setInterfaceMtu) setInterfaceMtu(tun.name, opts.mtu);
  } catch (err) {
    interruptTunReader(tun);
    closeSync(tun.fd);
    throw err;
  }
  return WorkerTun.start({
    fd: tun.fd,
    name: tun.name,
    mtu: opts.mtu,
    framing: process.platform === 'darwin' ? 'utun' : 'none',
    interrupt: () => interruptTunReader(tun),
    fastPath: opts.fastPath,
    ringBytes: opts.ringBytes,
  });
}
