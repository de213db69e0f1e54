// A minimal self-signed X.509 v1 certificate (RFC 5280 §4.1) in DER, for the virtual key's U2F
// attestation. Node can parse certificates but not make them, hence this small encoder.

import { sign, type KeyObject } from 'node:crypto';

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else if (n < 0x100) len = Buffer.from([0x81, n]);
  else len = Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const ECDSA_WITH_SHA256 = Buffer.from('06082a8648ce3d040302', 'hex'); // OID 1.2.840.10045.4.3.2
const COMMON_NAME = Buffer.from('0603550403', 'hex'); // OID 2.5.4.3

function name(cn: string): Buffer {
  return seq(tlv(0x31, seq(COMMON_NAME, tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'; // YYMMDDHHMMSSZ
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

/** Self-signed certificate for a P-256 key, ECDSA with SHA-256. */
export function selfSignedCertificate(
  privateKey: KeyObject,
  publicKey: KeyObject,
  cn: string,
  serial: Buffer,
): Buffer {
  // DER INTEGER: minimal (no leading zero bytes) and positive (0x00 before a high bit).
  let n = serial;
  while (n.length > 1 && n[0] === 0) n = n.subarray(1);
  const serialInt = tlv(0x02, n[0] & 0x80 ? Buffer.concat([Buffer.from([0]), n]) : n);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq(
    serialInt,
    seq(ECDSA_WITH_SHA256),
    name(cn),
    seq(utcTime(new Date(Date.UTC(2024, 0, 1))), utcTime(new Date(Date.UTC(2049, 11, 31)))),
    name(cn),
    spki,
  );
  const signature = sign('sha256', tbs, privateKey);
  return seq(tbs, seq(ECDSA_WITH_SHA256), tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}
