import { expect } from 'chai';
import { parse } from 'smol-toml';
import { LineLocator } from '../../../app/config/locate';

describe('config: LineLocator', () => {
  const text = [
    '# comment [[app]]', // 1
    'top = 1', // 2
    '[vnet]', // 3
    'range = "a#b" # trailing', // 4
    '', // 5
    '[[app]]', // 6
    'name = """', // 7
    'multi [[app]] "line"', // 8
    '"""', // 9
    'ports = [', // 10
    '  80, # first', // 11
    '  [1, 2],', // 12
    '  "x]",', // 13
    ']', // 14
    "'quoted.key' = { a = 1, b = [3,", // 15
    '  4] }', // 16
    '', // 17
    '[[ app ]]', // 18
    'dotted.key = 5', // 19
    '[[bastion]]', // 20
    '[[app]]', // 21
  ].join('\n');
  const at = new LineLocator(text);

  it('is fed valid TOML (the fixture parses)', () => {
    expect(() => parse(text)).not.to.throw();
  });

  it('finds tables, arrays of tables counted per name, and keys', () => {
    expect(at.lineOf(['top'])).to.equal(2);
    expect(at.lineOf(['vnet'])).to.equal(3);
    expect(at.lineOf(['vnet', 'range'])).to.equal(4);
    expect(at.lineOf(['app', 0])).to.equal(6);
    expect(at.lineOf(['app', 0, 'name'])).to.equal(7);
    expect(at.lineOf(['app', 1])).to.equal(18);
    expect(at.lineOf(['app', 1, 'dotted', 'key'])).to.equal(19);
    expect(at.lineOf(['bastion', 0])).to.equal(20);
    expect(at.lineOf(['app', 2])).to.equal(21);
  });

  it('finds array elements and inline-table keys across lines', () => {
    expect(at.lineOf(['app', 0, 'ports'])).to.equal(10);
    expect(at.lineOf(['app', 0, 'ports', 0])).to.equal(11);
    expect(at.lineOf(['app', 0, 'ports', 1])).to.equal(12);
    expect(at.lineOf(['app', 0, 'ports', 1, 1])).to.equal(12);
    expect(at.lineOf(['app', 0, 'ports', 2])).to.equal(13);
    expect(at.lineOf(['app', 0, 'quoted.key', 'b', 1])).to.equal(16);
  });

  it('falls back to the nearest parent it found, else line 1', () => {
    expect(at.lineOf(['app', 1, 'target'])).to.equal(18);
    expect(at.lineOf(['app', 0, 'ports', 9])).to.equal(10);
    expect(at.lineOf(['zone', 0, 'suffix'])).to.equal(1);
    expect(at.lineOf([])).to.equal(1);
  });
});
