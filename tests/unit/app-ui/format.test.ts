import { expect } from 'chai';
import {
  ellipsize,
  formatAgo,
  formatBytes,
  formatClock,
  formatDuration,
  wrapText,
} from '../../../app/ui/format';

describe('formats for the menu and the status window', () => {
  it('sizes', () => {
    expect([0, 999, 1000, 1234, 12_345, 999_999, 2_350_000, 5e12, -1].map(formatBytes)).to.deep.equal([
      '0 B',
      '999 B',
      '1.0 KB',
      '1.2 KB',
      '12 KB',
      '1000 KB',
      '2.4 MB',
      '5.0 TB',
      '–',
    ]);
  });

  it('durations, ages and clock times', () => {
    expect([0, 59_999, 60_000, 3_600_000, 3_660_000, 90_000_000].map(formatDuration)).to.deep.equal([
      '0 s',
      '59 s',
      '1 min',
      '1 h',
      '1 h 1 min',
      '1 d',
    ]);
    expect(formatAgo(1000, 3000)).to.equal('just now');
    expect(formatAgo(0, 180_000)).to.equal('3 min ago');
    const t = new Date(2026, 11, 2, 9, 5).getTime();
    expect(formatClock(t, t + 1000)).to.equal('09:05');
    expect(formatClock(t, t + 2 * 86_400_000)).to.equal('Dec 2 09:05');
  });

  it('cuts long lines on code points, one line', () => {
    expect(ellipsize('a\nb', 10)).to.equal('a b');
    expect(ellipsize('🔑🔑🔑🔑', 3)).to.equal('🔑🔑…');
  });

  it('wraps at spaces for self-sizing windows', () => {
    expect(wrapText('aaa bbb ccc', 7)).to.equal('aaa bbb\nccc');
    expect(wrapText('averyveryverylongword x', 5)).to.equal('averyveryverylongword\nx');
    expect(wrapText('a\n\nb', 10)).to.equal('a\n\nb');
  });
});
