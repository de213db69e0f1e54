import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../../app/config/load';
import { commentedOut, ensureConfigFile } from '../../../app/ui/config-file';

describe('Open Config… on a first run', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'keyvnet-cfg-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('comments out every line that is not a comment already', () => {
    expect(commentedOut('[vnet]\n# note\n\n  ipv6 = true')).to.equal('# [vnet]\n# note\n\n#   ipv6 = true');
  });

  it('creates the file from the example, which loads as a config without apps; never overwrites', () => {
    const path = join(dir, 'keyvnet', 'config.toml');
    expect(ensureConfigFile(path)).to.equal(true);
    expect(readFileSync(path, 'utf8')).to.include('# [[bastion]]');
    expect(loadConfig(path).apps).to.deep.equal([]);
    writeFileSync(path, '# mine\n');
    expect(ensureConfigFile(path)).to.equal(false);
    expect(readFileSync(path, 'utf8')).to.equal('# mine\n');
  });
});
