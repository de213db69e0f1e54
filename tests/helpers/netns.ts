// Network namespaces that tests create and always delete, with processes started inside them.
// Names are unique per test process; leftovers of a crashed run (dead owner pid) are swept.
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const PREFIX = 'kvn';
const live = new Set<NetNs>();
let counter = 0;

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class NetNs {
  private readonly children = new Set<ChildProcess>();
  private deleted = false;

  private constructor(readonly name: string) {}

  /** Creates `kvn-<role>-<pid>-<n>` with loopback up. `role` is a short word (max 8 chars). */
  static async create(role: string): Promise<NetNs> {
    sweepLeftovers();
    const name = `${PREFIX}-${role.slice(0, 8)}-${process.pid}-${counter++}`;
    await execFileP('ip', ['netns', 'add', name]);
    const ns = new NetNs(name);
    live.add(ns);
    await ns.run('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside the namespace; rejects with its stderr on a non-zero exit. */
  async run(
    cmd: string,
    args: string[],
    opts: { timeoutMs?: number; input?: string } = {},
  ): Promise<RunResult> {
    const p = execFileP('ip', ['netns', 'exec', this.name, cmd, ...args], {
      timeout: opts.timeoutMs ?? 30_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (opts.input !== undefined) {
      p.child.stdin?.end(opts.input);
    }
    const { stdout, stderr } = await p;
    return { stdout: String(stdout), stderr: String(stderr) };
  }

  /** Starts a long-running process inside the namespace; it is killed by delete(). */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Starts a TypeScript file of ours with Node (+tsx) inside the namespace. */
  spawnNode(script: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.spawn(process.execPath, ['--import', 'tsx', script, ...args], opts);
  }

  /** Kills what we started in it and deletes the namespace (idempotent, never throws). */
  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    live.delete(this);
    await Promise.all([...this.children].map((c) => killAndWait(c)));
    try {
      // Kill anything else still inside (e.g. grandchildren), then delete.
      execFileSync('ip', ['netns', 'pids', this.name], { stdio: 'pipe' })
        .toString()
        .split(/\s+/)
        .filter(Boolean)
        .forEach((pid) => {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* already gone */
          }
        });
    } catch {
      /* namespace may already be gone */
    }
    try {
      execFileSync('ip', ['netns', 'delete', this.name], { stdio: 'pipe' });
    } catch {
      /* already gone */
    }
  }
}

/** Connects two namespaces with a veth pair and addresses, e.g. ('10.99.0.1/24', '10.99.0.2/24'). */
export async function linkVeth(a: NetNs, addrA: string, b: NetNs, addrB: string): Promise<void> {
  const id = `${process.pid % 10000}${counter++}`;
  const ea = `kva${id}`;
  const eb = `kvb${id}`;
  await execFileP('ip', [
    'link',
    'add',
    ea,
    'netns',
    a.name,
    'type',
    'veth',
    'peer',
    'name',
    eb,
    'netns',
    b.name,
  ]);
  await a.run('ip', ['addr', 'add', addrA, 'dev', ea]);
  await b.run('ip', ['addr', 'add', addrB, 'dev', eb]);
  await a.run('ip', ['link', 'set', ea, 'up']);
  await b.run('ip', ['link', 'set', eb, 'up']);
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Deletes namespaces left by test processes that no longer exist. */
function sweepLeftovers(): void {
  let names: string[];
  try {
    names = execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' })
      .toString()
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n.startsWith(`${PREFIX}-`));
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split('-')[2]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    try {
      execFileSync('ip', ['netns', 'delete', n], { stdio: 'pipe' });
    } catch {
      /* ignore */
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Last resort: if the test process exits with namespaces still alive, delete them synchronously.
process.on('exit', () => {
  for (const ns of live) {
    try {
      execFileSync('ip', ['netns', 'delete', ns.name], { stdio: 'pipe' });
    } catch {
      /* ignore */
    }
  }
});
