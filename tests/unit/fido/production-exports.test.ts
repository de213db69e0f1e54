// The virtual authenticator stays out of production (issue 10 §3): app/fido/index.ts does not
// export it, and no production module outside app/fido/virtual and app/fido/testing imports it.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as fido from '../../../app/fido';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('fido: the test key is not in production', () => {
  it('app/fido/index.ts exports no virtual authenticator', () => {
    const names = Object.keys(fido);
    expect(names.filter((n) => /virtual/i.test(n))).to.deep.equal([]);
  });

  it('only app/fido/virtual and app/fido/testing.ts reach the virtual authenticator', () => {
    const offenders = sources('app').filter((file) => {
      if (file.startsWith(join('app', 'fido', 'virtual')) || file === join('app', 'fido', 'testing.ts'))
        return false;
      return /from '[^']*(\/virtual\/|fido\/testing|\.\/testing)'/.test(readFileSync(file, 'utf8'));
    });
    expect(offenders).to.deep.equal([]);
  });
});
