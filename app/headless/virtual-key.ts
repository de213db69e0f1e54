// `--virtual-key STATE` (agent) and KEYVNET_VIRTUAL_KEY (keyvnet command): the project's virtual
// authenticator instead of a USB key, for tests and the demo on machines without one. This module is
// the only door from the product to it, and it is loaded lazily (dynamic import/require) behind those
// switches only, so nothing reaches the virtual key otherwise (tests/unit/fido/production-exports).
// Touches happen by themselves after `--virtual-touch auto:MS` (default auto:0), or never/deny for
// tests of those paths, or `manual`: then only a line on `--virtual-key-control SOCKET` touches it
// (UI tests touch it "by hand").
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import type { SecurityKey, UserPrompter } from '../fido/api';
import { openVirtualSecurityKey, VirtualAuthenticator, type TouchPolicy } from '../fido/testing';

export { VirtualAuthenticator };

/** The options main.ts parses for the virtual key. */
export interface VirtualKeyOptions {
  statePath: string;
  pin?: string;
  touch: string;
  /** A unix socket taking `touch`, `deny`, `unplug` lines (tests). */
  control?: string;
}

export function parseTouchPolicy(spec: string): TouchPolicy {
  if (spec === 'deny' || spec === 'never' || spec === 'manual') return { mode: spec };
  const m = /^auto(?::(\d{1,6}))?$/.exec(spec);
  if (!m) throw new Error(`--virtual-touch wants auto[:MS], deny, never or manual, got "${spec}"`);
  return { mode: 'auto', afterMs: Number(m[1] ?? 0) };
}

export function virtualKey(
  statePath: string,
  prompter: UserPrompter,
  opts: { pin?: string; touch: TouchPolicy; control?: string },
): { securityKey: () => Promise<SecurityKey>; authenticator: VirtualAuthenticator } {
  const va = new VirtualAuthenticator({ statePath, pin: opts.pin, touch: opts.touch });
  let open: Promise<SecurityKey> | null = null;
  if (opts.control !== undefined) startControl(va, opts.control);
  return { securityKey: () => (open ??= openVirtualSecurityKey(va, prompter)), authenticator: va };
}

/** What one control line does; the answer line: `ok`, `not-waiting` or `error ...`. */
export function controlCommand(
  va: Pick<VirtualAuthenticator, 'touch' | 'deny' | 'unplug'>,
  line: string,
): string {
  switch (line.trim()) {
    case 'touch':
      return va.touch() ? 'ok' : 'not-waiting';
    case 'deny':
      return va.deny() ? 'ok' : 'not-waiting';
    case 'unplug':
      va.unplug();
      return 'ok';
    default:
      return `error unknown command "${line.trim().slice(0, 40)}" (touch, deny, unplug)`;
  }
}

/** Test-only control socket (owner-only, removed at exit); it never keeps the process alive. */
function startControl(va: VirtualAuthenticator, path: string): Server {
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
