// What a client asks the agent to sign, parsed exactly the way OpenSSH's ssh-agent.c parses it
// (parse_userauth_request, parse_sshsig_request): a publickey userauth request (RFC 4252 §7, and
// OpenSSH's publickey-hostbound-v00 with the server's host key), an SSHSIG (PROTOCOL.sshsig: git
// commits, `ssh-keygen -Y sign`), or something else. Used for the prompt ("connect to …", "sign
// a file") and for the web-origin rule of signWithSkKey.
import { SshReader } from './wire';

const SSH2_MSG_USERAUTH_REQUEST = 50;

export type SignedData =
  | {
      kind: 'userauth';
      sessionId: Buffer;
      user: string;
      method: string;
      /** The key blob the request is for. */
      keyBlob: Buffer;
      /** publickey-hostbound-v00@openssh.com: the server's host key blob. */
      hostKey?: Buffer;
    }
  | { kind: 'sshsig'; namespace: string; hashAlgorithm: string }
  | { kind: 'other' };

export function parseSignedData(data: Buffer): SignedData {
  return parseUserauth(data) ?? parseSshsig(data) ?? { kind: 'other' };
}

function parseUserauth(data: Buffer): SignedData | null {
  try {
    const r = new SshReader(data, 'userauth request');
    const sessionId = r.string('session id');
    if (sessionId.length === 0) return null;
    if (r.byte('message') !== SSH2_MSG_USERAUTH_REQUEST) return null;
    const user = r.text('user');
    if (r.text('service') !== 'ssh-connection') return null;
    const method = r.text('method');
    if (method !== 'publickey' && method !== 'publickey-hostbound-v00@openssh.com') return null;
    if (r.byte('has signature') !== 1) return null;
    r.text('algorithm');
    const keyBlob = r.string('key');
    const hostKey = method === 'publickey' ? undefined : r.string('host key');
    r.end();
    return { kind: 'userauth', sessionId, user, method, keyBlob, hostKey };
  } catch {
    return null;
  }
}

function parseSshsig(data: Buffer): SignedData | null {
  if (data.subarray(0, 6).toString('latin1') !== 'SSHSIG') return null;
  try {
    const r = new SshReader(data.subarray(6), 'SSHSIG data');
    const namespace = r.text('namespace');
    r.string('reserved');
    const hashAlgorithm = r.text('hash algorithm');
    r.string('message hash');
    r.end();
    return { kind: 'sshsig', namespace, hashAlgorithm };
  } catch {
    return null;
  }
}
