// The security-key API the rest of the agent uses (ssh keys, the ssh-agent, the daemon's signature
// requests). Implemented by the CTAP2 client over CTAPHID (real keys through node-hid, and the
// virtual authenticator through the very same transport code).

/** COSE algorithm identifiers used by OpenSSH sk keys. */
export const COSE_ES256 = -7;
export const COSE_EDDSA = -8;
export type CoseAlgorithm = typeof COSE_ES256 | typeof COSE_EDDSA;

/** authenticatorData flag bits (WebAuthn §6.1). */
export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;
export const FLAG_AT = 0x40;
export const FLAG_ED = 0x80;

export interface MakeCredentialRequest {
  /** Relying-party id; OpenSSH calls it the application (default `ssh:`). */
  rpId: string;
  /** SHA-256 of the client data (OpenSSH: of a random challenge). 32 bytes. */
  clientDataHash: Buffer;
  userId: Buffer;
  userName: string;
  algorithm: CoseAlgorithm;
  /** Store the credential on the key (discoverable/resident). */
  residentKey: boolean;
  /** Require user verification (PIN) for this enrollment. */
  userVerification: boolean;
  /**
   * credProtect level (CTAP 2.1 §12.1): 2 = a resident credential is not listed or usable without
   * UV unless its id is given, 3 = never usable without UV. A key without the extension is refused.
   */
  credProtect?: 1 | 2 | 3;
}

export interface MakeCredentialResult {
  credentialId: Buffer;
  algorithm: CoseAlgorithm;
  /** ES256: 65-byte uncompressed P-256 point (0x04||X||Y). EdDSA: 32-byte Ed25519 key. */
  publicKey: Buffer;
  /** Raw authenticatorData. */
  authData: Buffer;
  /** Attestation format and statement, kept for OpenSSH's attestation output. */
  fmt: string;
  attStmt: Record<string, unknown>;
  flags: number;
  signCount: number;
}

export interface GetAssertionRequest {
  rpId: string;
  /** 32 bytes: the hash the authenticator signs together with authenticatorData. */
  clientDataHash: Buffer;
  /** Credentials to try (key handles). Empty means discoverable credentials. */
  credentialIds: Buffer[];
  /** Require a touch (false only for `no-touch-required` keys). */
  userPresence: boolean;
  /** Require user verification (PIN), e.g. for `verify-required` keys. */
  userVerification: boolean;
}

export interface AssertionResult {
  credentialId: Buffer;
  authData: Buffer;
  flags: number;
  signCount: number;
  /** ES256: ASN.1 DER ECDSA signature. EdDSA: 64 raw bytes. */
  signature: Buffer;
}

/** Why an operation needs the user, so prompts can say what for. */
export interface OperationContext {
  /** Human text, e.g. "Sign in to bastion.corp.example.com". */
  purpose: string;
  /** Aborts the operation (sends CTAPHID_CANCEL); the promise rejects with FidoError 'cancelled'. */
  signal?: AbortSignal;
}

/** The user-facing side, implemented by the menu-bar UI and by the headless terminal prompts. */
export interface UserPrompter {
  /**
   * Ask for the key's PIN. `retriesLeft` comes from the key; `wrongBefore` is true when the
   * previous attempt in this operation was rejected. Resolve null when the user cancels.
   * Never called again automatically after a wrong PIN: the caller decides to retry.
   */
  askPin(req: {
    keyLabel: string;
    purpose: string;
    retriesLeft: number | null;
    wrongBefore: boolean;
  }): Promise<string | null>;
  /** The key is blinking and waiting for a touch (KEEPALIVE UPNEEDED has just arrived). */
  touchNeeded(req: { keyLabel: string; purpose: string }): void;
  /** The key answered (or the operation ended): hide the touch prompt. */
  touchDone(): void;
}

export type FidoErrorCode =
  | 'pin-invalid' // wrong PIN; retriesLeft tells how many remain
  | 'pin-blocked' // no retries left: the key must be reset
  | 'pin-auth-blocked' // three wrong PINs in a row: remove and re-insert the key
  | 'pin-required' // the operation needs a PIN and the user gave none
  | 'pin-not-set' // user verification requested but the key has no PIN
  | 'pin-policy' // a new PIN the key refuses (too short, too simple, same as before)
  | 'pin-change-required' // the key demands a new PIN before it unlocks anything (forcePINChange)
  | 'user-denied' // touch refused / operation denied
  | 'uv-failed' // the built-in verification (fingerprint) did not recognise the user
  | 'timeout' // no touch in time
  | 'cancelled'
  | 'no-credentials' // the key does not hold this credential
  | 'device-removed'
  | 'unsupported'
  | 'protocol'; // malformed or unexpected data from the device

export class FidoError extends Error {
  constructor(
    readonly code: FidoErrorCode,
    message: string,
    readonly retriesLeft?: number,
  ) {
    super(message);
    this.name = 'FidoError';
  }
}

/** One security key, ready for operations. */
export interface SecurityKey {
  /** Human label, e.g. "YubiKey 5 NFC" or "KeyVNet virtual key". */
  readonly label: string;
  makeCredential(req: MakeCredentialRequest, ctx: OperationContext): Promise<MakeCredentialResult>;
  getAssertion(req: GetAssertionRequest, ctx: OperationContext): Promise<AssertionResult>;
  close(): Promise<void>;
}
