// Security keys for KeyVNet: the public entry point of app/fido.
//
// Usage:
//   import { listSecurityKeys, openSecurityKey, watchSecurityKeys } from './fido';
//   const [first] = await listSecurityKeys();               // FIDO HID devices (usage page 0xF1D0)
//   const key = await openSecurityKey(first.path, prompter); // a SecurityKey (api.ts); key.kind is
//                                                            // 'ctap2' (FIDO2) or 'u2f' (CTAP1-only key)
//   const cred = await key.makeCredential({ rpId: 'ssh:', ... }, { purpose: 'Create your SSH key' });
//   const sig = await key.getAssertion({ rpId: 'ssh:', credentialIds: [cred.credentialId], ... }, ctx);
//   await key.close();
//
//   watchSecurityKeys().on('inserted', (info) => ...).on('removed', (info) => ...);  // for the UI
//
// Requests to one key queue in requestQueue (request-queue.ts), which the UI lists and cancels.
//
// The virtual authenticator (tests and the Linux demo) is NOT exported here, so production code
// cannot open a software key by accident; tests and the demo import app/fido/testing.ts.
//
// U2F-only keys work through U2fSecurityKey with U2F's limits (ECDSA only, no PIN, no resident
// keys: such requests fail with 'unsupported'); pass { allowU2f: false } to refuse them.
//
// Errors are FidoError (api.ts) whose message is a sentence fit for a notification. A wrong PIN
// is never retried automatically: the caller asks again by starting a new operation.

import type { UserPrompter } from './api';
import { listFidoHidDevices, openNodeHidDevice } from './hid/node-hid-device';
import type { HidDeviceInfo } from './hid/report-device';
import { SecurityKeyWatcher } from './hid/watcher';
import { FidoError } from './api';
import { openKeyOnDevice, type AnySecurityKey, type OpenAnyOptions } from './open';

export * from './api';
export type { HidDeviceInfo, HidReportDevice } from './hid/report-device';
export type { AuthenticatorInfo } from './ctap2/client';
export { Ctap2SecurityKey, U2fOnlyError, type OpenSecurityKeyOptions } from './security-key';
export { U2fSecurityKey, type U2fOptions } from './ctap1/u2f-security-key';
export { openKeyOnDevice, type AnySecurityKey, type OpenAnyOptions } from './open';
export { SecurityKeyWatcher } from './hid/watcher';
export { RequestQueue, requestQueue, type RequestInfo, type ActiveRequest } from './request-queue';
export { findKeyForCredential, selectKeyByTouch } from './select';
export { type ResidentCredential } from './security-key';

/** FIDO security keys currently plugged in (through node-hid). */
export function listSecurityKeys(): Promise<HidDeviceInfo[]> {
  return listFidoHidDevices();
}

/** Open a plugged-in key by its path from listSecurityKeys() (FIDO2, or U2F unless allowU2f: false). */
export async function openSecurityKey(
  path: string,
  prompter: UserPrompter,
  opts: OpenAnyOptions = {},
): Promise<AnySecurityKey> {
  const info = (await listFidoHidDevices()).find((d) => d.path === path);
  if (!info) throw new FidoError('device-removed', 'The security key is no longer plugged in.');
  return openKeyOnDevice(await openNodeHidDevice(info), prompter, opts);
}

/** Polls for keys being plugged in / pulled out; emits 'inserted' and 'removed' with HidDeviceInfo. */
export function watchSecurityKeys(intervalMs = 1000): SecurityKeyWatcher {
  return new SecurityKeyWatcher(listFidoHidDevices, intervalMs).start();
}
