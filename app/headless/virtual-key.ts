// `--virtual-key STATE` (agent) and KEYVNET_VIRTUAL_KEY (keyvnet command): the project's virtual
// authenticator instead of a USB key, for tests and the demo on machines without one. This module is
// the only door from the product to it, and it is loaded lazily (dynamic import/require) behind those
// switches only, so nothing reaches the virtual key otherwise (tests/unit/fido/production-exports).
// Touches happen by themselves after `--virtual-touch auto:MS` (default auto:0), or never/deny for
// tests of those paths.
import type { SecurityKey, UserPrompter } from '../fido/api';
import { openVirtualSecurityKey, VirtualAuthenticator, type TouchPolicy } from '../fido/testing';

export { VirtualAuthenticator };

export function parseTouchPolicy(spec: string): TouchPolicy {
  if (spec === 'deny' || spec === 'never' || spec === 'manual') return { mode: spec };
  const m = /^auto(?::(\d{1,6}))?$/.exec(spec);
  if (!m) throw new Error(`--virtual-touch wants auto[:MS], deny, never or manual, got "${spec}"`);
  return { mode: 'auto', afterMs: Number(m[1] ?? 0) };
}

export function virtualKey(
  statePath: string,
  prompter: UserPrompter,
  opts: { pin?: string; touch: TouchPolicy },
): { securityKey: () => Promise<SecurityKey>; authenticator: VirtualAuthenticator } {
  const va = new VirtualAuthenticator({ statePath, pin: opts.pin, touch: opts.touch });
  let open: Promise<SecurityKey> | null = null;
  return { securityKey: () => (open ??= openVirtualSecurityKey(va, prompter)), authenticator: va };
}
