// The ssh-agent wire protocol (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent): frames are
// uint32 length || byte type || contents. Pure encode/decode, no sockets, so it is unit-testable.
import { SshReader, SshWriter } from './wire';

export const SSH_AGENT_FAILURE = 5;
export const SSH_AGENT_SUCCESS = 6;
export const SSH_AGENTC_REQUEST_IDENTITIES = 11;
export const SSH_AGENT_IDENTITIES_ANSWER = 12;
export const SSH_AGENTC_SIGN_REQUEST = 13;
export const SSH_AGENT_SIGN_RESPONSE = 14;
export const SSH_AGENTC_EXTENSION = 27;
export const SSH_AGENT_EXTENSION_FAILURE = 28;

/** OpenSSH's limit (AGENT_MAX_LEN in ssh-agent.c); larger frames are an error, not a big request. */
export const MAX_AGENT_FRAME = 256 * 1024;

export class AgentProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentProtocolError';
  }
}

export type AgentRequest =
  | { kind: 'request-identities' }
  | { kind: 'sign'; keyBlob: Buffer; data: Buffer; flags: number }
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
    default:
      return { kind: 'other', type };
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
