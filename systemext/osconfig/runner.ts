// The ONE place where planned steps touch the OS: runs commands, writes and removes files, logs each
// step and collects failures with the command line and its stderr.
import { execFile } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import type { OsLog, Step, StepFailure } from './types';

const COMMAND_TIMEOUT_MS = 15_000;

export interface RunOptions {
  log: OsLog;
  /** Stop at the first failure of a step without `mayFail` (bring-up); otherwise run them all (clean-up). */
  stopOnError: boolean;
}

/** Runs steps in order; resolves with the failures (never rejects). */
export async function runSteps(steps: Step[], opts: RunOptions): Promise<StepFailure[]> {
  const failures: StepFailure[] = [];
  for (const step of steps) {
    try {
      await runStep(step);
      opts.log('info', `osconfig: ${describeStep(step)}`);
    } catch (err) {
      const message = (err as Error).message;
      if (step.kind === 'run' && step.mayFail) {
        opts.log('info', `osconfig: ${describeStep(step)} (skipped: ${firstLine(message)})`);
        continue;
      }
      failures.push({ step, message });
      opts.log('error', `osconfig: FAILED ${describeStep(step)}: ${message}`);
      if (opts.stopOnError) break;
    }
  }
  return failures;
}

export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'run':
      return `${step.why}: ${step.argv.join(' ')}`;
    case 'write':
      return `${step.why}: write ${step.path}`;
    case 'remove':
      return `${step.why}: remove ${step.path}`;
  }
}

function runStep(step: Step): Promise<void> {
  switch (step.kind) {
    case 'run':
      return runCommand(step.argv);
    case 'write':
      // Flag 'w' truncates the existing inode instead of replacing it: a bind-mounted resolv.conf stays mounted.
      writeFileSync(step.path, step.content, { flag: 'w', mode: step.mode ?? 0o644 });
      if (step.mode !== undefined) chmodSync(step.path, step.mode);
      return Promise.resolve();
    case 'remove':
      rmSync(step.path, { force: true });
      return Promise.resolve();
  }
}

function runCommand(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: COMMAND_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const why = String(stderr).trim() || err.message;
      reject(new Error(`${argv.join(' ')} → ${why}`));
    });
  });
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
