// Waiting on a child process's output lines, with a cursor: `next(re)` finds the first matching stdout
// line after the last one taken, so a line printed before the wait began is not missed and an old line
// is not taken again; `nextErr(re)` does the same for stderr (log lines). Every wait has a deadline (a
// hang guard, never a timing assertion).
import type { ChildProcess } from 'node:child_process';

export class Lines {
  readonly all: string[] = [];
  readonly errLines: string[] = [];
  private cursor = 0;
  private errCursor = 0;
  private partial = '';
  private errPartial = '';
  private stderrTail = '';
  private exited: number | string | null = null;
  private readonly waiters = new Set<() => void>();

  /** `map` turns each stdout line into the lines kept (e.g. a GUI's probe lines into readable ones). */
  constructor(
    readonly child: ChildProcess,
    private readonly map: (line: string) => string[] = (l) => [l],
  ) {
    child.stdout?.on('data', (d: Buffer) => {
      const parts = (this.partial + d.toString()).split('\n');
      this.partial = parts.pop() ?? '';
      this.all.push(...parts.flatMap((l) => this.map(l)));
      this.wake();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-6000);
      const parts = (this.errPartial + d.toString()).split('\n');
      this.errPartial = parts.pop() ?? '';
      this.errLines.push(...parts);
      if (this.errLines.length > 20_000) {
        const drop = this.errLines.length - 10_000;
        this.errLines.splice(0, drop);
        this.errCursor = Math.max(0, this.errCursor - drop);
      }
      this.wake();
    });
    child.on('exit', (code, signal) => {
      this.exited = code ?? signal ?? 'unknown';
      this.wake();
    });
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Lines from now on only. */
  skipAll(): void {
    this.cursor = this.all.length;
    this.errCursor = this.errLines.length;
  }

  /** The next stdout line matching `re`. */
  next(re: RegExp, ms = 30_000): Promise<RegExpExecArray> {
    return this.wait(re, ms, false);
  }

  /** The next stderr line matching `re`. */
  nextErr(re: RegExp, ms = 30_000): Promise<RegExpExecArray> {
    return this.wait(re, ms, true);
  }

  private wait(re: RegExp, ms: number, err: boolean): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const lines = err ? this.errLines : this.all;
        for (let i = err ? this.errCursor : this.cursor; i < lines.length; i++) {
          const m = re.exec(lines[i]);
          if (m) {
            if (err) this.errCursor = i + 1;
            else this.cursor = i + 1;
            done();
            resolve(m);
            return true;
          }
        }
        if (this.exited !== null) {
          done();
          reject(
            new Error(
              `exited (${this.exited}) before a line matching ${re}; stdout: ${this.all.slice(-10).join(' | ')}; stderr: ${this.stderrTail}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no line matching ${re} within ${ms} ms; stdout: ${this.all.slice(-10).join(' | ')}; stderr: ${this.stderrTail}`,
          ),
        );
      }, ms);
      const waiter = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
