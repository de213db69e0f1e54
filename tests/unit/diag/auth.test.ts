import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writePrivateKeyFile } from '../../../app/ssh/keyfile';
import { SK_ECDSA_TYPE } from '../../../app/ssh/keys';
import type { BastionConfig } from '../../../app/config/types';
import { authCheck } from '../../../app/diag/auth';
import { checkBastion } from '../../../app/diag/bastion';
import { BastionPaths, type LoginSigner } from '../../../app/diag/bastion-paths';

const base: BastionConfig = {
  name: 'corp',
  host: '127.0.0.1',
  port: 1,
  user: 'me',
  keyPath: '/nonexistent',
  hostKeys: null,
  knownHostsPath: '/nonexistent',
  policy: 'session',
  keepaliveSec: 30,
  maxSessionAgeSec: 0,
  jump: null,
};
const noKey: LoginSigner = { sign: () => Promise.reject(new Error('the key must not be used')) };
const pathsOf = (...bs: BastionConfig[]) =>
  new BastionPaths(new Map(bs.map((b) => [b.name, { config: b, expectedKeys: [] }])), noKey);

describe('diag: --auth', () => {
  it('skips keys without a private file, and bastions behind a jump that cannot be signed in to, without touching the key', async () => {
    const pub = join(mkdtempSync(join(tmpdir(), 'kvn-auth-')), 'id.pub');
    writeFileSync(pub, 'sk-ecdsa-sha2-nistp256@openssh.com AAAA me\n');
    const edge = { ...base, name: 'edge', keyPath: pub };
    const c = await authCheck(edge, pathsOf(edge));
    expect(c.status).to.equal('skip');
    expect(c.fix).to.contain('private sk key file');
    // The inner bastion's own key file is fine: what fails is signing in to its jump.
    const priv = join(dirname(pub), 'id_inner');
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]);
    writeFileSync(
      priv,
      writePrivateKeyFile({
        type: SK_ECDSA_TYPE,
        publicKey: point,
        application: 'ssh:',
        flags: 1,
        keyHandle: Buffer.alloc(16, 1),
        comment: 'inner',
      }),
    );
    const inner = { ...base, name: 'inner', jump: 'edge', keyPath: priv };
    const j = await authCheck(inner, pathsOf(edge, inner));
    expect(j.status).to.equal('skip');
    expect(j.evidence[0]).to.match(/^through edge: signing in to edge failed: .*id\.pub/);
    expect(j.fix).to.equal('See the checks of bastion edge.');
  });

  it('without --auth a bastion behind a jump is not checked, and the report says why', async () => {
    const r = await checkBastion(
      { name: 'inner', host: '10.0.0.1', port: 22, expectedKeys: [], jump: 'edge' },
      undefined,
      null,
    );
    expect(r.map((c) => [c.id, c.status])).to.deep.equal([
      ['bastion.inner.reachable', 'skip'],
      ['bastion.inner.hostkey', 'skip'],
      ['bastion.inner.session', 'skip'],
    ]);
    expect(r[0].evidence[0]).to.contain(
      'needs a sign-in to edge (a touch), which keyvnet diag makes only with --auth',
    );
    expect(r[0].fix).to.equal('Run keyvnet diag --auth to check it through edge.');
  });
});
