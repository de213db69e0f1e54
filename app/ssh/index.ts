// OpenSSH FIDO ("sk") keys and the ssh-agent: the public API of app/ssh.
export {
  SK_ECDSA_TYPE,
  SK_ED25519_TYPE,
  SSH_SK_USER_PRESENCE_REQD,
  SSH_SK_USER_VERIFICATION_REQD,
  SSH_SK_RESIDENT_KEY,
  DEFAULT_APPLICATION,
  type SkKey,
  type SkPublicKey,
  type SkKeyType,
  encodePublicKeyBlob,
  decodePublicKeyBlob,
  publicKeyLine,
  parsePublicKeyLine,
  authorizedKeysLine,
  fingerprint,
  fingerprintLine,
  describeFlags,
} from './keys';
export { enrollSkKey, type EnrollOptions, type EnrollResult } from './enroll';
export {
  readPrivateKeyFile,
  writePrivateKeyFile,
  parsePrivateKeyFile,
  WrongPassphraseError,
  type ParsedKeyFile,
} from './keyfile';
export { KeyFileUnlocker, isLocked, type LockedSkKey, type AgentKey } from './key-unlock';
export { listResidentSshKeys, type ResidentSshKey } from './resident';
export { parseSignedData, type SignedData } from './signed-data';
export { sshSignatureFromAssertion, verifySkSignature, type SkSignatureDetails } from './signature';
export { signWithSkKey, describeSignError, checkWebsafe, SkSignError } from './signer';
export {
  SshAgent,
  signPurpose,
  type SshAgentOptions,
  type SignEvent,
  type AgentLogLevel,
  type AgentPeer,
} from './agent';
export { AgentClient } from './agent-client';
export { defaultAgentSocketPath, sshAuthSockExport } from './socket-path';
export { SshFormatError } from './wire';
export { SkKeyDirectory, type KeyFileProblem } from './key-store';
