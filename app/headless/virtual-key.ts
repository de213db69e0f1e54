// `--virtual-key STATE` (agent) and KEYVNET_VIRTUAL_KEY (keyvnet command): the project's virtual
// authenticator instead of a USB key, for tests and the demo on machines without one. This module is
// the only door from the product to it, and it is loaded lazily (dynamic import/require) behind those
// switches only, so nothing reaches the virtual key otherwise (tests/unit/fido/production-exports).
// Touches happen by themselves after `--virtual-touch auto:MS` (default auto:0), or never/deny for
// tests of those paths, or `manual`: then only a line on `--virtual-key-control SOCKET` touches it
// (UI tests touch it "by hand"). The control's `unplug` and `plug` pull it out and put it back
// (`--virtual-key-unplugged` starts it out): it is found through the same device listing as a USB
// key (pluggedInKey), so a request without it asks "Insert your security key" and waits.
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { pluggedInKey, type InsertWait, type KeyDevices } from '../agent/key-source';
import type { KeySource, UserPrompter } from '../fido/api';
import type { HidDeviceInfo } from '../fido';
import { openVirtualKey, VirtualAuthenticator, type TouchPolicy } from '../fido/testing';

export { VirtualAuthenticator };

export function parseTouchPolicy(spec: string): TouchPolicy {
  if (spec === 'deny' || spec === 'never' || spec === 'manual') return { mode: spec };
  const m = /^auto(?::(\d{1,6}))?$/.exec(spec);
  if (!m) throw new Error(`--virtual-touch wants auto[:MS], deny, never or manual, got "${spec}"`);
  return { mode: 'auto', afterMs: Number(m[1] ?? 0) };
}

/**
 * The virtual key in its USB port: listed while plugged in. Each plug-in is a new device path (a
 * USB key re-inserted is a new device too), so a key source opens it afresh rather than reusing
 * the connection of before it was pulled out.
 */
export class VirtualPort {
  private plugs = 0;
  private present: boolean;

  constructor(
    readonly va: VirtualAuthenticator,
    plugged = true,
  ) {
    this.present = plugged;
  }

  get plugged(): boolean {
    return this.present;
  }

  plug(): void {
    if (this.present) return;
    this.present = true;
    this.plugs++;
  }

  unplug(): void {
    this.present = false;
    this.va.unplug();
  }

  touch(): boolean {
    return this.va.touch();
  }

  deny(): boolean {
    return this.va.deny();
  }

  /** The device listing a key source polls. */
  devices(): KeyDevices {
    return {
      list: async (): Promise<HidDeviceInfo[]> =>
        this.present
          ? [
              {
                path: `${this.va.path}#${this.plugs}`,
                vendorId: 0x1209,
                productId: 0x4b56,
                product: this.va.label,
                manufacturer: 'KeyVNet',
              },
            ]
          : [],
      open: (_path, prompter) => openVirtualKey(this.va, prompter),
    };
  }
}

export function virtualKey(
  statePath: string,
  prompter: UserPrompter,
  opts: {
    pin?: string;
    touch: TouchPolicy;
    control?: string;
    /** Start pulled out (a `plug` on the control socket puts it in). */
    unplugged?: boolean;
    /** How a request waits for the key to be plugged in (tests). */
    insertWait?: Partial<InsertWait>;
  },
): { securityKey: KeySource; authenticator: VirtualAuthenticator; port: VirtualPort } {
  const va = new VirtualAuthenticator({ statePath, pin: opts.pin, touch: opts.touch });
  const port = new VirtualPort(va, !opts.unplugged);
  if (opts.control !== undefined) startControl(port, opts.control);
  return {
    securityKey: pluggedInKey(prompter, port.devices(), opts.insertWait),
    authenticator: va,
    port,
  };
}

/** What one control line does; the answer line: `ok`, `not-waiting` or `error ...`. */
export function controlCommand(
  key: Pick<VirtualPort, 'touch' | 'deny' | 'unplug' | 'plug'>,
  line: string,
): string {
  switch (line.trim()) {
    case 'touch':
      return key.touch() ? 'ok' : 'not-waiting';
    case 'deny':
      return key.deny() ? 'ok' : 'not-waiting';
    case 'unplug':
      key.unplug();
      return 'ok';
    case 'plug':
      key.plug();
      return 'ok';
    default:
      return `error unknown command "${line.trim().slice(0, 40)}" (touch, deny, unplug, plug)`;
  }
}

/** Test-only control socket (owner-only, removed at exit); it never keeps the process alive. */
function startControl(va: VirtualPort, path: string): Server {
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    sock.on('error', () => sock.destroy());
    createInterface({ input: sock }).on('line', (line) => {
      if (!sock.writable) return;
      sock.write(`${controlCommand(va, line)}\n`);
    });
  });
  server.on('error', (err) => process.stderr.write(`keyvnet: virtual key control ${path}: ${err.message}\n`));
  server.listen(path, () => chmodSync(path, 0o600));
  server.unref();
  process.once('exit', () => rmSync(path, { force: true }));
  return server;
}
