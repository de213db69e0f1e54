// What a security key says about itself (getInfo, PIN retries), in plain fields: for `keyvnet key
// list` and the key checks of `keyvnet diag`. Asks nothing of the user (no touch, no PIN).
import type { AnySecurityKey } from '../fido/open';

export interface KeyInfo {
  label: string;
  /** 'ctap2' (FIDO2) or 'u2f' (CTAP1 only: no PIN, no resident keys). */
  kind: 'ctap2' | 'u2f';
  versions: string[];
  /** true: a PIN is set; false: the key supports one but has none; null: no PIN support (or U2F). */
  pinSet: boolean | null;
  /** PIN attempts left before the key locks (null when there is no PIN). */
  pinRetries: number | null;
  /** The key supports the credProtect extension (OpenSSH needs it for resident and verify-required keys). */
  credProtect: boolean;
  /** The key can store resident (discoverable) credentials. */
  residentKeys: boolean;
  /** The key has built-in user verification (fingerprint). */
  builtInUv: boolean;
  aaguid: string | null;
}

export async function describeKey(key: AnySecurityKey): Promise<KeyInfo> {
  if (key.kind === 'u2f') {
    return {
      label: key.label,
      kind: 'u2f',
      versions: ['U2F_V2'],
      pinSet: null,
      pinRetries: null,
      credProtect: false,
      residentKeys: false,
      builtInUv: false,
      aaguid: null,
    };
  }
  const info = key.authenticatorInfo;
  const pinSet = key.pinSet ?? null;
  return {
    label: key.label,
    kind: 'ctap2',
    versions: info.versions,
    pinSet,
    pinRetries: pinSet === true ? await key.getPinRetries() : null,
    credProtect: info.extensions.includes('credProtect'),
    residentKeys: info.options.get('rk') === true,
    builtInUv: info.options.get('uv') === true,
    aaguid: info.aaguid.toString('hex'),
  };
}
