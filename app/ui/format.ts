// Short human forms of sizes, ages and times for the menu and the status window. Pure.

const UNITS = ['KB', 'MB', 'GB', 'TB'];

/** 0 B, 999 B, 1.2 KB, 12 KB, 3.4 MB (1000-based, as macOS shows sizes). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  if (n < 1000) return `${Math.round(n)} B`;
  let v = n;
  let unit = '';
  for (const u of UNITS) {
    v /= 1000;
    unit = u;
    if (v < 1000) break;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${unit}`;
}

/** A duration in ms as "12 s", "4 min", "2 h 5 min", "3 d". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d`;
}

/** "just now", "4 min ago". */
export function formatAgo(at: number, now: number): string {
  return now - at < 5000 ? 'just now' : `${formatDuration(now - at)} ago`;
}

/** Local wall-clock time "14:02" (today) or "Dec 1 14:02" (another day). */
export function formatClock(at: number, now: number): string {
  const d = new Date(at);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  if (new Date(now).toDateString() === d.toDateString()) return hm;
  return `${d.toLocaleString('en-US', { month: 'short' })} ${d.getDate()} ${hm}`;
}

/** Cuts a long line for a menu (menus do not wrap), with an ellipsis. */
export function ellipsize(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  const chars = [...oneLine];
  return chars.length <= max ? oneLine : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * Breaks text into lines of at most `width` characters at spaces (a word longer than a line gets its
 * own). For labels in windows that size themselves: Qt's word wrap in a top-level window that
 * adjusts its size can lose lines.
 */
export function wrapText(text: string, width: number): string {
  return text
    .split('\n')
    .map((para) => {
      const lines: string[] = [];
      let line = '';
      for (const word of para.split(/\s+/).filter((w) => w !== '')) {
        if (line === '') line = word;
        else if ([...line].length + 1 + [...word].length <= width) line += ` ${word}`;
        else {
          lines.push(line);
          line = word;
        }
      }
      lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}
