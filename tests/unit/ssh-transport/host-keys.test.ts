// Host key checks: known keys pass; unknown and changed keys are refused with ssh-style messages.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { utils } from 'ssh2';
import {
  checkHostKey,
  hostKeyAlgorithms,
  parseHostKeys,
  sha256Fingerprint,
} from '../../../systemext/ssh/host-keys';

function keyLine(type: 'ed25519' | 'ecdsa'): { line: string; blob: Buffer } {
  const pair = utils.generateKeyPairSync(type, type === 'ecdsa' ? { bits: 256 } : {});
  const [t, b64] = pair.public.split(' ');
  return { line: `${t} ${b64} comment`, blob: Buffer.from(b64, 'base64') };
}

describe('host keys', () => {
  const ed = keyLine('ed25519');
  const ec = keyLine('ecdsa');
  const where = 'bastion corp (10.0.0.1:22)';

  it('fingerprints like ssh-keygen -l (SHA256, base64 without padding)', () => {
    const want = createHash('sha256').update(ed.blob).digest('base64').replace(/=+$/, '');
    expect(sha256Fingerprint(ed.blob)).to.equal(`SHA256:${want}`);
  });

  it('accepts a known key', () => {
    const { keys, errors } = parseHostKeys([ec.line, ed.line]);
    expect(errors).to.deep.equal([]);
    expect(checkHostKey(keys, ed.blob, where)).to.deep.equal({ ok: true });
  });

  it('refuses a key when none is known (HOST_KEY_UNKNOWN), naming the offered key', () => {
    const v = checkHostKey([], ed.blob, where);
    expect(v).to.deep.include({ ok: false, code: 'HOST_KEY_UNKNOWN' });
    expect(v.ok === false && v.message).to.include(
      `${where} is not known: it offered ED25519 key ${sha256Fingerprint(ed.blob)}`,
    );
  });

  it('refuses a different key (HOST_KEY_CHANGED), naming offered and expected keys', () => {
    const v = checkHostKey(parseHostKeys([ec.line]).keys, ed.blob, where);
    expect(v).to.deep.include({ ok: false, code: 'HOST_KEY_CHANGED' });
    const msg = v.ok === false ? v.message : '';
    expect(msg).to.include(`offered ED25519 key ${sha256Fingerprint(ed.blob)}`);
    expect(msg).to.include(`expected ECDSA ${sha256Fingerprint(ec.blob)}`);
  });

  it('reports malformed entries instead of skipping them silently', () => {
    const { keys, errors } = parseHostKeys(['garbage', `ssh-rsa ${ed.line.split(' ')[1]}`, ed.line]);
    expect(keys).to.have.length(1);
    expect(errors).to.deep.equal([
      'hostKeys[0]: not a "type base64" public key',
      'hostKeys[1]: not a "type base64" public key',
    ]);
  });

  it('asks the server for the known key types only, RSA with its SHA-2 variants', () => {
    const rsa = { type: 'ssh-rsa', blob: Buffer.alloc(0) };
    expect(hostKeyAlgorithms([...parseHostKeys([ed.line, ec.line]).keys, rsa])).to.deep.equal([
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
  });
});
