// JSON with line numbers, for config files whose errors must point at a line: a syntax error says
// where it is, and every value's path (`apps[0].target`, the form ConfigError names) maps to the line
// it starts on. The values themselves come from JSON.parse; this reader only validates and locates.

export class JsonSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly problem: string,
  ) {
    super(`line ${line}, column ${column}: ${problem}`);
    this.name = 'JsonSyntaxError';
  }
}

export interface LocatedJson {
  value: unknown;
  /** Line (1-based) where the value at a path starts: for an object member, the line of its key. */
  lineOf(path: string): number | undefined;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses JSON text; throws JsonSyntaxError with line and column on malformed input. */
export function parseJsonWithLines(text: string): LocatedJson {
  const lines = new Map<string, number>();
  let i = 0;

  const lineAt = (pos: number): number => {
    let n = 1;
    for (let k = 0; k < pos; k++) if (text.charCodeAt(k) === 10) n++;
    return n;
  };
  const fail = (problem: string): never => {
    const line = lineAt(i);
    const column = i - text.lastIndexOf('\n', i - 1);
    throw new JsonSyntaxError(line, column, problem);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const what = (): string => (i >= text.length ? 'end of file' : JSON.stringify(text[i]));
  const expect = (ch: string, context: string): void => {
    ws();
    if (text[i] !== ch) fail(`expected '${ch}' ${context}, found ${what()}`);
    i++;
  };

  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail('control character in a string (a line break inside quotes?)');
      i++;
    }
    if (i >= text.length) {
      i = start;
      fail('string never closed');
    }
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      i = start;
      return fail('bad escape in a string');
    }
  };

  const value = (path: string): void => {
    ws();
    lines.set(path, lines.get(path) ?? lineAt(i));
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a "quoted" member name, found ${what()}`);
        const keyAt = i;
        const key = string();
        const child = path === '' ? key : `${path}.${key}`;
        lines.set(child, lineAt(keyAt));
        expect(':', `after member name "${key}"`);
        value(child);
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') fail('trailing comma before }');
          continue;
        }
        expect('}', `or ',' after member "${key}"`);
        return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('trailing comma before ]');
          continue;
        }
        expect(']', "or ',' in an array");
        return;
      }
    }
    if (c === '"') return void string();
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) return void (i += lit.length);
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m && m[0].length > 0) return void (i += m[0].length);
    fail(`expected a value, found ${what()}`);
  };

  value('');
  ws();
  if (i < text.length) fail(`unexpected ${what()} after the end of the document`);
  const parsed: unknown = JSON.parse(text);
  return {
    value: parsed,
    lineOf(path: string): number | undefined {
      // The nearest enclosing value that exists (a missing field points at its parent object).
      for (let p = path; ; p = parentPath(p)) {
        const line = lines.get(p);
        if (line !== undefined || p === '') return line;
      }
    },
  };
}

/** `apps[0].target` → `apps[0]` → `apps` → `` (the document). */
function parentPath(path: string): string {
  const m = /(?:\.[^.[\]]*|\[\d+\])$/.exec(path);
  return m ? path.slice(0, m.index) : '';
}
