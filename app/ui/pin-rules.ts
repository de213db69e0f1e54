// What a PIN must look like before we send it to a key (pure; shared by GUI and terminal prompts).

// CTAP2 §6.5.1 (authenticatorClientPIN): at least 4 Unicode code points, at most 63 bytes of UTF-8.
export const PIN_MIN_CODE_POINTS = 4;
export const PIN_MAX_BYTES = 63;

export function pinLengthOk(pin: string): boolean {
  return [...pin].length >= PIN_MIN_CODE_POINTS && Buffer.byteLength(pin, 'utf8') <= PIN_MAX_BYTES;
}
