// Config errors, each pointing at a file, a line and a field, all collected into one ConfigError so the
// user fixes every problem in one pass.

export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem is about the file as a whole (e.g. it cannot be read). */
  line: number;
  /** 1-based, only for TOML syntax errors. */
  column?: number;
  /** Field path as written in the file, e.g. `app[2].ports[1]` (indexes are 0-based); '' for syntax. */
  field: string;
  message: string;
}

/** `file:line: field: message` (`file:line:column: message` for syntax errors). */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}${p.column ? `:${p.column}` : ''}` : p.file;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `['app', 2, 'ports', 1]` → `app[2].ports[1]`. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const s = String(part);
      const name = /^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s);
      out += out ? `.${name}` : name;
    }
  }
  return out;
}
