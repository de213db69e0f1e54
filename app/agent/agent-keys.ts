// The security keys as the agent's control socket uses them (keyvnet key … through the agent), opened
// with the agent's prompter. The virtual key (tests, the demo) is the very key the agent signs with
// (one authenticator per state file: a second copy would not see the first one's PIN or credentials),
// so its requests queue with the daemon's behind one another on the key's lane. Real keys are opened
// for the operation and closed after it, as `keyvnet` itself does (node-hid opens them shared).
import { listSecurityKeys, openSecurityKey } from '../fido';
import { FidoError, type KeySource, type UserPrompter } from '../fido/api';
import type { AnySecurityKey } from '../fido/open';
import type { VirtualKeySwitch } from './key-source';
import type { KeyAccess } from './key-operations';

export function agentKeyAccess(
  virtual: VirtualKeySwitch | null,
  source: KeySource,
  prompter: UserPrompter,
): KeyAccess {
  if (virtual) {
    const path = `virtual:${virtual.statePath}`;
    return {
      list: async () => {
        try {
          return [{ path, product: (await source()).label }];
        } catch (err) {
          if (err instanceof FidoError && err.code === 'device-removed') return [];
          throw err;
        }
      },
      // The virtual key is a Ctap2SecurityKey behind the KeySource's narrower type; it stays open.
      use: async (_key, fn) => fn((await source()) as AnySecurityKey),
    };
  }
  return {
    list: async () => (await listSecurityKeys()).map((d) => ({ path: d.path, product: d.product })),
    use: async (key, fn) => {
      const k = await openSecurityKey(key.path, prompter);
      try {
        return await fn(k);
      } finally {
        await k.close().catch(() => undefined);
      }
    },
  };
}
