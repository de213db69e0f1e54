// Maps a value's path, e.g. ['app', 2, 'ports', 1], to its line in the TOML text. smol-toml gives no
// positions for values, so this scans the (already valid) text once: table headers ([vnet], [[app]]
// counted per name), keys, and the elements of arrays and inline tables, even across lines. A path it
// cannot find falls back to its nearest parent that it found (usually the table header), else line 1.

export type Path = readonly PropertyKey[];

const keyOf = (path: Path): string => path.map(String).join('\0');

export class LineLocator {
  private readonly lines = new Map<string, number>();
  private i = 0;
  private line = 1;

  constructor(private readonly text: string) {
    try {
      this.scanDocument();
    } catch {
      // A construct this scanner does not follow: the positions found so far still help.
    }
  }

  /** The line of `path`, or of its nearest located parent; 1 if none. */
  lineOf(path: Path): number {
    for (let n = path.length; n > 0; n--) {
      const line = this.lines.get(keyOf(path.slice(0, n)));
      if (line !== undefined) return line;
    }
    return 1;
  }

  private record(path: Path, line = this.line): void {
    if (!this.lines.has(keyOf(path))) this.lines.set(keyOf(path), line);
  }

  private peek(s: string): boolean {
    return this.text.startsWith(s, this.i);
  }

  private advance(n = 1): void {
    for (let k = 0; k < n && this.i < this.text.length; k++) {
      if (this.text[this.i] === '\n') this.line++;
      this.i++;
    }
  }

  private skipSpaces(newlines: boolean): void {
    for (;;) {
      const c = this.text[this.i];
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.advance();
      else if (c === '#') while (this.i < this.text.length && this.text[this.i] !== '\n') this.advance();
      else return;
    }
  }

  private scanDocument(): void {
    let table: PropertyKey[] = [];
    const arrayCounts = new Map<string, number>();
    while (this.i < this.text.length) {
      this.skipSpaces(true);
      if (this.i >= this.text.length) return;
      const start = this.i;
      if (this.peek('[[')) {
        this.advance(2);
        const name = this.scanKey();
        const n = (arrayCounts.get(keyOf(name)) ?? -1) + 1;
        arrayCounts.set(keyOf(name), n);
        table = [...name, n];
        this.record(table);
        this.skipSpaces(false);
        this.advance(2); // ]]
      } else if (this.peek('[')) {
        this.advance();
        table = this.scanKey();
        this.record(table);
        this.skipSpaces(false);
        this.advance(); // ]
      } else {
        const path = [...table, ...this.scanKey()];
        this.record(path);
        this.skipSpaces(false);
        this.advance(); // =
        this.skipSpaces(false);
        this.scanValue(path);
      }
      if (this.i === start) this.advance(); // never loop in place
      while (this.i < this.text.length && this.text[this.i] !== '\n') this.advance();
    }
  }

  /** A bare, quoted or dotted key; leaves the position after it. */
  private scanKey(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipSpaces(false);
      const c = this.text[this.i];
      if (c === '"' || c === "'") parts.push(this.scanString());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.i, this.i + 256));
        if (!m) return parts;
        parts.push(m[0]);
        this.advance(m[0].length);
      }
      this.skipSpaces(false);
      if (this.text[this.i] !== '.') return parts;
      this.advance();
    }
  }

  /** Any string form; returns its raw content (escapes are left as written: keys rarely have any). */
  private scanString(): string {
    const quote = this.text[this.i];
    const triple = quote.repeat(3);
    const multi = this.peek(triple);
    this.advance(multi ? 3 : 1);
    const from = this.i;
    for (;;) {
      if (this.i >= this.text.length) return this.text.slice(from);
      if (quote === '"' && this.text[this.i] === '\\') {
        this.advance(2);
        continue;
      }
      if (multi ? this.peek(triple) : this.text[this.i] === quote) {
        const s = this.text.slice(from, this.i);
        this.advance(multi ? 3 : 1);
        // A multi-line string may end with up to two more quotes that belong to it.
        while (multi && this.text[this.i] === quote) this.advance();
        return s;
      }
      this.advance();
    }
  }

  private scanValue(path: PropertyKey[]): void {
    const c = this.text[this.i];
    if (c === '"' || c === "'") {
      this.scanString();
    } else if (c === '[') {
      this.advance();
      for (let n = 0; ; n++) {
        this.skipSpaces(true);
        if (this.text[this.i] === ']' || this.i >= this.text.length) break;
        this.record([...path, n]);
        this.scanValue([...path, n]);
        this.skipSpaces(true);
        if (this.text[this.i] === ',') this.advance();
      }
      this.advance(); // ]
    } else if (c === '{') {
      this.advance();
      for (;;) {
        this.skipSpaces(false);
        if (this.text[this.i] === '}' || this.i >= this.text.length) break;
        const at = [...path, ...this.scanKey()];
        this.record(at);
        this.skipSpaces(false);
        this.advance(); // =
        this.skipSpaces(false);
        this.scanValue(at);
        this.skipSpaces(false);
        if (this.text[this.i] === ',') this.advance();
      }
      this.advance(); // }
    } else {
      // Numbers, booleans, dates: up to a separator.
      while (this.i < this.text.length && !/[,\]}\n#]/.test(this.text[this.i])) this.advance();
    }
  }
}
