// Decides whether a test that needs root and network namespaces can run here.
// On a laptop without them the test skips with a reason; under CI=true it must run, so a
// missing privilege there is a failure, never a silent skip.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let cached: string | null | undefined;

/** Why root-and-netns tests cannot run here, or null when they can. */
export function whyNoNetns(): string | null {
  if (cached !== undefined) return cached;
  cached = probe();
  return cached;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `network namespaces are Linux-only (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  const name = `kvn-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'delete', name], { stdio: 'pipe' });
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message.split('\n')[0]}`;
  }
  return null;
}

/**
 * Call at the top of a root/netns suite's `before` (with `function () {}` so `this` is mocha's).
 * Skips with a printed reason, or throws under CI=true.
 */
export function requireNetns(ctx: Mocha.Context, what: string): void {
  requireOrSkip(ctx, what, whyNoNetns());
}

/**
 * The one rule for every conditional test: `why` null → run; otherwise skip with the reason printed,
 * except under CI=true, where the test must run and a missing prerequisite is a failure.
 */
export function requireOrSkip(ctx: Mocha.Context, what: string, why: string | null): void {
  if (why === null) return;
  if (process.env.CI === 'true') throw new Error(`${what}: must run under CI=true, but ${why}`);
  console.log(`      skipped ${what}: ${why}`);
  ctx.skip();
}
