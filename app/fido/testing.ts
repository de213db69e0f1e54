// The virtual authenticator, for tests and the Linux demo only: a software security key driven
// through the very same CTAPHID/CTAP2 code as a USB key. Not exported by app/fido/index.ts, so
// production code cannot open it by accident; import it from here.
//
//   const va = new VirtualAuthenticator({ statePath: '/tmp/demo/virtual-key.json', pin: '1234' });
//   const key = await openVirtualSecurityKey(va, prompter);  // always CTAP2 (Ctap2SecurityKey)
//   va.touch(); va.unplug(); va.setTouchPolicy({ mode: 'manual' });

import type { UserPrompter } from './api';
import { openKeyOnDevice, type AnySecurityKey, type OpenAnyOptions } from './open';
import { Ctap2SecurityKey, type OpenSecurityKeyOptions } from './security-key';
import type { VirtualAuthenticator } from './virtual/authenticator';

export { VirtualAuthenticator, type VirtualAuthenticatorOptions } from './virtual/authenticator';
export type { TouchPolicy } from './virtual/touch';

/** Plug in the virtual authenticator and open it as a CTAP2 SecurityKey (same CTAPHID/CTAP2 code). */
export function openVirtualSecurityKey(
  va: VirtualAuthenticator,
  prompter: UserPrompter,
  opts: OpenSecurityKeyOptions = {},
): Promise<Ctap2SecurityKey> {
  return Ctap2SecurityKey.open(va.connect(), prompter, { label: va.label, ...opts });
}

/** Plug in the virtual authenticator and open it like a real key (U2F when it is ctap1Only). */
export function openVirtualKey(
  va: VirtualAuthenticator,
  prompter: UserPrompter,
  opts: OpenAnyOptions = {},
): Promise<AnySecurityKey> {
  return openKeyOnDevice(va.connect(), prompter, { label: va.label, ...opts });
}
