import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollSkKey } from '../../../app/ssh/enroll';
import { SkKeyDirectory, type KeyFileProblem } from '../../../app/ssh/key-store';
import { publicKeyLine } from '../../../app/ssh/keys';
import { VectorKey } from './vector-key';

describe('ssh key directory', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kvn-sshkeys-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('saves keys without overwriting and loads them back', async () => {
    const dir = join(root, 'a', 'keys');
    const store = new SkKeyDirectory(dir);
    expect(store.keys()).to.deep.equal([]); // no directory yet: no keys, no error
    const vk = new VectorKey();
    const k1 = (await enrollSkKey(vk, { comment: 'one' }, { purpose: { what: 'enroll', requester: 'app' } }))
      .key;
    const k2 = (await enrollSkKey(vk, { comment: 'two' }, { purpose: { what: 'enroll', requester: 'app' } }))
      .key;
    const f1 = store.save(k1);
    const f2 = store.save(k2);
    expect(f1).to.equal(join(dir, 'id_ecdsa_sk'));
    expect(f2).to.equal(join(dir, 'id_ecdsa_sk2'));
    expect(statSync(f1).mode & 0o777).to.equal(0o600);
    expect(statSync(dir).mode & 0o777).to.equal(0o700);
    expect(readFileSync(`${f1}.pub`, 'utf8')).to.equal(`${publicKeyLine(k1, 'one')}\n`);
    expect(store.keys()).to.deep.equal([k1, k2]);
  });

  it('skips and reports bad files once, keeping the good keys', async () => {
    const dir = join(root, 'b');
    const problems: KeyFileProblem[] = [];
    const store = new SkKeyDirectory(dir, (p) => problems.push(p));
    const good = (await enrollSkKey(new VectorKey(), {}, { purpose: { what: 'enroll', requester: 'app' } }))
      .key;
    store.save(good);
    writeFileSync(join(dir, 'junk'), 'hello', { mode: 0o600 });
    writeFileSync(join(dir, 'open'), 'x', { mode: 0o644 });
    chmodSync(join(dir, 'open'), 0o644);
    const { keys, problems: listed } = store.load();
    expect(keys).to.deep.equal([good]);
    expect(listed.map((p) => p.message)).to.deep.equal([
      'not an OpenSSH private key file: missing "-----BEGIN OPENSSH PRIVATE KEY-----" / "-----END OPENSSH PRIVATE KEY-----" lines',
      `permissions 644 are too open; run chmod 600 ${join(dir, 'open')}`,
    ]);
    store.load();
    expect(problems).to.have.length(2);
  });
});
