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

/**
 * What an operation is for and who asked, so prompts can say it ("Touch your security key to
 * connect to corp (bastion.corp.example.com)"). Structured, never pre-formatted: the UI words it
 * (app/ui/prompt-text.ts) and shows every field as plain text.
 */
export interface Purpose {
  what:
    | 'ssh-login' // an SSH user authentication (a bastion login, or the user's own ssh through the agent)
    | 'sign-data' // an SSHSIG signature: git commit, `ssh-keygen -Y sign`
    | 'ssh-sign' // an agent signature over data we cannot classify
    | 'enroll' // create an SSH key on the security key
    | 'list-resident' // read the resident SSH keys stored on the key
    | 'change-pin'
    | 'set-pin'
    | 'select-key'; // "touch the key you mean" among several
  /** The bastion's configured name, e.g. "corp". */
  bastion?: string;
  /** The host connected to, e.g. "bastion.corp.example.com" (or a host-key fingerprint). */
  host?: string;
  /** The remote user name. */
  user?: string;
  /** SSHSIG namespace ("git", "file"). */
  namespace?: string;
  /** The SSH key's comment, e.g. "alice@laptop". */
  keyComment?: string;
  /** Who asked: the KeyVNet daemon, a client of our ssh-agent, or the user in the app. */
  requester: 'daemon' | 'ssh-agent' | 'app';
  /** The agent client's process, when the socket tells (peer credentials). */
  process?: { pid: number; name?: string };
}

/** What an operation needs from its caller. */
export interface OperationContext {
  purpose: Purpose;
  /** Aborts the operation (sends CTAPHID_CANCEL, closes its prompts); rejects with FidoError 'cancelled'. */
  signal?: AbortSignal;
  /**
   * Cap on the operation once it reaches the key (default 120 s), touch and PIN included. Time
   * spent queued behind another request on the same key does not count.
   */
  timeoutMs?: number;
}

/** Common to every prompt. `signal` aborts when the request ends: close the prompt at once. */
export interface PromptBase {
  /** The request's id in the RequestQueue (the UI can cancel it by this id). */
  requestId: number;
  keyLabel: string;
  purpose: Purpose;
  signal: AbortSignal;
}

export interface PinPrompt extends PromptBase {
  /** Attempts left before the key blocks its PIN, when the key tells. */
  retriesLeft: number | null;
  /** The last PIN tried on this key (since it was plugged in) was wrong: the dialog says so. */
  afterWrongPin?: boolean;
  /** Setting or changing the PIN (keyvnet key pin): which PIN is asked (default: the current one). */
  entry?: 'current' | 'new' | 'repeat';
}

export interface TouchPrompt extends PromptBase {
  /** The key verifies a fingerprint rather than a touch. */
  fingerprint: boolean;
}

export interface PassphrasePrompt {
  requestId: number;
  /** The key file whose passphrase is asked. */
  file: string;
  /** Earlier wrong passphrases for this file in this request (a file has no lockout). */
  attempt: number;
  purpose: Purpose;
  signal: AbortSignal;
}

export interface ConfirmPrompt {
  requestId: number;
  /** `ssh-add -c`: the key about to be used (comment and SHA256 fingerprint). */
  keyComment: string;
  keyFingerprint: string;
  purpose: Purpose;
  signal: AbortSignal;
}

/**
 * No security key is plugged in: ask for one. The request waits (polling the devices) until a key
 * appears, the user cancels, the caller gives up, or a deadline; then `signal` aborts.
 */
export interface InsertKeyPrompt {
  /** Unique among all prompts' request ids (drawn from the RequestQueue's), so cancel-by-id works. */
  requestId: number;
  purpose: Purpose;
  /** Aborts when the wait ends (a key appeared, cancelled, timed out): close the prompt at once. */
  signal: AbortSignal;
  /** The prompt's Cancel: the request fails at once ('cancelled'). */
  cancel(): void;
  /** How long the request waits for a key before it fails, in ms. */
  timeoutMs: number;
}

/**
 * The user-facing side, implemented by the menu-bar UI and by the headless terminal prompts.
 * Every prompt carries an AbortSignal: when it aborts, close that prompt at once (resolve
 * null/false) and show the next one waiting. Texts are plain text, never markup.
 */
export interface UserPrompter {
  /** Ask for the key's PIN; null when the user cancels. Never called again after a wrong PIN. */
  askPin(req: PinPrompt): Promise<string | null>;
  /** The key is blinking and waiting for a touch (KEEPALIVE UPNEEDED has just arrived). */
  touchNeeded(req: TouchPrompt): void;
  /** That request's touch is over (touched, refused, timed out or cancelled): hide its prompt. */
  touchDone(req: TouchPrompt): void;
  /** A key file's passphrase (openssh-key-v1 with bcrypt); null when the user cancels. */
  askPassphrase?(req: PassphrasePrompt): Promise<string | null>;
  /** `ssh-add -c` keys: may this use go ahead? Anything but an explicit yes is no. */
  confirm?(req: ConfirmPrompt): Promise<boolean>;
  /**
   * No key is plugged in: show "Insert your security key to …" until `req.signal` aborts. Without
   * this method a request with no key fails at once.
   */
  insertKey?(req: InsertKeyPrompt): void;
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

/** Which credential an operation needs, so a source of keys can pick the key that holds it. */
export interface KeyWanted {
  rpId: string;
  credentialId: Buffer;
  ctx: OperationContext;
}

/**
 * Where signatures come from: the security key to use for `want` (with several plugged in, the one
 * holding the credential). Rejects with a FidoError sentence when there is none.
 */
export type KeySource = (want?: KeyWanted) => Promise<SecurityKey>;

/** One security key, ready for operations. */
export interface SecurityKey {
  /** Human label, e.g. "YubiKey 5 NFC" or "KeyVNet virtual key". */
  readonly label: string;
  makeCredential(req: MakeCredentialRequest, ctx: OperationContext): Promise<MakeCredentialResult>;
  getAssertion(req: GetAssertionRequest, ctx: OperationContext): Promise<AssertionResult>;
  close(): Promise<void>;
}
