// U2F (CTAP1) messages carried in CTAPHID_MSG: ISO 7816-4 extended-length APDUs.
// Layouts from FIDO U2F Raw Message Formats v1.2 (§4 registration, §5 authentication) and
// CTAP 2.1 §11.2.9.1.1 / §8.1 (CTAP1/U2F framing). Pure code, no I/O.

export const U2F_REGISTER = 0x01;
export const U2F_AUTHENTICATE = 0x02;
export const U2F_VERSION = 0x03;

/** Authenticate P1 control byte (U2F raw formats §5.1). */
export const AUTH_CHECK_ONLY = 0x07;
export const AUTH_ENFORCE_UP = 0x03;
export const AUTH_DONT_ENFORCE_UP = 0x08;

/** Status words (ISO 7816-4, U2F raw formats §3.3). */
export const SW_NO_ERROR = 0x9000;
export const SW_CONDITIONS_NOT_SATISFIED = 0x6985; // needs a touch (or: key handle valid, for check-only)
export const SW_WRONG_DATA = 0x6a80; // key handle not ours
export const SW_WRONG_LENGTH = 0x6700;
export const SW_CLA_NOT_SUPPORTED = 0x6e00;
export const SW_INS_NOT_SUPPORTED = 0x6d00;

export class ApduError extends Error {}

/** CLA 0 | INS | P1 | P2 | Lc as 0x00 + 2 bytes | data | Le 0x0000 (up to 65536 bytes back). */
export function encodeApdu(ins: number, p1: number, data: Buffer): Buffer {
  const head = Buffer.from([0x00, ins, p1, 0x00]);
  if (data.length === 0) return Buffer.concat([head, Buffer.from([0x00, 0x00, 0x00])]);
  const lc = Buffer.from([0x00, data.length >> 8, data.length & 0xff]);
  return Buffer.concat([head, lc, data, Buffer.from([0x00, 0x00])]);
}

export interface Apdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Buffer;
}

/** Parse a command APDU (short or extended length), as a device does. */
export function decodeApdu(buf: Buffer): Apdu {
  if (buf.length < 4) throw new ApduError('APDU shorter than its header');
  const [cla, ins, p1, p2] = buf;
  const body = buf.subarray(4);
  let data = Buffer.alloc(0);
  if (body.length === 0 || body.length === 1) {
    // no data, maybe a short Le
  } else if (body[0] === 0x00 && body.length >= 3) {
    const lc = body.readUInt16BE(1);
    if (body.length === 3) {
      // extended Le only
    } else {
      if (body.length < 3 + lc) throw new ApduError('APDU data shorter than Lc');
      data = Buffer.from(body.subarray(3, 3 + lc));
    }
  } else {
    const lc = body[0];
    if (body.length < 1 + lc) throw new ApduError('APDU data shorter than Lc');
    data = Buffer.from(body.subarray(1, 1 + lc));
  }
  return { cla, ins, p1, p2, data };
}

export function splitResponse(resp: Buffer): { data: Buffer; sw: number } {
  if (resp.length < 2) throw new ApduError('U2F response shorter than a status word');
  return { data: resp.subarray(0, resp.length - 2), sw: resp.readUInt16BE(resp.length - 2) };
}

export function withStatus(data: Buffer, sw: number): Buffer {
  const swb = Buffer.alloc(2);
  swb.writeUInt16BE(sw);
  return Buffer.concat([data, swb]);
}

/** Size of the DER element at the start of `buf` (the attestation certificate). */
export function derLength(buf: Buffer): number {
  if (buf.length < 2 || buf[0] !== 0x30) throw new ApduError('attestation certificate is not a DER SEQUENCE');
  const first = buf[1];
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 3 || buf.length < 2 + n)
    throw new ApduError('attestation certificate has a bad DER length');
  let len = 0;
  for (let i = 0; i < n; i++) len = (len << 8) | buf[2 + i];
  return 2 + n + len;
}

export interface RegisterResponse {
  /** 65-byte uncompressed P-256 point. */
  publicKey: Buffer;
  keyHandle: Buffer;
  certificate: Buffer;
  signature: Buffer;
}

/** 0x05 | pubkey(65) | L | keyHandle(L) | certificate (DER) | signature (DER) — U2F raw formats §4.3. */
export function parseRegisterResponse(data: Buffer): RegisterResponse {
  if (data.length < 67 || data[0] !== 0x05) throw new ApduError('U2F registration response has a bad header');
  const publicKey = data.subarray(1, 66);
  if (publicKey[0] !== 0x04) throw new ApduError('U2F public key is not an uncompressed point');
  const khLen = data[66];
  const afterKh = 67 + khLen;
  if (data.length < afterKh + 2) throw new ApduError('U2F registration response is truncated');
  const keyHandle = data.subarray(67, afterKh);
  const certLen = derLength(data.subarray(afterKh));
  if (data.length <= afterKh + certLen) throw new ApduError('U2F registration response has no signature');
  return {
    publicKey: Buffer.from(publicKey),
    keyHandle: Buffer.from(keyHandle),
    certificate: Buffer.from(data.subarray(afterKh, afterKh + certLen)),
    signature: Buffer.from(data.subarray(afterKh + certLen)),
  };
}

export interface AuthenticateResponse {
  userPresence: number;
  counter: number;
  signature: Buffer;
}

/** userPresence(1) | counter(4, big-endian) | signature (DER) — U2F raw formats §5.4. */
export function parseAuthenticateResponse(data: Buffer): AuthenticateResponse {
  if (data.length < 6) throw new ApduError('U2F authentication response is truncated');
  return { userPresence: data[0], counter: data.readUInt32BE(1), signature: Buffer.from(data.subarray(5)) };
}
