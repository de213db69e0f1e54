// Where the agent's signatures come from: the FIDO security keys plugged in (node-hid), each opened on
// first use and kept while it stays plugged in. With one key, that key; with several, the one that
// holds the credential asked for, found without a touch (OpenSSH's up=false probe,
// findKeyForCredential). With none, the request fails with a sentence the prompt and the daemon's
// event can show.
import type { KeySource, KeyWanted, SecurityKey, UserPrompter } from '../fido/api';
import { FidoError } from '../fido/api';
import { listSecurityKeys, openSecurityKey, type AnySecurityKey, type HidDeviceInfo } from '../fido';
import { findKeyForCredential } from '../fido/select';
import type { Ctap2SecurityKey } from '../fido/security-key';

/** Device access, injectable for tests. */
export interface KeyDevices {
  list(): Promise<HidDeviceInfo[]>;
  open(path: string, prompter: UserPrompter): Promise<AnySecurityKey>;
}

const NODE_HID: KeyDevices = { list: listSecurityKeys, open: openSecurityKey };

export function pluggedInKey(prompter: UserPrompter, devices: KeyDevices = NODE_HID): KeySource {
  const open = new Map<string, Promise<AnySecurityKey>>();
  return async (want?: KeyWanted): Promise<SecurityKey> => {
    const plugged = await devices.list();
    // Keys pulled out are forgotten (and closed); the others stay open.
    for (const [path, p] of open)
      if (!plugged.some((d) => d.path === path)) {
        open.delete(path);
        void p.then((k) => k.close()).catch(() => undefined);
      }
    if (plugged.length === 0)
      throw new FidoError(
        'device-removed',
        'No security key is plugged in: insert your security key and try again.',
      );
    const opened = await Promise.allSettled(
      plugged.map((d) => {
        let p = open.get(d.path);
        if (!p) {
          p = devices.open(d.path, prompter);
          open.set(d.path, p);
          p.catch(() => open.delete(d.path));
        }
        return p;
      }),
    );
    const keys = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (keys.length === 0) throw (opened[0] as PromiseRejectedResult).reason;
    if (keys.length === 1 || !want) return keys[0];
    const ctap2 = keys.filter((k): k is Ctap2SecurityKey => k.kind === 'ctap2');
    const found = await findKeyForCredential(ctap2, want.rpId, want.credentialId, want.ctx);
    if (found) return found;
    // U2F-only keys cannot be probed without a touch: the first of them is the best guess left.
    const u2f = keys.find((k) => k.kind !== 'ctap2');
    if (u2f) return u2f;
    throw new FidoError(
      'no-credentials',
      'None of the plugged-in security keys holds this SSH key (wrong security key?).',
    );
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
export function securityKeySource(virtual: VirtualKeySwitch | null, prompter: UserPrompter): KeySource {
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
