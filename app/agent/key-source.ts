// Where the agent's signatures come from: the first FIDO security key plugged in (node-hid), opened
// on first use and kept while it works. A key pulled out is opened afresh the next time; with none
// plugged in, the request fails with a sentence the prompt and the daemon's event can show.
import type { SecurityKey, UserPrompter } from '../fido/api';
import { FidoError } from '../fido/api';
import { listSecurityKeys, openSecurityKey } from '../fido';

export function pluggedInKey(prompter: UserPrompter): () => Promise<SecurityKey> {
  let open: Promise<SecurityKey> | null = null;
  return async () => {
    if (open) {
      const key = await open.catch(() => null);
      if (key) {
        const stillThere = (await listSecurityKeys()).length > 0;
        if (stillThere) return key;
        await key.close().catch(() => undefined);
      }
      open = null;
    }
    const [first] = await listSecurityKeys();
    if (!first)
      throw new FidoError(
        'device-removed',
        'No security key is plugged in: insert your security key and try again.',
      );
    open = openSecurityKey(first.path, prompter);
    return open;
  };
}

/** The test/demo switch `--virtual-key FILE` (with its PIN, touch policy and control socket). */
export interface VirtualKeySwitch {
  statePath: string;
  pin?: string;
  touch: string;
  control?: string;
}

/**
 * The agent's security key: the plugged-in one, or, behind `--virtual-key` (tests and the demo only),
 * the virtual authenticator, reached through its one lazily loaded door (app/headless/virtual-key.ts).
 */
export function securityKeySource(
  virtual: VirtualKeySwitch | null,
  prompter: UserPrompter,
): () => Promise<SecurityKey> {
  if (!virtual) return pluggedInKey(prompter);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parseTouchPolicy, virtualKey } =
    require('../headless/virtual-key') as typeof import('../headless/virtual-key');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return virtualKey(virtual.statePath, prompter, {
    pin: virtual.pin,
    touch: parseTouchPolicy(virtual.touch),
    control: virtual.control,
  }).securityKey;
}
