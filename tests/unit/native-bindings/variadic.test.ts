import { expect } from 'chai';
import { variadicLayout, variadicOnStack } from '../../../native-bindings/variadic';

describe('native-bindings: variadic call layout', () => {
  const buf = Buffer.alloc(4);

  it('passes variadic arguments like fixed ones on Linux and macOS x86_64', () => {
    for (const target of [
      { platform: 'linux' as const, arch: 'x64' },
      { platform: 'linux' as const, arch: 'arm64' },
      { platform: 'darwin' as const, arch: 'x64' },
    ]) {
      const l = variadicLayout(target, ['i32', 'u64'], ['ptr']);
      expect(l.kinds).to.deep.equal(['i32', 'u64', 'ptr']);
      expect(l.values([3, 0x400454ca], [buf])).to.deep.equal([3, 0x400454ca, buf]);
      expect(variadicOnStack(target)).to.equal(false);
    }
  });

  it('on macOS arm64 fills x0..x7 with dummies so the first variadic argument is on the stack', () => {
    const target = { platform: 'darwin' as const, arch: 'arm64' };
    expect(variadicOnStack(target)).to.equal(true);
    const l = variadicLayout(target, ['i32', 'u64'], ['ptr']);
    expect(l.kinds).to.deep.equal(['i32', 'u64', 'i64', 'i64', 'i64', 'i64', 'i64', 'i64', 'ptr']);
    const v = l.values([3, 0xc0644e03], [buf]);
    expect(v).to.have.length(9);
    expect(v.slice(0, 2)).to.deep.equal([3, 0xc0644e03]);
    expect(v.slice(2, 8)).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(v[8]).to.equal(buf);
  });

  it('widens integer variadic arguments to a full 64-bit stack slot on macOS arm64', () => {
    const l = variadicLayout({ platform: 'darwin', arch: 'arm64' }, ['i32', 'i32'], ['i32']);
    expect(l.kinds).to.deep.equal(['i32', 'i32', 'i64', 'i64', 'i64', 'i64', 'i64', 'i64', 'i64']);
    expect(l.values([5, 2], [1])).to.deep.equal([5, 2, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('refuses more fixed arguments than registers', () => {
    expect(() =>
      variadicLayout({ platform: 'darwin', arch: 'arm64' }, new Array(9).fill('i32'), ['ptr']),
    ).to.throw(/8 fixed/);
  });
});
