// The ssh-agent wire protocol (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent): frames are
// uint32 length || byte type || contents. Pure encode/decode, no sockets, so it is unit-testable.
import { readPublicFields, SK_ECDSA_TYPE, SK_ED25519_TYPE, type SkKey } from './keys';
import { SshFormatError, SshReader, SshWriter } from './wire';

export const SSH_AGENT_FAILURE = 5;
export const SSH_AGENT_SUCCESS = 6;
export const SSH_AGENTC_REQUEST_IDENTITIES = 11;
export const SSH_AGENT_IDENTITIES_ANSWER = 12;
export const SSH_AGENTC_SIGN_REQUEST = 13;
export const SSH_AGENT_SIGN_RESPONSE = 14;
export const SSH_AGENTC_ADD_IDENTITY = 17;
export const SSH_AGENTC_REMOVE_IDENTITY = 18;
export const SSH_AGENTC_REMOVE_ALL_IDENTITIES = 19;
export const SSH_AGENTC_LOCK = 22;
export const SSH_AGENTC_UNLOCK = 23;
export const SSH_AGENTC_ADD_ID_CONSTRAINED = 25;
export const SSH_AGENTC_EXTENSION = 27;
export const SSH_AGENT_CONSTRAIN_LIFETIME = 1;
export const SSH_AGENT_CONSTRAIN_CONFIRM = 2;
export const SSH_AGENT_CONSTRAIN_EXTENSION = 255;
export const SSH_AGENT_EXTENSION_FAILURE = 28;

/** OpenSSH's limit (AGENT_MAX_LEN in ssh-agent.c); larger frames are an error, not a big request. */
export const MAX_AGENT_FRAME = 256 * 1024;

export class AgentProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentProtocolError';
  }
}

/** ADD_ID_CONSTRAINED constraints we understand (PROTOCOL.agent §"Adding keys"). */
export interface AddConstraints {
  /** Seconds until the agent forgets the key (`ssh-add -t`). */
  lifetime?: number;
  /** Ask the user before every use (`ssh-add -c`). */
  confirm: boolean;
}

export type AgentRequest =
  | { kind: 'request-identities' }
  | { kind: 'sign'; keyBlob: Buffer; data: Buffer; flags: number }
  | { kind: 'add'; key: SkKey; constraints: AddConstraints }
  /** An ADD_IDENTITY of a key type this agent does not hold (ordinary keys: use ssh-agent). */
  | { kind: 'add-unsupported'; keyType: string }
  | { kind: 'remove'; keyBlob: Buffer }
  | { kind: 'remove-all' }
  | { kind: 'lock'; passphrase: Buffer }
  | { kind: 'unlock'; passphrase: Buffer }
  | { kind: 'extension'; name: string; contents: Buffer }
  | { kind: 'other'; type: number };

/** Splits a byte stream into message bodies (type byte + contents); throws on an impossible length. */
export class AgentFrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len === 0) throw new AgentProtocolError('agent frame with length 0 (no message type)');
      if (len > MAX_AGENT_FRAME) {
        throw new AgentProtocolError(`agent frame of ${len} bytes exceeds the ${MAX_AGENT_FRAME}-byte limit`);
      }
      if (this.buf.length < 4 + len) break;
      out.push(this.buf.subarray(4, 4 + len));
      this.buf = this.buf.subarray(4 + len);
    }
    return out;
  }

  /** Bytes of an unfinished frame (non-zero when the peer stops mid-frame). */
  get pending(): number {
    return this.buf.length;
  }
}

export function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Parses one message body. Throws SshFormatError if its contents are malformed. */
export function parseAgentRequest(body: Buffer): AgentRequest {
  const r = new SshReader(body, 'agent request');
  const type = r.byte('message type');
  switch (type) {
    case SSH_AGENTC_REQUEST_IDENTITIES:
      r.end();
      return { kind: 'request-identities' };
    case SSH_AGENTC_SIGN_REQUEST: {
      const keyBlob = r.string('key blob');
      const data = r.string('data to sign');
      const flags = r.uint32('flags');
      r.end();
      return { kind: 'sign', keyBlob, data, flags };
    }
    case SSH_AGENTC_EXTENSION:
      return { kind: 'extension', name: r.text('extension name'), contents: r.rest() };
    case SSH_AGENTC_ADD_IDENTITY:
    case SSH_AGENTC_ADD_ID_CONSTRAINED: {
      const keyType = r.text('key type');
      if (keyType !== SK_ECDSA_TYPE && keyType !== SK_ED25519_TYPE)
        return { kind: 'add-unsupported', keyType };
      // The sk private fields, as in a key file's private section (sshkey_private_serialize).
      const pub = readPublicFields(r, keyType);
      const flags = r.byte('flags');
      const keyHandle = Buffer.from(r.string('key handle'));
      r.string('reserved');
      const comment = r.text('comment');
      if (keyHandle.length === 0) throw new SshFormatError('sk key with an empty key handle');
      const constraints: AddConstraints = { confirm: false };
      if (type === SSH_AGENTC_ADD_ID_CONSTRAINED) readConstraints(r, constraints);
      r.end();
      return { kind: 'add', key: { ...pub, flags, keyHandle, comment }, constraints };
    }
    case SSH_AGENTC_REMOVE_IDENTITY: {
      const keyBlob = r.string('key blob');
      r.end();
      return { kind: 'remove', keyBlob };
    }
    case SSH_AGENTC_REMOVE_ALL_IDENTITIES:
      r.end();
      return { kind: 'remove-all' };
    case SSH_AGENTC_LOCK:
    case SSH_AGENTC_UNLOCK: {
      const passphrase = r.string('passphrase');
      r.end();
      return { kind: type === SSH_AGENTC_LOCK ? 'lock' : 'unlock', passphrase };
    }
    default:
      return { kind: 'other', type };
  }
}

/**
 * Constraints until the end of the message. Unknown ones fail the whole request, as in OpenSSH:
 * silently dropping a constraint the user asked for would be worse than refusing the key.
 */
function readConstraints(r: SshReader, out: AddConstraints): void {
  while (r.remaining > 0) {
    const c = r.byte('constraint type');
    if (c === SSH_AGENT_CONSTRAIN_LIFETIME) out.lifetime = r.uint32('lifetime');
    else if (c === SSH_AGENT_CONSTRAIN_CONFIRM) out.confirm = true;
    else if (c === SSH_AGENT_CONSTRAIN_EXTENSION) {
      const name = r.text('constraint extension name');
      // ssh-add names the FIDO middleware it would load; we are that middleware: ignored.
      if (name === 'sk-provider@openssh.com') r.text('sk provider');
      else throw new SshFormatError(`unsupported key constraint extension "${name}"`);
    } else throw new SshFormatError(`unknown key constraint ${c}`);
  }
}

export function encodeIdentitiesAnswer(ids: { keyBlob: Buffer; comment: string }[]): Buffer {
  const w = new SshWriter().byte(SSH_AGENT_IDENTITIES_ANSWER).uint32(ids.length);
  for (const id of ids) w.string(id.keyBlob).string(id.comment);
  return w.toBuffer();
}

export function encodeSignResponse(signature: Buffer): Buffer {
  return new SshWriter().byte(SSH_AGENT_SIGN_RESPONSE).string(signature).toBuffer();
}

export const encodeFailure = (): Buffer => Buffer.from([SSH_AGENT_FAILURE]);
export const encodeSuccess = (): Buffer => Buffer.from([SSH_AGENT_SUCCESS]);

// The client side, used by tests and the benchmark.

export function encodeRequestIdentities(): Buffer {
  return Buffer.from([SSH_AGENTC_REQUEST_IDENTITIES]);
}

export function encodeSignRequest(keyBlob: Buffer, data: Buffer, flags = 0): Buffer {
  return new SshWriter().byte(SSH_AGENTC_SIGN_REQUEST).string(keyBlob).string(data).uint32(flags).toBuffer();
}

export function parseIdentitiesAnswer(body: Buffer): { keyBlob: Buffer; comment: string }[] {
  const r = new SshReader(body, 'identities answer');
  const type = r.byte('message type');
  if (type !== SSH_AGENT_IDENTITIES_ANSWER)
    throw new AgentProtocolError(`expected IDENTITIES_ANSWER, got ${type}`);
  const n = r.uint32('number of keys');
  const out: { keyBlob: Buffer; comment: string }[] = [];
  for (let i = 0; i < n; i++)
    out.push({ keyBlob: r.string(`key blob ${i}`), comment: r.text(`comment ${i}`) });
  r.end();
  return out;
}

/** The signature from a SIGN_RESPONSE, or null for FAILURE. */
export function parseSignResponse(body: Buffer): Buffer | null {
  const r = new SshReader(body, 'sign response');
  const type = r.byte('message type');
  if (type === SSH_AGENT_FAILURE) return null;
  if (type !== SSH_AGENT_SIGN_RESPONSE) throw new AgentProtocolError(`expected SIGN_RESPONSE, got ${type}`);
  const sig = r.string('signature');
  r.end();
  return sig;
}
