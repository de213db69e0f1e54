// CTAPHID constants, from CTAP 2.1 §11.2 "USB Human Interface Device (USB HID)".

/** Every HID report is 64 bytes (§11.2.4 "HID_RPT_SIZE"). */
export const REPORT_SIZE = 64;
/** Payload bytes in an initialization packet: 64 - CID(4) - CMD(1) - BCNT(2). */
export const INIT_DATA_SIZE = REPORT_SIZE - 7;
/** Payload bytes in a continuation packet: 64 - CID(4) - SEQ(1). */
export const CONT_DATA_SIZE = REPORT_SIZE - 5;
/** Sequence numbers run 0..0x7f, so at most 128 continuation packets (§11.2.4). */
export const MAX_SEQ = 0x7f;
/** 57 + 128 * 59 = 7609 bytes, the largest CTAPHID message. */
export const MAX_PAYLOAD = INIT_DATA_SIZE + (MAX_SEQ + 1) * CONT_DATA_SIZE;

export const BROADCAST_CID = 0xffffffff;
/** Bit 7 of the fifth byte marks an initialization packet (§11.2.4). */
export const TYPE_INIT = 0x80;

/** Commands (§11.2.9), without the TYPE_INIT bit. */
export const CMD_PING = 0x01;
export const CMD_MSG = 0x03;
export const CMD_LOCK = 0x04;
export const CMD_INIT = 0x06;
export const CMD_WINK = 0x08;
export const CMD_CBOR = 0x10;
export const CMD_CANCEL = 0x11;
export const CMD_KEEPALIVE = 0x3b;
export const CMD_ERROR = 0x3f;

/** KEEPALIVE status bytes (§11.2.9.2.1). */
export const STATUS_PROCESSING = 1;
export const STATUS_UPNEEDED = 2;

/** INIT response capability flags (§11.2.9.1.3). */
export const CAPABILITY_WINK = 0x01;
export const CAPABILITY_CBOR = 0x04;
export const CAPABILITY_NMSG = 0x08;

/** CTAPHID_ERROR codes (§11.2.9.1.6). */
export const ERR_INVALID_CMD = 0x01;
export const ERR_INVALID_PAR = 0x02;
export const ERR_INVALID_LEN = 0x03;
export const ERR_INVALID_SEQ = 0x04;
export const ERR_MSG_TIMEOUT = 0x05;
export const ERR_CHANNEL_BUSY = 0x06;
export const ERR_LOCK_REQUIRED = 0x0a;
export const ERR_INVALID_CHANNEL = 0x0b;
export const ERR_OTHER = 0x7f;

const HID_ERROR_TEXT: Record<number, string> = {
  [ERR_INVALID_CMD]: 'invalid command',
  [ERR_INVALID_PAR]: 'invalid parameter',
  [ERR_INVALID_LEN]: 'invalid message length',
  [ERR_INVALID_SEQ]: 'invalid packet sequence',
  [ERR_MSG_TIMEOUT]: 'message timed out',
  [ERR_CHANNEL_BUSY]: 'the key is busy with another application',
  [ERR_LOCK_REQUIRED]: 'channel lock required',
  [ERR_INVALID_CHANNEL]: 'invalid channel',
  [ERR_OTHER]: 'unspecified error',
};

export function hidErrorText(code: number): string {
  return HID_ERROR_TEXT[code] ?? `unknown CTAPHID error 0x${code.toString(16).padStart(2, '0')}`;
}
