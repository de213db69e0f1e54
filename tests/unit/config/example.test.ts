import { expect } from 'chai';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../app/config';
import { tempHome, type TempHome } from './fixture';

describe('config: example.toml', () => {
  let t: TempHome;
  beforeEach(() => (t = tempHome()));
  afterEach(() => t.remove());

  it('parses as shipped, with its key file in place', () => {
    copyFileSync(join(t.home, '.ssh/id_ed25519_sk'), join(t.home, '.ssh/id_ecdsa_sk'));
    const path = t.write(readFileSync(join(__dirname, '../../../app/config/example.toml'), 'utf8'));
    const c = loadConfig(path, { home: t.home });
    expect(c.bastions.map((b) => [b.name, b.jump, b.hostKeys === null])).to.deep.equal([
      ['edge', null, true],
      ['corp', 'edge', false],
    ]);
    expect(c.zones.map((z) => z.via)).to.deep.equal(['corp', 'direct']);
    expect(c.apps.map((a) => [a.name, a.via])).to.deep.equal([
      ['grafana.corp.example.com', 'corp'],
      ['builds.corp.example.com', 'corp'],
      ['db.corp.example.com', 'edge'],
      ['hello.demo.test', 'direct'],
    ]);
    expect(c.apps[1].ports).to.deep.equal([[8000, 8100]]);
    expect(c.bastions[1].maxSessionAgeSec).to.equal(8 * 3600);
  });
});
