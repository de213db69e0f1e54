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

  it('only app/fido/virtual, app/fido/testing.ts and the flag door (app/headless/virtual-key.ts) reach the virtual authenticator', () => {
    const door = join('app', 'headless', 'virtual-key.ts');
    const offenders = sources('app').filter((file) => {
      if (
        file.startsWith(join('app', 'fido', 'virtual')) ||
        file === join('app', 'fido', 'testing.ts') ||
        file === door
      )
        return false;
      return /from '[^']*(\/virtual\/|fido\/testing|\.\/testing)'/.test(readFileSync(file, 'utf8'));
    });
    expect(offenders).to.deep.equal([]);
  });

  it('the door is only ever loaded lazily (behind --virtual-key / KEYVNET_VIRTUAL_KEY), never imported statically', () => {
    const static_ = sources('app').filter((file) =>
      /^import [^;]*from '[^']*virtual-key'/m.test(readFileSync(file, 'utf8')),
    );
    expect(static_).to.deep.equal([]);
  });
});
