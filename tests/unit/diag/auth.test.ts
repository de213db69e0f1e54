import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BastionConfig } from '../../../app/config/types';
import { authCheck } from '../../../app/diag/auth';

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
const noKey = () => Promise.reject(new Error('the key must not be used'));

describe('diag: --auth', () => {
  it('skips bastions behind a jump and keys without a private file, without touching the key', async () => {
    expect((await authCheck({ ...base, jump: 'edge' }, [], noKey)).status).to.equal('skip');
    const pub = join(mkdtempSync(join(tmpdir(), 'kvn-auth-')), 'id.pub');
    writeFileSync(pub, 'sk-ecdsa-sha2-nistp256@openssh.com AAAA me\n');
    const c = await authCheck({ ...base, keyPath: pub }, [], noKey);
    expect(c.status).to.equal('skip');
    expect(c.fix).to.contain('private sk key file');
  });
});
