// The SSH transport: the dialer for apps behind a bastion (see docs/ARCHITECTURE.md, SSH transport).
export { SshDialer } from './dialer';
export { BastionSession } from './session';
export { checkHostKey, parseHostKeys, sha256Fingerprint } from './host-keys';
export type * from './types';
