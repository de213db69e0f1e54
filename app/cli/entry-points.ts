// Starting our other programs (the agent, the daemon) from the command: the same node, with tsx's
// loader by absolute URL so it works from any directory. The child owns the terminal; signals are
// passed on, and its exit code becomes ours.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Node arguments that let node run our TypeScript entry points. */
export function tsxNodeArgs(): string[] {
  return ['--import', pathToFileURL(require.resolve('tsx')).href];
}

export function entryPoint(root: string, which: 'agent' | 'daemon'): string {
  return join(root, which === 'agent' ? 'app/main.ts' : 'systemext/main.ts');
}

export function runEntryPoint(script: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...tsxNodeArgs(), script, ...args], { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      for (const [s, h] of handlers) process.removeListener(s, h);
      resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
    });
  });
}
