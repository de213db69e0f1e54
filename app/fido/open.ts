// Opening a key whatever it speaks: CTAP2 when it can, else U2F (CTAP1) over CTAPHID_MSG with
// U2F's limits (no PIN, no resident keys, ECDSA only).

import type { UserPrompter } from './api';
import { U2fSecurityKey, type U2fOptions } from './ctap1/u2f-security-key';
import { CtapHidConnection } from './ctaphid/connection';
import type { HidReportDevice } from './hid/report-device';
import { Ctap2SecurityKey, U2fOnlyError, type OpenSecurityKeyOptions } from './security-key';

/** `kind` tells them apart: 'ctap2' (FIDO2, PIN support) or 'u2f'. */
export type AnySecurityKey = Ctap2SecurityKey | U2fSecurityKey;

export interface OpenAnyOptions extends OpenSecurityKeyOptions, U2fOptions {
  /** Accept U2F-only keys (default true); false refuses them with a clear message. */
  allowU2f?: boolean;
}

/** INIT a channel on `device`, then use CTAP2 if the key has it, else U2F. Closes the device on failure. */
export async function openKeyOnDevice(
  device: HidReportDevice,
  prompter: UserPrompter,
  opts: OpenAnyOptions = {},
): Promise<AnySecurityKey> {
  const label = opts.label ?? device.info.product;
  try {
    const conn = await CtapHidConnection.open(device, opts);
    try {
      return await Ctap2SecurityKey.onConnection(conn, label, prompter, opts.queue);
    } catch (err) {
      if (!(err instanceof U2fOnlyError) || opts.allowU2f === false || !conn.supportsMsg) throw err;
      return await U2fSecurityKey.open(conn, label, prompter, opts);
    }
  } catch (err) {
    await device.close().catch(() => {});
    throw err;
  }
}
